//! `stepback audit`'s logic: an execution history in, the rollback's record out.
//!
//! [`History`] parses what `GetExecutionHistory` (and `DescribeExecution`, and the definition) returned;
//! [`audit`] maps its states back to the workflow's steps through the manifest the compiler wrote into the
//! definition ([`catalog::manifest`]), and builds a [`Report`]; [`render`] turns it into text, Markdown,
//! self-contained HTML or JSON. [`steps`] is the one reading of events as steps: the report's, and the step
//! events that `start --follow` and `rehearse` show while an execution runs. This crate does no IO, never links the AWS SDK, and prints nothing.

pub mod history;
pub mod render;
pub mod report;
pub mod steps;

pub use history::{Bundle, History};
pub use report::{Outcome, Report};
pub use steps::{StepEvent, step_events};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("the history is not JSON: {message}")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the file is not an execution history: {0}")]
    NotHistory(String),
    #[error(
        "the history does not say which workflow ran: it has no state machine definition (fetch the audit by execution ARN, or save one with --save-history)"
    )]
    NoDefinition,
    #[error(
        "the state machine was not compiled by stepback: its definition has no stepback manifest"
    )]
    NotStepback,
    #[error("the definition's stepback manifest does not parse: {0}")]
    BadManifest(String),
}

/// Parses a history file (a [`Bundle`], or `get-execution-history`'s output alone) and builds its report.
pub fn audit_json(text: &str) -> Result<Report, AuditError> {
    audit(&History::from_json(text)?)
}

pub fn audit(history: &History) -> Result<Report, AuditError> {
    report::build(history)
}
