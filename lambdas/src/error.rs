//! Every failure leaves a Lambda as one of the catalog's [`ErrorName`]s, the names the compiler's `Retry`
//! and `Catch` match. lambda_runtime would otherwise report a Rust type name as `errorType`.

use std::error::Error;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use catalog::ErrorName;
use lambda_runtime::Diagnostic;

/// A failure with its table name. The message says what was attempted, on which resource, and what came
/// back; it never contains the task token.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", .name.as_str(), .message)]
pub struct ActionError {
    pub name: ErrorName,
    pub message: String,
}

impl ActionError {
    /// The message is cut to the catalog's bound, saying so: the state machine keeps it as a failure's cause,
    /// escaped twice (in the runtime's `{"errorType", "errorMessage"}` JSON, and that JSON as a string), and
    /// the bound counts it so.
    pub fn new(name: ErrorName, message: impl Into<String>) -> ActionError {
        ActionError {
            name,
            message: cut_to(message.into(), catalog::ERROR_MESSAGE_BYTES, escaped_twice),
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> ActionError {
        ActionError::new(ErrorName::InvalidInput, message)
    }

    /// An AWS call failed: `attempted` names the call and the resource, e.g.
    /// "create snapshot `x` of RDS instance `db`".
    pub fn aws<E>(attempted: impl std::fmt::Display, err: SdkError<E, HttpResponse>) -> ActionError
    where
        E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    {
        let (name, answer) = match &err {
            SdkError::ServiceError(context) => {
                let code = context.err().code().unwrap_or("an unnamed error");
                let status = context.raw().status().as_u16();
                let message = context
                    .err()
                    .message()
                    .map_or("no message".to_owned(), one_line);
                (
                    classify(code, status),
                    format!("{code} (HTTP {status}): {message}"),
                )
            }
            // The request never got an answer: the network, a timeout or a garbled response.
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => (ErrorName::Transient, causes(&err)),
            _ => (ErrorName::Failed, causes(&err)),
        };
        ActionError::new(name, format!("{attempted}: AWS answered {answer}"))
    }
}

impl From<ActionError> for Diagnostic {
    fn from(error: ActionError) -> Diagnostic {
        Diagnostic {
            error_type: error.name.as_str().to_owned(),
            error_message: error.message,
        }
    }
}

/// The most a part of an AWS error's text keeps: a cause names what happened in a sentence, and an answer's
/// body (moto's 500 page, a proxy's HTML) is no cause.
const PART_BYTES: usize = 300;

/// An error and its sources, as one line: each one's `Display` (not the SDK's `Debug` dump of the request and
/// the response, about 2 KB, which `DisplayErrorContext` appends), a repeated one left out.
pub(crate) fn causes(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let part = one_line(&e.to_string());
        if !part.is_empty() && !parts.iter().any(|p| p.contains(&part)) {
            parts.push(part);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// `text` on one line, its whitespace runs one space each, cut to [`PART_BYTES`].
fn one_line(text: &str) -> String {
    cut(
        text.split_whitespace().collect::<Vec<_>>().join(" "),
        PART_BYTES,
    )
}

/// `text` in at most `limit` bytes: when longer, cut at a character boundary, saying how much was left out.
pub fn cut(text: String, limit: usize) -> String {
    cut_to(text, limit, char::len_utf8)
}

/// `text` in at most `limit` bytes as `weight` counts each character's (the note of the cut is plain ASCII).
fn cut_to(mut text: String, limit: usize, weight: fn(char) -> usize) -> String {
    let room = limit.saturating_sub(32);
    let mut held = 0;
    let end = text.char_indices().find_map(|(at, c)| {
        held += weight(c);
        (held > room).then_some(at)
    });
    if let Some(end) = end.filter(|_| text.chars().map(weight).sum::<usize>() > limit) {
        let left_out = text.len() - end;
        text.truncate(end);
        text.push_str(&format!("… (cut: {left_out} more bytes)"));
    }
    text
}

/// Sorts an AWS error code into the table. Throttling codes come from the SDK's own retry classifier, so
/// they match what the SDK already retried before giving up.
pub fn classify(code: &str, http_status: u16) -> ErrorName {
    if THROTTLING_ERRORS.contains(&code) || TRANSIENT_ERRORS.contains(&code) || http_status >= 500 {
        ErrorName::Transient
    } else if code.contains("NotFound") || code.contains("DoesNotExist") {
        // DBInstanceNotFound, ClusterNotFoundException, InvalidInstanceID.NotFound, StateMachineDoesNotExist…
        ErrorName::NotFound
    } else if code.contains("State") || code.contains("NotActive") || code == "InvalidInstanceId" {
        // InvalidDBInstanceState, IncorrectState, ServiceNotActiveException; SSM's InvalidInstanceId means
        // the instance is not managed by SSM.
        ErrorName::Precondition
    } else if code.contains("Validation")
        || code.starts_with("InvalidParameter")
        || code == "MissingParameter"
    {
        ErrorName::InvalidInput
    } else {
        ErrorName::Failed
    }
}

/// The bytes `c` takes once escaped as JSON, and that JSON escaped again as a JSON string.
fn escaped_twice(c: char) -> usize {
    match c {
        '"' | '\\' => 4,
        '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 3,
        // `\u0001`, its backslash escaped.
        c if u32::from(c) < 0x20 => 7,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::operation::run_task::RunTaskError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    /// What a person reads (a step's cause, the failure notice, the rehearsal's lines) is one line that says
    /// what happened, whatever came back: never the SDK's `Debug` of the request and response.
    #[test]
    fn an_aws_error_is_one_readable_line() {
        let page = format!(
            "<!doctype html>\n<html><title>500 Internal Server Error</title>{}</html>",
            "<p>Traceback (most recent call last):</p>\n".repeat(60)
        );
        let response = || {
            let mut raw = HttpResponse::new(
                StatusCode::try_from(500).expect("a status"),
                SdkBody::from(page.clone()),
            );
            raw.headers_mut()
                .insert("x-amzn-requestid", "0f4c1b2a-request");
            raw
        };
        let garbled: Box<dyn Error + Send + Sync> = "expected `{` at line 1 column 1".into();
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let unnamed = RunTaskError::generic(ErrorMetadata::builder().message(&page).build());
        let cases: Vec<(SdkError<RunTaskError, HttpResponse>, &str)> = vec![
            (
                SdkError::service_error(unnamed, response()),
                "run task: AWS answered an unnamed error (HTTP 500): <!doctype html> <html><title>500 Internal Server Error",
            ),
            (
                SdkError::response_error(garbled, response()),
                "run task: AWS answered response error: expected `{` at line 1 column 1",
            ),
            (
                SdkError::dispatch_failure(ConnectorError::io(Box::new(refused))),
                "run task: AWS answered dispatch failure: io error: Connection refused",
            ),
        ];
        for (error, starts) in cases {
            let message = ActionError::aws("run task", error).message;
            assert!(message.starts_with(starts), "{message}");
            assert!(!message.contains('\n'), "{message}");
            assert!(
                message.len() <= 2 * PART_BYTES,
                "{} bytes: {message}",
                message.len()
            );
            for debug in [
                "HttpResponse",
                "SdkBody",
                "x-amzn-requestid",
                "ConnectorError",
            ] {
                assert!(!message.contains(debug), "{debug} in {message}");
            }
        }
    }

    /// What the state machine keeps of a message: it must fit the catalog's bound, whatever it holds.
    #[test]
    fn a_message_is_cut_to_fit_the_bound_escaped_twice() {
        for unit in ["a", "\"", "\\", "\n", "\u{1}", "é", "😀"] {
            let error = ActionError::new(ErrorName::Failed, unit.repeat(10_000));
            let lambda_error = serde_json::json!({ "errorType": "Stepback.Failed", "errorMessage": error.message });
            let cause = serde_json::to_string(&lambda_error.to_string()).unwrap_or_default();
            assert!(
                cause.len() <= catalog::ERROR_MESSAGE_BYTES + 64,
                "{unit:?}: {} bytes",
                cause.len()
            );
            assert!(error.message.ends_with("more bytes)"), "{unit:?}");
            let short = ActionError::new(ErrorName::Failed, unit.repeat(10));
            assert_eq!(
                short.message,
                unit.repeat(10),
                "a short message is kept whole"
            );
        }
    }

    #[test]
    fn aws_error_codes_sort_into_the_table() {
        let cases = [
            ("ThrottlingException", 400, ErrorName::Transient),
            ("RequestLimitExceeded", 503, ErrorName::Transient),
            ("InternalFailure", 500, ErrorName::Transient),
            ("DBInstanceNotFound", 404, ErrorName::NotFound),
            ("InvalidInstanceID.NotFound", 400, ErrorName::NotFound),
            ("StateMachineDoesNotExist", 400, ErrorName::NotFound),
            ("InvalidDBInstanceState", 400, ErrorName::Precondition),
            ("ServiceNotActiveException", 400, ErrorName::Precondition),
            ("ValidationError", 400, ErrorName::InvalidInput),
            ("InvalidParameterValue", 400, ErrorName::InvalidInput),
            ("AccessDenied", 403, ErrorName::Failed),
        ];
        for (code, status, name) in cases {
            assert_eq!(classify(code, status), name, "{code}");
        }
    }
}
