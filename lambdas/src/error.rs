//! Every failure leaves a Lambda as one of the catalog's [`ErrorName`]s, the names the compiler's `Retry`
//! and `Catch` match. lambda_runtime would otherwise report a Rust type name as `errorType`.

use std::error::Error;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
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
    /// The message is cut to the catalog's bound, saying so: the state machine keeps it as a failure's cause.
    pub fn new(name: ErrorName, message: impl Into<String>) -> ActionError {
        let mut message = message.into();
        let limit = catalog::ERROR_MESSAGE_BYTES;
        if message.len() > limit {
            let mut end = limit - 64;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            let cut = message.len() - end;
            message.truncate(end);
            message.push_str(&format!("… (cut: {cut} more bytes)"));
        }
        ActionError { name, message }
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
                let message = context.err().message().unwrap_or("no message");
                (
                    classify(code, status),
                    format!("{code} (HTTP {status}): {message}"),
                )
            }
            // The request never got an answer: the network, a timeout or a garbled response.
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => {
                (ErrorName::Transient, DisplayErrorContext(&err).to_string())
            }
            _ => (ErrorName::Failed, DisplayErrorContext(&err).to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
