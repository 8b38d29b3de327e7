//! The worst-case size of the data a state carries, against Step Functions' limit of 256 KB per state input
//! or output (a task's result too). The state is `{input, steps, failure}`, so it grows with every step's
//! result; each part is bounded by what declares it: an input by [`INPUT_BYTES`], an output by its catalog
//! `max_bytes` (which the Lambdas keep to), an error's cause by Step Functions' own limit.

use catalog::Runtime;
use workflow::Workflow;
use workflow::model::Step;

/// Step Functions' limit on a state's input, output or task result: 256 KB of UTF-8.
pub const LIMIT: usize = 262_144;
/// An execution input's value, as JSON. Not enforced yet: the guard, which checks the input's keys, does not
/// check lengths, and `[input]` declares no `max_length` (see ARCHITECTURE.md).
pub const INPUT_BYTES: usize = 4 * 1024;
/// An error's `Cause` as JSON: a Lambda's error message is cut to [`catalog::ERROR_MESSAGE_BYTES`], and the
/// cause holds it inside the runtime's own JSON, escaped again: four times the message bounds it.
pub const CAUSE_BYTES: usize = 4 * catalog::ERROR_MESSAGE_BYTES;
/// The keys, quotes and braces around the values, and the alarm's name, state, reason and time.
const ENVELOPE_BYTES: usize = 4 * 1024;
/// A step's result without its outputs: `status`, `n`, `wait`, and a poll's `state` (the Lambda's own small
/// record of what it started) and `progress`.
const RESULT_BYTES: usize = 128 + catalog::TEXT_BYTES + catalog::PROGRESS_BYTES;
/// A failure record without its causes: `step`, `Error` and the decoded Lambda error's type.
const FAILURE_BYTES: usize = 1024;

/// The bound, and each step's share of it, in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSize {
    pub bytes: usize,
    pub steps: Vec<(String, usize)>,
}

/// Every input at its bound; every step's result (once: a `Parallel`'s branch results sit at `$.branches`
/// beside a `$.steps` that does not hold them yet, until the merge folds them in); the cause of one failed step,
/// and of each `continue_on_error` step, which keeps its failure as its result; and the failure record, which
/// holds the cause twice (as given, and decoded from a Lambda's error).
pub fn state_size(workflow: &Workflow) -> StateSize {
    let inputs = workflow.inputs.len() * (INPUT_BYTES + 64);
    let steps: Vec<(String, usize)> = workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .map(|step| (step.id.clone(), result_bytes(step)))
        .collect();
    let failures = 1 + workflow
        .steps
        .iter()
        .filter(|s| s.continue_on_error)
        .count();
    let bytes = ENVELOPE_BYTES
        + inputs
        + steps.iter().map(|(_, b)| b).sum::<usize>()
        + failures * (CAUSE_BYTES + FAILURE_BYTES)
        + 2 * CAUSE_BYTES
        + FAILURE_BYTES;
    StateSize { bytes, steps }
}

/// A step's result at its largest: its outputs (or its failure's `Error` beside a poll's `state`).
fn result_bytes(step: &Step) -> usize {
    let outputs: usize = step
        .action
        .outputs
        .iter()
        .map(|o| o.name.len() + 6 + o.max_bytes)
        .sum();
    match step.action.runtime {
        Runtime::Native => 64,
        _ => RESULT_BYTES + outputs,
    }
}
