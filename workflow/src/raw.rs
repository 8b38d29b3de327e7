//! What the first pass reads from a step, before its params are lowered: the input of the graph and safety
//! stages, which `lower` then finishes. Its own module so that the stages depend one way:
//! `syntax` → `raw` → `graph`, `safety` → `lower`.

use catalog::{ActionSpec, RetrySpec};

use crate::syntax::{Node, Span};

/// A step after the first pass: keys read, params not yet lowered.
pub struct RawStep<'a, 'i> {
    pub id: String,
    pub id_span: Span,
    pub action: Option<&'static ActionSpec>,
    pub action_span: Span,
    pub after: Vec<(String, Span)>,
    pub after_span: Option<Span>,
    pub when: Option<(&'a str, Span)>,
    pub params: Vec<(&'a str, Span, &'a Node<'i>)>,
    pub retry: RetrySpec,
    pub timeout_secs: u64,
    pub timeout_origin: &'static str,
    pub timeout_span: Span,
    /// `None` when the step gives no `estimate`.
    pub estimate_secs: Option<u64>,
    pub description: Option<String>,
    /// The value of `continue_on_error = true`, when the step has it.
    pub continue_on_error: Option<Span>,
    pub allow_unguarded: bool,
}
