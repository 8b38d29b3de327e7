//! The worst-case size of the data a state carries, against Step Functions' limit of 256 KB per state input
//! or output (a task's result too). The state is `{input, steps, failure}`: every input, each step's mark
//! (`done`, `skipped`, or its failure), and the outputs of the steps that a later step or `when` reads; the
//! other outputs stay in the history only. Each part is bounded by what declares it: an input by its
//! `max_length` (which the guard enforces), an output by its catalog `max_bytes` (which the Lambdas keep to), an
//! error's cause by the Lambdas' cut.

use std::collections::{BTreeMap, BTreeSet};

use catalog::Runtime;
use workflow::Workflow;
use workflow::model::Step;

use crate::schedule::Tree;

/// Step Functions' limit on a state's input, output or task result: 256 KB of UTF-8.
pub const LIMIT: usize = 262_144;
/// An error's `Cause` as the state holds it: a Lambda cuts its message so that the message, escaped twice (in
/// the runtime's `{"errorType", "errorMessage"}` JSON, and that JSON as a string), takes at most
/// [`catalog::ERROR_MESSAGE_BYTES`]; `stepback reject` bounds a rejection's reason the same way.
pub const CAUSE_BYTES: usize = catalog::ERROR_MESSAGE_BYTES + 256;
/// The keys, quotes and braces around the state's parts.
const ENVELOPE_BYTES: usize = 256;
/// A step's mark: `"<id>":{"status":"done"}` or `{"skipped":true}`, without the id.
const MARK_BYTES: usize = 32;
/// A polling step's record while it polls: `n`, `wait`, and its last answer's `status`, `state` (the Lambda's
/// own small record of what it started), `progress` and `error`; a failed operation's `cause` is in the
/// failure part.
const POLLING_BYTES: usize = 128 + catalog::TEXT_BYTES + catalog::PROGRESS_BYTES;
/// A failure record without its cause: `step`, `Error` and the decoded Lambda error's type.
const FAILURE_BYTES: usize = 1024;
/// A step's `changed` line in its record: `,"changed":` and the line as JSON.
const CHANGED_IN_RECORD: usize = 12 + catalog::changed::CHANGED_BYTES;
/// The line again in `${failure.completed}`, as `[<id>: <line>]` (the id counted apart), without its quotes.
const CHANGED_IN_LIST: usize = 4 + catalog::changed::CHANGED_BYTES;
/// A number input as JSON; a bool is shorter.
const NUMBER_BYTES: usize = 24;

/// The bound, and what it is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSize {
    pub bytes: usize,
    /// Every part, heaviest first (ties in declaration order).
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub what: Carried,
    pub bytes: usize,
}

/// What a part of the state data is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Carried {
    /// An input, at its `max_length`.
    Input(String),
    /// A step's outputs, kept because `readers` read them (from their params or their `when`).
    Outputs { step: String, readers: Vec<String> },
    /// The failure of a step that records it and goes on (`continue_on_error`, `[on_failure]`).
    RecordedFailure(String),
    /// The failures recorded in `Parallel` branches for the join to raise: at most one per branch (a branch
    /// ends at its first), branches of nested `Parallel`s counted each.
    BranchFailures(usize),
    /// The results a branch was handed, handed back a second time by a branch that fails (its last state
    /// cannot tell which of its own results exist, so it hands back all of `$.steps`).
    HandedBack,
    /// Every step's mark: done, skipped, or failed.
    Marks,
    /// The failure that stops the workflow (its cause twice: caught from a branch as JSON text, or a poll's
    /// reported cause beside the failure's, or decoded from a Lambda's error).
    Failure,
    /// A polling step's record while it polls (one at a time in a state), without its last answer's cause,
    /// which the failure part holds.
    Polling(String),
    /// What `${failure.completed}` lists: each listed step's `changed` line in its record, and again in the
    /// list the failure path builds.
    Completed,
}

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Carried::Input(name) => write!(f, "input `{name}`"),
            Carried::Outputs { step, readers } => {
                let readers: Vec<String> = readers.iter().map(|r| format!("`{r}`")).collect();
                write!(f, "`{step}`'s outputs, read by {}", readers.join(", "))
            }
            Carried::RecordedFailure(step) => write!(f, "`{step}`'s failure, if it fails"),
            Carried::Marks => f.write_str("the steps' marks"),
            Carried::HandedBack => f.write_str("the results handed back by a failed branch"),
            Carried::BranchFailures(n) => write!(f, "the failures {n} branches may record"),
            Carried::Failure => f.write_str("the failure record"),
            Carried::Polling(step) => write!(f, "`{step}`'s polling record"),
            Carried::Completed => f.write_str("the steps' lines for `${failure.completed}`"),
        }
    }
}

impl StateSize {
    /// The parts of steps' outputs, heaviest first: what a workflow that does not fit should change.
    pub fn outputs(&self) -> impl Iterator<Item = (&str, &[String], usize)> {
        self.parts.iter().filter_map(|p| match &p.what {
            Carried::Outputs { step, readers } => {
                Some((step.as_str(), readers.as_slice(), p.bytes))
            }
            _ => None,
        })
    }
}

