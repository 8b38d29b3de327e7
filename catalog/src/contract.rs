//! The payload contract between the state machine and the Lambdas. The compiler builds [`Request`]s in
//! ASL `Parameters`; the Lambdas deserialize them and answer with a [`Response`], which the state machine
//! reads from `$.Payload`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Bumped on any change that an older Lambda or state machine would misread.
pub const VERSION: u32 = 3;

/// The serde names of the fields of [`Request`], [`Execution`] and [`Response`], for the compiler's payload
/// templates and selectors. `every_field_name_is_a_serde_name` keeps them equal to the types.
pub mod field {
    pub const VERSION: &str = "version";
    pub const ACTION: &str = "action";
    pub const OPERATION: &str = "operation";
    pub const EXECUTION: &str = "execution";
    pub const PARAMS: &str = "params";
    /// In a `poll` request and in every response.
    pub const STATE: &str = "state";
    pub const TASK_TOKEN: &str = "task_token";
    /// In a `poll` request, and answered back.
    pub const POLL: &str = "poll";

    pub const EXECUTION_ID: &str = "id";
    pub const EXECUTION_NAME: &str = "name";
    pub const STATE_MACHINE: &str = "state_machine";
    pub const STEP: &str = "step";

    pub const STATUS: &str = "status";
    pub const OUTPUT: &str = "output";
    pub const PROGRESS: &str = "progress";
    pub const ERROR: &str = "error";
    pub const CAUSE: &str = "cause";
    /// With `done`: [`crate::changed::line`].
    pub const CHANGED: &str = "changed";
}

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
    /// The number of this `poll` in its loop (1 for the first), which the response carries back: the state
    /// machine keeps its poll count from the answer instead of counting in a state of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Begin the work (or find that an earlier attempt already began it).
    Start,
    /// Look at work that `start` began.
    Poll,
    /// Before any run (`stepback preflight`): look, with the function's own role and changing nothing, whether
    /// what the step will touch exists and is in the state the step needs. A param that is not known before
    /// the run (an input given no value, an earlier step's output) is sent as `null`. The answer is `done`
    /// with a [`CheckReport`] as its output.
    Check,
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
    /// The request's `poll`, answered back unchanged.
    #[serde(default)]
    pub poll: Option<u64>,
    /// With `done` (not a check's): what the step changed, one line ([`crate::changed::line`]), which the
    /// failure path lists as `${failure.completed}`.
    #[serde(default)]
    pub changed: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Running,
    Failed,
}

/// The longest comment `stepback approve` and `stepback reject` send, as [`crate::input_length`] counts it: the
/// answer is kept in the state data when a later step reads it, and a rejection's reason becomes the failure's
/// cause, both counted at this bound.
pub const APPROVAL_COMMENT_BYTES: usize = 1024;

/// What `stepback approve` sends with SendTaskSuccess; the state machine stores it as the `approval` step's
/// outputs. `stepback reject` sends SendTaskFailure with [`crate::ErrorName::Rejected`] instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalAnswer {
    pub approved_by: String,
    pub comment: String,
}

/// What a `check` found about each resource the step will touch: the output of a `check` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
}

/// One resource a step will touch, and whether it is ready for the step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// What and which, e.g. "RDS instance `webapp-db`".
    pub resource: String,
    pub verdict: Verdict,
    /// What was seen, e.g. "stopped, not available".
    pub detail: String,
    /// What to do about it; empty when the verdict is `ok`.
    pub fix: String,
    /// With `unknowable`: the param whose value is not known before the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// It does not exist (or not where the function looks: another region or account).
    Missing,
    /// It exists, in a state the step cannot work with (a stopped instance, a target group without targets).
    NotReady,
    /// The function's role may not look at it.
    Denied,
    /// A param it depends on is known only at run time.
    Unknowable,
    /// AWS gave no usable answer (throttling, an outage, an unexpected error).
    Error,
}

impl Verdict {
    /// Whether a step with this finding can run, as far as a check can tell: nothing missing, not ready, denied
    /// or failed. What is not yet knowable does not stop it. `stepback preflight` and the readiness run both
    /// judge by it.
    pub const fn lets_run(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::Unknowable)
    }

    /// How `stepback preflight` shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Missing => "missing",
            Verdict::NotReady => "not ready",
            Verdict::Denied => "denied",
            Verdict::Unknowable => "not yet knowable",
            Verdict::Error => "error",
        }
    }
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
            poll: None,
            changed: None,
        };
        let json = serde_json::to_value(&response).unwrap_or_default();
        for field in [
            field::STATUS,
            field::OUTPUT,
            field::STATE,
            field::ERROR,
            field::CAUSE,
            field::POLL,
            field::CHANGED,
        ] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
    }

    /// The keys of `value` serialised, sorted.
    fn keys(value: &impl Serialize) -> Vec<String> {
        let json = serde_json::to_value(value).expect("serialises");
        let mut keys: Vec<String> = json
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        names.sort();
        names
    }

    /// The answer's fields are exactly the outputs the catalog declares for `approval`.
    #[test]
    fn approval_answer_is_the_approval_outputs() {
        let answer = ApprovalAnswer {
            approved_by: "alice".into(),
            comment: "ok".into(),
        };
        let approval = crate::action("approval").expect("the catalog has `approval`");
        let outputs: Vec<&str> = approval.outputs.iter().map(|o| o.name).collect();
        assert!(!outputs.is_empty(), "`approval` declares no outputs");
        assert_eq!(keys(&answer), sorted(&outputs));
    }

    /// The request's Options are set, since it skips them when unset; a response serialises every field.
    #[test]
    fn every_field_name_is_a_serde_name() {
        let execution = Execution {
            id: "arn".into(),
            name: "run".into(),
            state_machine: "machine".into(),
            step: "s".into(),
        };
        let request = Request {
            version: VERSION,
            action: "notify".into(),
            operation: Operation::Poll,
            execution: execution.clone(),
            params: Map::new(),
            state: Some(Value::Null),
            task_token: Some("token".into()),
            poll: Some(1),
        };
        let response = Response {
            version: VERSION,
            status: Status::Done,
            output: Map::new(),
            state: None,
            progress: None,
            error: None,
            cause: None,
            poll: None,
            changed: None,
        };
        use field::{
            ACTION, CAUSE, CHANGED, ERROR, EXECUTION, EXECUTION_ID, EXECUTION_NAME, OPERATION,
            OUTPUT, PARAMS, POLL, PROGRESS, STATE, STATE_MACHINE, STATUS, STEP, TASK_TOKEN,
        };
        assert_eq!(
            keys(&request),
            sorted(&[
                field::VERSION,
                ACTION,
                OPERATION,
                EXECUTION,
                PARAMS,
                STATE,
                TASK_TOKEN,
                POLL
            ])
        );
        assert_eq!(
            keys(&execution),
            sorted(&[EXECUTION_ID, EXECUTION_NAME, STATE_MACHINE, STEP])
        );
        assert_eq!(
            keys(&response),
            sorted(&[
                field::VERSION,
                STATUS,
                OUTPUT,
                STATE,
                PROGRESS,
                ERROR,
                CAUSE,
                POLL,
                CHANGED
            ])
        );
    }
}
