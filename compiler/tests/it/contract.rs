//! The payloads the state machine sends are the Lambdas' contract: every Lambda Task the compiler emits for the
//! examples, with sample values in place of its `.$` paths, deserialises into `catalog::contract::Request` of an
//! action in the catalog, with params the catalog declares.

use catalog::contract::{Operation, Request};
use serde_json::{Map, Value, json};

/// A value for each path or intrinsic the payloads use, as the state machine would fill it at run time.
fn sample(path: &str, input: &Value) -> Value {
    match path {
        "$$.Task.Token" => json!("AQCEAAAAKgAAAAMAAAAAAAAAAQ=="),
        "$$.Execution.Id" => json!("arn:aws:states:us-east-1:123456789012:execution:machine:run"),
        "$$.Execution.Name" => json!("run"),
        "$$.StateMachine.Id" => json!("arn:aws:states:us-east-1:123456789012:stateMachine:machine"),
        // What the previous `start` or `poll` answered as `state`.
        path if path.ends_with(".last.state") => json!({ "opaque": true }),
        // The next poll's number: one more than the last.
        path if path.starts_with("States.MathAdd(") => json!(2),
        path => match path.strip_prefix("$.input.") {
            Some(name) => input.get(name).cloned().unwrap_or(Value::Null),
            // Step outputs and `States.Format(...)`: a string is what each of them gives here.
            None => json!("sample"),
        },
    }
}

/// The payload template with every `key.$` replaced by `key: sample`.
fn fill(template: &Value, input: &Value) -> Value {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                match (key.strip_suffix(".$"), value.as_str()) {
                    (Some(key), Some(path)) => out.insert(key.to_owned(), sample(path, input)),
                    _ => out.insert(key.clone(), fill(value, input)),
                };
            }
            Value::Object(out)
        }
        Value::Array(items) => items.iter().map(|item| fill(item, input)).collect(),
        other => other.clone(),
    }
}

/// Every Lambda invoke's `Parameters.Payload`, through `Parallel` branches.
fn payloads(states: &Map<String, Value>, out: &mut Vec<Value>) {
    for state in states.values() {
        if let Some(payload) = state.pointer("/Parameters/Payload") {
            out.push(payload.clone());
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            if let Some(states) = branch["States"].as_object() {
                payloads(states, out);
            }
        }
    }
}

#[test]
fn every_task_payload_is_a_contract_request() {
    let mut checked = 0;
    insta::glob!("../../../examples", "*.toml", |path: &Path| {
        let source = std::fs::read_to_string(path).expect("example readable");
        let compiled = crate::compile(&source, path);
        let workflow = workflow::check(&source).workflow.expect("valid");
        let input = compiler::example_input(&workflow);
        let definition: Value = serde_json::from_str(&compiled.json).expect("JSON");
        let mut found = Vec::new();
        payloads(
            definition["States"].as_object().expect("States"),
            &mut found,
        );
        assert!(!found.is_empty(), "{}: no Lambda tasks", path.display());
        for template in &found {
            let payload = fill(template, &input);
            let request: Request = serde_json::from_value(payload.clone())
                .unwrap_or_else(|e| panic!("{}: {e}: {payload:#}", path.display()));
            let action = catalog::action(&request.action)
                .unwrap_or_else(|| panic!("unknown action {}", request.action));
            for key in request.params.keys() {
                assert!(
                    action.param(key).is_some(),
                    "{}: `{}` has no param `{key}`",
                    path.display(),
                    action.name
                );
            }
            if request.operation == Operation::Poll {
                assert!(request.state.is_some(), "a poll carries the state back");
            }
            if action.name == "approval" {
                assert!(
                    request.task_token.is_some(),
                    "an approval carries its task token"
                );
            }
            checked += 1;
        }
    });
    assert!(checked > 0, "no payloads checked");
}
