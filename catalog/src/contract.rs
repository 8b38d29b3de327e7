//! The payload contract between the state machine and the Lambdas. The compiler builds [`Request`]s in
//! ASL `Parameters`; the Lambdas deserialize them and answer with a [`Response`], which the state machine
//! reads from `$.Payload`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Bumped on any change that an older Lambda or state machine would misread.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub version: u32,
    /// The catalog name, e.g. `rds.snapshot`.
    pub action: String,
    pub operation: Operation,
    pub execution: Execution,
    /// The step's params after references are resolved; each action checks them against its own type.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// What the previous `start` or `poll` returned as `state`; absent on `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
    /// `$$.Task.Token`, for `approval`. Never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Begin the work (or find that an earlier attempt already began it).
    Start,
    /// Look at work that `start` began.
    Poll,
}

/// Who and what is running, from the execution context (`$$`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Execution {
    /// `$$.Execution.Id`, the execution ARN.
    pub id: String,
    /// `$$.Execution.Name`.
    pub name: String,
    /// `$$.StateMachine.Id`.
    pub state_machine: String,
    /// The workflow step id.
    pub step: String,
}

/// Every field is always serialised (`null` when unset): the state machine selects `state`, `error` and `cause`
/// with `ResultSelector`, and selecting an absent field is a `States.Runtime` error.
///
/// A Lambda reports a failure of `start` (and of `Invoke` actions) by raising its [`crate::ErrorName`] as
/// `errorType`, so that `Retry` and `Catch` match it; `status: failed` is for a `poll` that finds the operation
/// has failed (a `start` may also answer it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub version: u32,
    pub status: Status,
    /// The action's outputs, exactly those the catalog declares, once `status` is `done`.
    #[serde(default)]
    pub output: Map<String, Value>,
    /// Passed back on the next `poll`.
    #[serde(default)]
    pub state: Option<Value>,
    /// A line for the console, e.g. `2 of 3 targets drained`.
    #[serde(default)]
    pub progress: Option<String>,
    /// With `failed`: an [`crate::ErrorName`] string and what happened.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Running,
    Failed,
}

/// What `stepback approve` sends with SendTaskSuccess; the state machine stores it as the `approval` step's
/// outputs. `stepback reject` sends SendTaskFailure with [`crate::ErrorName::Rejected`] instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalAnswer {
    pub approved_by: String,
    pub comment: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_always_carry_the_fields_the_state_machine_selects() {
        let response = Response {
            version: VERSION,
            status: Status::Running,
            output: Map::new(),
            state: None,
            progress: None,
            error: None,
            cause: None,
        };
        let json = serde_json::to_value(&response).unwrap_or_default();
        for field in ["status", "output", "state", "error", "cause"] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
    }

    /// The answer's fields are exactly the outputs the catalog declares for `approval`.
    #[test]
    fn approval_answer_is_the_approval_outputs() {
        let answer = ApprovalAnswer {
            approved_by: "alice".into(),
            comment: "ok".into(),
        };
        let json = serde_json::to_value(&answer).unwrap_or_default();
        let fields: Vec<&str> = json
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let outputs: Vec<&str> = crate::action("approval")
            .map(|a| a.outputs.iter().map(|o| o.name).collect())
            .unwrap_or_default();
        assert_eq!(fields, outputs);
    }
}