/// The most bytes one state's data can reach: every input at its bound, every step's mark, the outputs that
/// are read, the failures that are recorded, the largest polling record, and the failure that stops the
/// workflow. A `Parallel`'s branch holds a subset of these (the input, the results it reads, its own), and
/// hands back only its own, unless it fails (`Carried::HandedBack`). `tree` is the compiled nesting.
pub fn state_size(workflow: &Workflow, tree: Option<&Tree>) -> StateSize {
    let mut parts = Vec::new();
    for input in &workflow.inputs {
        let value = match workflow.max_length(input) {
            // A string's quotes.
            Some(length) => length + 2,
            None => NUMBER_BYTES,
        };
        parts.push((
            Carried::Input(input.name.clone()),
            input.name.len() + 6 + value,
        ));
    }
    let readers = readers(workflow);
    let all = || workflow.steps.iter().chain(&workflow.on_failure);
    for step in all() {
        if let Some(readers) = readers.get(step.id.as_str()) {
            let what = Carried::Outputs {
                step: step.id.clone(),
                readers: readers.clone(),
            };
            parts.push((what, outputs_bytes(step)));
        }
    }
    for step in workflow.steps.iter().filter(|s| s.continue_on_error) {
        parts.push((Carried::RecordedFailure(step.id.clone()), CAUSE_BYTES));
    }
    let mut handed = BTreeSet::new();
    let failing = tree.map_or(0, |tree| branches(workflow, tree, &mut handed));
    if failing > 0 {
        let longest_id = workflow.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
        parts.push((
            Carried::BranchFailures(failing),
            failing * (longest_id + CAUSE_BYTES),
        ));
    }
    let listed: BTreeSet<&str> = crate::lower::listed(workflow, tree)
        .into_iter()
        .filter_map(|i| workflow.steps.get(i).map(|s| s.id.as_str()))
        .collect();
    let handed_back: usize = handed
        .iter()
        .filter_map(|&i| workflow.steps.get(i))
        .map(|s| outputs_bytes(s) + usize::from(listed.contains(s.id.as_str())) * CHANGED_IN_RECORD)
        .sum();
    if handed_back > 0 {
        parts.push((Carried::HandedBack, handed_back));
    }
    for step in &workflow.on_failure {
        parts.push((Carried::RecordedFailure(step.id.clone()), CAUSE_BYTES));
    }
    let marks = all().map(|s| s.id.len() + MARK_BYTES).sum::<usize>();
    parts.push((Carried::Marks, marks));
    if let Some(step) = all().find(|s| s.action.runtime == Runtime::Poll) {
        parts.push((Carried::Polling(step.id.clone()), POLLING_BYTES));
    }
    parts.push((Carried::Failure, 2 * CAUSE_BYTES + FAILURE_BYTES));
    let completed: usize = listed
        .iter()
        .map(|id| CHANGED_IN_RECORD + id.len() + CHANGED_IN_LIST)
        .sum();
    if completed > 0 {
        parts.push((Carried::Completed, completed));
    }
    let bytes = ENVELOPE_BYTES + parts.iter().map(|(_, b)| b).sum::<usize>();
    let mut parts: Vec<Part> = parts
        .into_iter()
        .map(|(what, bytes)| Part { what, bytes })
        .collect();
    parts.sort_by(|a, b| b.bytes.cmp(&a.bytes));
    StateSize { bytes, parts }
}

/// How many failures `tree`'s `Parallel` branches can record at once (a step or a series: one, since a branch
/// ends at its first; a `Parallel`: its branches' together; none outside any `Parallel`), and the steps whose
/// results a branch is handed from outside it.
fn branches(workflow: &Workflow, tree: &Tree, handed: &mut BTreeSet<usize>) -> usize {
    match tree {
        Tree::Step(_) => 0,
        Tree::Series(children) => children
            .iter()
            .map(|c| branches(workflow, c, handed))
            .max()
            .unwrap_or(0),
        Tree::Parallel(children) => children
            .iter()
            .map(|child| {
                let inside: BTreeSet<usize> = child.steps().into_iter().collect();
                handed.extend(
                    inside
                        .iter()
                        .flat_map(|&i| workflow.reads_of(i))
                        .filter(|read| !inside.contains(read)),
                );
                let can_fail = child.steps().into_iter().any(|i| {
                    workflow.steps.get(i).is_some_and(|s| {
                        !s.continue_on_error && s.action.runtime != Runtime::Native
                    })
                });
                branches(workflow, child, handed).max(usize::from(can_fail))
            })
            .sum(),
    }
}

/// Who reads each step's outputs, in declaration order.
fn readers(workflow: &Workflow) -> BTreeMap<&str, Vec<String>> {
    let mut readers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for read in &workflow.reads {
        let (Some(step), Some(reader)) =
            (workflow.steps.get(read.to), workflow.steps.get(read.from))
        else {
            continue;
        };
        let list = readers.entry(step.id.as_str()).or_default();
        if !list.contains(&reader.id) {
            list.push(reader.id.clone());
        }
    }
    readers
}

/// A step's outputs at their largest, as `"output":{...}`.
fn outputs_bytes(step: &Step) -> usize {
    16 + step
        .action
        .outputs
        .iter()
        .map(|o| o.name.len() + 6 + o.max_bytes)
        .sum::<usize>()
}
