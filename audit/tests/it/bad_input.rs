//! A file that is not a history is a clear error, never a panic.

use audit::AuditError;

fn error(text: &str) -> AuditError {
    match audit::audit_json(text) {
        Ok(_) => panic!("audited: {text:.80}"),
        Err(error) => error,
    }
}

#[test]
fn truncated_json_names_where_it_stops() {
    let text = std::fs::read_to_string(crate::data("fail-deploy.json")).expect("fixture");
    let cut = &text[..text.len() / 2];
    let message = error(cut).to_string();
    assert!(
        message.starts_with("the history is not JSON: EOF while parsing"),
        "{message}"
    );
}

#[test]
fn json_that_is_not_a_history() {
    assert_eq!(
        error(r#"{"executionArn": "arn:aws:states:us-east-1:1:execution:m:e"}"#).to_string(),
        "the file is not an execution history: it has no `events` list (the output of `aws stepfunctions get-execution-history`)"
    );
    assert_eq!(
        error("[1, 2]").to_string(),
        "the file is not an execution history: the file holds no JSON object"
    );
    assert_eq!(
        error(r#"{"events": []}"#).to_string(),
        "the file is not an execution history: its `events` list is empty"
    );
    let message = error(r#"{"events": [{"id": 1}]}"#).to_string();
    assert!(
        message.starts_with("the file is not an execution history: event 1: missing field"),
        "{message}"
    );
}

#[test]
fn a_history_without_its_definition_says_what_to_add() {
    let text = std::fs::read_to_string(crate::data("fail-deploy.json")).expect("fixture");
    let mut bundle: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    bundle.as_object_mut().map(|b| b.remove("definition"));
    assert_eq!(error(&bundle.to_string()), AuditError::NoDefinition);
    bundle["definition"] = serde_json::json!({"StartAt": "a", "States": {}});
    assert_eq!(error(&bundle.to_string()), AuditError::NotStepback);
}

/// Two hundred prefixes, and as many single bytes replaced: an error or a report, never a panic.
#[test]
fn mangled_histories_never_panic() {
    let text = std::fs::read_to_string(crate::data("fail-drain.json")).expect("fixture");
    let bytes = text.as_bytes();
    for at in (0..bytes.len()).step_by(bytes.len() / 200 + 1) {
        let _ = audit::audit_json(&String::from_utf8_lossy(&bytes[..at]));
        let mut mangled = bytes.to_vec();
        mangled[at] = b'}';
        let _ = audit::audit_json(&String::from_utf8_lossy(&mangled));
    }
}
