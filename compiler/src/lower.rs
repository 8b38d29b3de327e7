//! The schedule tree and the steps to states.
//!
//! The state (`$`) is `{"input", "steps"}`. Each step writes `$.steps.<id>`: its `status` (or `skipped`, or its
//! failure), and its `output` only when a later step or `when` reads it (the rest stays in the history, where
//! the audit reads it); a `Parallel` hands its branches
//! `input` and only the step results they read, each branch ends with `OutputPath: $.steps`, and a merge
//! `Pass` folds the branch results back with `States.JsonMerge`. A `Catch` puts Step Functions' error output
//! (`{Error, Cause}`, either of which may be missing) at `$.failure` and a Pass adds `step`, so no state reads a
//! field that may be missing. Inside a branch a failure never fails the branch (in Step Functions a failed
//! branch stops its siblings, whatever they are in the middle of): the branch records it at
//! `$.steps.<id>.failure` and ends normally; once every branch has ended, a Choice after the `Parallel` raises
//! the first recorded failure (at the top level into the failure path, in a nested branch by ending that
//! branch too). The failure path first fills a missing `Error` or `Cause` and decodes a Lambda's JSON error,
//! and, when an `[on_failure]` step reads `${failure.completed}`, lists the steps done by then from their records
//! (each keeps the line its Lambda answered, `catalog::changed`), then runs the `[on_failure]` steps.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use catalog::contract::field;
use workflow::Workflow;
use workflow::model::Step;

use crate::CompileError;
use crate::asl::{State, StateMachine, States, Succeed, Transition};
use crate::events;
use crate::payload;
use crate::schedule::Tree;

mod failure;
mod guard;
mod poll;
mod steps;
mod tree;

pub(crate) use failure::listed;
pub(crate) use steps::{contract_payload, retry_for};

/// The error Step Functions raises when a task passes its `TimeoutSeconds`.
const TIMEOUT: &str = "States.Timeout";
/// ASL: state names are at most 80 Unicode characters.
const MAX_NAME: usize = 80;

pub struct Lowered {
    pub machine: StateMachine,
    /// Worst-case history events of each step (main steps, then `on_failure` steps), in declaration order.
    pub step_events: Vec<(String, u64)>,
    pub total_events: u64,
    /// The history when every step runs and succeeds first try, each long one at its estimate.
    pub nominal_events: u64,
    /// The polling schedule of each long step, by step id.
    pub poll_plans: BTreeMap<String, events::PollPlan>,
    /// The states each step's lowering added, by step id.
    pub step_states: BTreeMap<String, Vec<String>>,
}

pub fn lower(
    workflow: &Workflow,
    tree: Option<&Tree>,
    substitutions: &BTreeMap<String, String>,
    speed: u64,
) -> Result<Lowered, Vec<CompileError>> {
    let mut lowering = Lowering {
        workflow,
        substitutions,
        speed,
        used_names: HashSet::new(),
        errors: Vec::new(),
        step_events: BTreeMap::new(),
        step_nominal: BTreeMap::new(),
        overhead_events: 0,
        overhead_nominal: events::EXECUTION,
        poll_plans: BTreeMap::new(),
        failure_entry: String::new(),
        step_states: BTreeMap::new(),
        recorded_in_branch: BTreeSet::new(),
        branch_records: BTreeSet::new(),
        carried: workflow
            .reads
            .iter()
            .filter_map(|read| workflow.steps.get(read.to))
            .map(|step| step.id.clone())
            .collect(),
        listed: listed(workflow, tree),
    };
    let mut top = Scope {
        states: Vec::new(),
        in_branch: false,
    };
    // Built back to front, since each state names the next one; `sort_by_visit` restores reading order.
    lowering.failure_entry = lowering.lower_failure_path(&mut top);
    let body = match tree {
        Some(tree) => lowering.lower_tree(&mut top, tree, &Transition::End),
        None => lowering.name(
            "Nothing to do",
            |_| {
                State::Succeed(Succeed {
                    comment: Some("the workflow has no steps".to_owned()),
                })
            },
            &mut top,
        ),
    };
    let guard = lowering.lower_guard(&mut top, body);
    let start = lowering.lower_input(&mut top, guard);
    if !lowering.errors.is_empty() {
        return Err(lowering.errors);
    }
    let comment = match &workflow.description {
        Some(d) => format!("{}: {} (stepback)", workflow.name, payload::comment(d)),
        None => format!("{} (stepback)", workflow.name),
    };
    let manifest = crate::manifest::manifest(workflow, lowering.step_states.clone());
    let mut machine = StateMachine {
        comment: Some(manifest.to_comment(&comment)),
        start_at: start,
        states: States(top.states),
    };
    machine.sort_by_visit();
    let step_events: Vec<(String, u64)> = workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .map(|s| {
            (
                s.id.clone(),
                lowering.step_events.get(&s.id).copied().unwrap_or(0),
            )
        })
        .collect();
    let total_events = lowering.overhead_events + step_events.iter().map(|(_, e)| e).sum::<u64>();
    let nominal_events = lowering.overhead_nominal
        + workflow
            .steps
            .iter()
            .filter_map(|s| lowering.step_nominal.get(&s.id))
            .sum::<u64>();
    Ok(Lowered {
        machine,
        step_events,
        total_events,
        nominal_events,
        poll_plans: lowering.poll_plans,
        step_states: lowering.step_states,
    })
}

