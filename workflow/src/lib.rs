//! The stepback workflow language: parse → validate → graph.
//!
//! [`check`] never fails: it returns the workflow when the source is valid, and every diagnostic it found.
//! This crate does no IO.

pub mod codes;
mod condition;
mod diagnostic;
pub mod duration;
mod graph;
mod lower;
pub mod model;
mod raw;
pub mod render;
mod safety;
pub mod schema;
mod syntax;
mod template;

pub use codes::{Code, Explanation};
pub use condition::GRAMMAR as CONDITION_GRAMMAR;
pub use diagnostic::{Diagnostic, Severity};
pub use graph::{Ancestors, Dag};
pub use model::Workflow;
pub use syntax::closest;

/// The result of checking one source file.
#[derive(Debug)]
pub struct Checked {
    /// Present when no diagnostic is an error.
    pub workflow: Option<Workflow>,
    /// Every problem found, errors and warnings, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses and validates a workflow source.
pub fn check(source: &str) -> Checked {
    let mut sink = syntax::Sink::default();
    let workflow = lower::lower(source, &mut sink);
    let mut diagnostics = sink.diagnostics;
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end, d.code));
    Checked {
        workflow,
        diagnostics,
    }
}
