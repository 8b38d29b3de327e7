//! `[readiness]`: what the template, the readiness function and `stepback readiness` agree on. The stack runs
//! every step's read-only `check` on a schedule (an Express state machine, one branch per step and input case),
//! and the `readiness` function records the verdict: metric `Ready` (1 ready, 0 not) in [`NAMESPACE`], per step
//! and for the whole rollback; the steps that could not run last time, in the lock table's [`ITEM`]; a notice to
//! the topic when they change; and [trigger]'s rule enabled the first time every step can run.

use serde::{Deserialize, Serialize};

use crate::contract::Finding;

/// The catalog name of the function that records a readiness run.
pub const ACTION: &str = "readiness";

/// The `readiness` params that the compiler fills.
pub const WORKFLOW: &str = "workflow";
pub const CHECKS: &str = "checks";
pub const TOPIC: &str = "topic";
pub const RULE: &str = "rule";

/// The metrics: `Ready` with dimension `Workflow` (the whole rollback) or `Workflow` and `Step`.
pub const NAMESPACE: &str = "Stepback/Readiness";
pub const METRIC: &str = "Ready";
pub const WORKFLOW_DIMENSION: &str = "Workflow";
pub const STEP_DIMENSION: &str = "Step";

/// The lock table's item (keyed `LOCK_KEY = ITEM`) that keeps the last run's verdict.
pub const ITEM: &str = "readiness";

/// The two inputs the checks run with: the input an alarm's start gives (the declared defaults, and what
/// `[trigger].input` takes from the alarm, known only then), and the declared defaults alone (a person's start
/// with no input).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    AlarmStart,
    Defaults,
}

impl Case {
    pub const fn describe(self) -> &'static str {
        match self {
            Case::AlarmStart => "as an alarm would start it",
            Case::Defaults => "with the input's defaults",
        }
    }
}

/// What one branch of the readiness machine hands the `readiness` function: a step's check, in one or more
/// cases (a step whose params and `when` do not differ between the cases is checked once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepChecked {
    pub step: String,
    pub cases: Vec<Case>,
    pub findings: Vec<Finding>,
    /// The error output of a check whose invocation failed (`Error` and `Cause`, each possibly missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<serde_json::Value>,
}

impl StepChecked {
    /// Whether the step can run, as far as its check can tell ([`crate::contract::Verdict::lets_run`]).
    pub fn ready(&self) -> bool {
        self.failed.is_none() && self.findings.iter().all(|f| f.verdict.lets_run())
    }
}

/// The trigger's EventBridge rule, which the template names so that the readiness function's role names it: the
/// workflow's name (`[A-Za-z0-9-_]{1,64}`), within EventBridge's rule names (`[\.\-_A-Za-z0-9]+`, at most 64).
pub fn trigger_rule(workflow: &str) -> String {
    workflow.to_owned()
}

/// The readiness machine's and alarm's name: `<workflow>-readiness`, within Step Functions' 80 characters and
/// CloudWatch's 255.
pub fn name(workflow: &str) -> String {
    format!("{workflow}-readiness")
}