struct Scope {
    states: Vec<(String, State)>,
    in_branch: bool,
}

impl Scope {
    /// How a state that would hand over to `next` ends: a branch's last state hands back only `$.steps`.
    fn exit(&self, next: &Transition) -> (Transition, Option<String>) {
        let output = (self.in_branch && *next == Transition::End).then(|| "$.steps".to_owned());
        (next.clone(), output)
    }
}

/// What happens after a step has failed past its retries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `continue_on_error` and `on_failure` steps: record the failure at `$.steps.<id>` and go on.
    Record,
    /// Go to the failure path (at the top level) or fail the branch.
    Abort,
}

struct Lowering<'a> {
    workflow: &'a Workflow,
    substitutions: &'a BTreeMap<String, String>,
    /// `Options::speed`: the poll waits travel in the state data, out of `StateMachine::speed_up`'s reach, so
    /// they are scaled where they are written.
    speed: u64,
    used_names: HashSet<String>,
    errors: Vec<CompileError>,
    step_events: BTreeMap<String, u64>,
    /// Each step's events in the nominal run.
    step_nominal: BTreeMap<String, u64>,
    /// Events of states that belong to no step: input, guard, `Parallel`s, the failure tail.
    overhead_events: u64,
    /// The same in the nominal run: the execution, the console input, the guard, the `Parallel`s.
    overhead_nominal: u64,
    poll_plans: BTreeMap<String, events::PollPlan>,
    /// The first state of the top-level failure path.
    failure_entry: String,
    /// The states each step's lowering added, for the audit's manifest.
    step_states: BTreeMap<String, Vec<String>>,
    /// The states that record a step's failure in its branch and end the branch.
    branch_records: BTreeSet<String>,
    /// The steps that record their failure in their branch (`$.steps.<id>.failure`) for a join to raise.
    recorded_in_branch: BTreeSet<String>,
    /// The steps whose outputs a later step or `when` reads: only their outputs stay in the state data, the
    /// others' only in the history (the task's result), where the audit reads them.
    carried: BTreeSet<String>,
    /// The steps that `${failure.completed}` lists when they are done ([`listed`]): each keeps its Lambda's
    /// `changed` line.
    listed: Vec<usize>,
}

impl Lowering<'_> {
    /// A unique state name of at most 80 characters, made from `text`.
    fn fresh(&mut self, text: &str) -> String {
        let mut candidate: String = text.chars().take(MAX_NAME).collect();
        let mut n = 1;
        while !self.used_names.insert(candidate.clone()) {
            n += 1;
            let tag = format!(" ({n})");
            candidate = text.chars().take(MAX_NAME - tag.len()).collect::<String>() + &tag;
        }
        candidate
    }

    /// Adds a state under a fresh name; `build` gets the name (for self-references).
    fn name(&mut self, text: &str, build: impl FnOnce(&str) -> State, scope: &mut Scope) -> String {
        let name = self.fresh(text);
        let state = build(&name);
        scope.states.push((name.clone(), state));
        name
    }

    /// The fields of a task's response that the step keeps at `$.steps.<id>`: `output` only when read,
    /// `changed` only when `${failure.completed}` lists the step.
    fn kept<'f>(&self, step: &Step, fields: &[&'f str]) -> Vec<&'f str> {
        let carried = self.carried.contains(&step.id);
        let listed = self.is_listed(step);
        fields
            .iter()
            .copied()
            .filter(|&f| carried || f != field::OUTPUT)
            .filter(|&f| listed || f != field::CHANGED)
            .collect()
    }

    fn is_listed(&self, step: &Step) -> bool {
        self.listed
            .iter()
            .any(|&i| self.workflow.steps.get(i).is_some_and(|s| s.id == step.id))
    }

    fn step_id(&self, index: usize) -> Option<&str> {
        self.workflow.steps.get(index).map(|s| s.id.as_str())
    }
}
