/// The error names a stepback Lambda reports as `errorType`, and the only names the compiler's `Retry` and
/// `Catch` match. lambda_runtime would otherwise report the Rust type name, which no `Retry` can match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorName {
    /// Throttling, 5xx, timeouts and dropped connections: worth another attempt.
    Transient,
    /// The resource named in the params does not exist.
    NotFound,
    /// The resource is not in a state the action can start from.
    Precondition,
    /// The operation ran and failed (a task exited non-zero, a deployment rolled back, a check never passed).
    Failed,
    /// A person answered `stepback reject`.
    Rejected,
    /// The payload does not match the contract or the action's params.
    InvalidInput,
    /// Another execution of the same state machine is running.
    AlreadyRunning,
    /// An alarm started this execution within `[trigger].cooldown` of another execution's end.
    CoolingDown,
    /// A polling loop ran past the step's `timeout`.
    Timeout,
}

impl ErrorName {
    pub const ALL: [ErrorName; 9] = [
        ErrorName::Transient,
        ErrorName::NotFound,
        ErrorName::Precondition,
        ErrorName::Failed,
        ErrorName::Rejected,
        ErrorName::InvalidInput,
        ErrorName::AlreadyRunning,
        ErrorName::CoolingDown,
        ErrorName::Timeout,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorName::Transient => "Stepback.Transient",
            ErrorName::NotFound => "Stepback.NotFound",
            ErrorName::Precondition => "Stepback.Precondition",
            ErrorName::Failed => "Stepback.Failed",
            ErrorName::Rejected => "Stepback.Rejected",
            ErrorName::InvalidInput => "Stepback.InvalidInput",
            ErrorName::AlreadyRunning => "Stepback.AlreadyRunning",
            ErrorName::CoolingDown => "Stepback.CoolingDown",
            ErrorName::Timeout => "Stepback.Timeout",
        }
    }

    pub fn from_name(name: &str) -> Option<ErrorName> {
        ErrorName::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// Only transient errors are retried; retrying a permanent one only delays the failure path.
    pub const fn is_retryable(self) -> bool {
        matches!(self, ErrorName::Transient)
    }
}

/// Errors of the Lambda service itself, which the state machine always retries (Step Functions' "Handle Lambda
/// service exceptions": `Lambda.ClientExecutionTimeoutException`, `ServiceException`, `AWSLambdaException`,
/// `SdkClientException`; and the throttle, `TooManyRequestsException`).
pub const LAMBDA_SERVICE_ERRORS: [&str; 5] = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

/// What a function that ran out of time (or memory) raises: Step Functions reports an unhandled function error,
/// a timeout or an out-of-memory one, as `Lambda.Unknown` (same page), and the runtime's own name for a timeout
/// is `Sandbox.Timedout`. Retried like the service errors, since every `start` and `poll` is idempotent; past
/// the retries the failure path reports it under this name.
pub const LAMBDA_FUNCTION_TIMEOUTS: [&str; 2] = ["Sandbox.Timedout", "Lambda.Unknown"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ErrorName::ALL {
            assert_eq!(ErrorName::from_name(name.as_str()), Some(name));
        }
        assert_eq!(ErrorName::from_name("States.ALL"), None);
    }
}
