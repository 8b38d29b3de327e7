//! The report as it is serialised: the `--format json` output, each field documented in `docs/audit-json.md`.

use serde::Serialize;
use serde_json::{Map, Value};

/// The version of the JSON schema in `docs/audit-json.md`; bumped on any change that a reader would misread.
pub const SCHEMA: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub workflow: String,
    pub execution: ExecutionSummary,
    pub trigger: Trigger,
    /// Main steps in DAG order, then `[on_failure]` steps in order.
    pub steps: Vec<StepRecord>,
    pub approvals: Vec<Approval>,
    pub failure: Option<Failure>,
    pub redrives: Vec<Redrive>,
    pub critical_path: CriticalPath,
    /// What the saved history lacks, each as a line: a report from it is not the whole story.
    pub gaps: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExecutionSummary {
    pub name: Option<String>,
    pub arn: Option<String>,
    pub state_machine_arn: Option<String>,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_ms: Option<u64>,
    /// Epoch milliseconds, for the renderers.
    #[serde(skip)]
    pub start: i64,
    #[serde(skip)]
    pub end: Option<i64>,
}

/// Who or what started the rollback.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A CloudWatch alarm, through the trigger's EventBridge rule.
    Alarm {
        name: String,
        state: Option<String>,
        reason: Option<String>,
        time: Option<String>,
    },
    /// `StartExecution` from the console or the CLI. The history does not record the caller (CloudTrail does).
    Manual { inputs: Vec<InputValue> },
}

#[derive(Clone, Debug, Serialize)]
pub struct InputValue {
    pub name: String,
    pub value: Value,
    /// The start did not give it: the workflow's default was filled in.
    pub defaulted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// Its `when` was false.
    Skipped,
    Failed,
    /// Failed, and the workflow went on (`continue_on_error`, or an `[on_failure]` step).
    FailedContinued,
    /// Started, and stopped before it ended (a sibling branch failed, or the execution ended).
    Stopped,
    /// Started, and the execution is still running.
    Running,
    NeverReached,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::FailedContinued => "failed, continued",
            Outcome::Stopped => "stopped",
            Outcome::Running => "running",
            Outcome::NeverReached => "never reached",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    pub id: String,
    pub action: String,
    pub on_failure: bool,
    pub outcome: Outcome,
    /// The step's `when`, as written.
    pub when: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub estimate_secs: u64,
    /// Calls that began the work (`start`), retries included.
    pub attempts: u32,
    pub retries: Vec<Retried>,
    /// Times the step looked at its operation after starting it.
    pub polls: u32,
    /// The outputs the step returned (for an approval: who answered and the comment).
    pub outputs: Map<String, Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// It ran on after another step had failed. Step Functions stops the other branches of a failed `Parallel`;
    /// an emulator (moto) may not.
    pub after_failure: bool,
    /// Epoch milliseconds, for the renderers.
    #[serde(skip)]
    pub start: Option<i64>,
    #[serde(skip)]
    pub end: Option<i64>,
    #[serde(skip)]
    pub poll_times: Vec<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Retried {
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Approval {
    pub step: String,
    /// `approved`, `rejected`, `timed_out`, `waiting` or `stopped`.
    pub decision: String,
    /// From the answer `stepback approve` records; a rejection's cause names who rejected.
    pub approved_by: Option<String>,
    pub comment: Option<String>,
    pub cause: Option<String>,
    pub asked_at: Option<String>,
    pub answered_at: Option<String>,
    /// How long the rollback waited for a person.
    pub waited_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// `None` when no step failed: the input, the guard, or the state machine's own plumbing.
    pub step: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub at: Option<String>,
    /// The `[on_failure]` steps that ran, in order, and how they ended.
    pub on_failure: Vec<OnFailureRun>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OnFailureRun {
    pub step: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Serialize)]
pub struct Redrive {
    pub at: String,
    /// `redriveCount` after this redrive.
    pub count: Option<u64>,
    /// The steps that ran again, in DAG order.
    pub rerun: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CriticalPath {
    /// The chain of steps that ended last, each after the dependency that let it start.
    pub steps: Vec<PathStep>,
    pub total_ms: u64,
    /// The step whose duration exceeded its estimate by the most.
    pub over_estimate: Option<OverEstimate>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PathStep {
    pub step: String,
    pub duration_ms: u64,
    /// From the end of the step before it on the path (or the execution's start) to its own start.
    pub waited_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct OverEstimate {
    pub step: String,
    pub duration_ms: u64,
    pub estimate_secs: u64,
}
