//! The one reading of a history as the workflow's steps: which step each event belongs to ([`Owners`], through the
//! manifest), and what each step did as it happened ([`step_events`]), which `start --follow` and `rehearse` show
//! while an execution runs and [`crate::report`] sums up once it has.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use catalog::manifest::{Manifest, StatePart};
use serde_json::Value;

use crate::history::{Event, Kind};

/// Which step each event belongs to, read in history order: a state event by its state's name, which the manifest
/// gives to one step; a task event by the state it follows (`previousEventId`); execution events and a
/// Parallel's own to none.
pub struct Owners<'m> {
    step_of_state: HashMap<&'m str, usize>,
    owner: HashMap<i64, Option<usize>>,
}

impl<'m> Owners<'m> {
    pub fn new(manifest: &'m Manifest) -> Owners<'m> {
        let step_of_state = manifest
            .steps
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.states.iter().map(move |name| (name.as_str(), i)))
            .collect();
        Owners {
            step_of_state,
            owner: HashMap::new(),
        }
    }

    /// The index in the manifest's steps of the step `event` belongs to. Events must come in history order.
    pub fn step(&mut self, event: &Event) -> Option<usize> {
        let step = match &event.kind {
            Kind::StateEntered { name, .. } | Kind::StateExited { name, .. } => {
                self.step_of_state.get(name.as_str()).copied()
            }
            Kind::ExecutionStarted { .. }
            | Kind::ExecutionEnded { .. }
            | Kind::ExecutionRedriven { .. }
            | Kind::StateAborted => None,
            // `ParallelStateFailed` and the like follow whichever branch event came last: they are the
            // Parallel's, not that step's (else a failed branch would seem to end after its late sibling).
            Kind::Other(kind) if kind.starts_with("Parallel") || kind.starts_with("Map") => None,
            _ => self.owner.get(&event.previous).copied().flatten(),
        };
        self.owner.insert(event.id, step);
        step
    }
}

/// What a step did, as `start --follow` and `rehearse` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepEvent {
    Started,
    Polled(u32),
    /// Its Lambda's call failed and the state's `Retry` runs it again: the attempt that starts (2, 3...).
    Retried(u32),
    Succeeded,
    Skipped,
    Failed(String),
}

impl std::fmt::Display for StepEvent {
    /// The step's state after the event, in the words the progress uses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepEvent::Started => f.write_str("running"),
            StepEvent::Polled(n) => write!(f, "polling {n}"),
            StepEvent::Retried(attempt) => write!(f, "retrying (attempt {attempt})"),
            StepEvent::Succeeded => f.write_str("done"),
            StepEvent::Skipped => f.write_str("skipped"),
            StepEvent::Failed(cause) if cause.is_empty() => f.write_str("failed"),
            StepEvent::Failed(cause) => write!(f, "failed: {cause}"),
        }
    }
}

/// The steps' events in `events` (history order), each with when it happened after the first event: a step
/// starts when its first state past its `when` is entered (a step whose `when` is false is only skipped), polls
/// when it enters its poll task, is retried when a task is scheduled again after its failure, and ends when its
/// last state ends it (a task state that exits through its `Catch` ends nothing: its `: failed` state follows).
pub fn step_events(manifest: &Manifest, events: &[Event]) -> Vec<(String, StepEvent, Duration)> {
    let started_at = events.first().map_or(0, |e| e.at);
    let at = |event: &Event| {
        Duration::from_millis(u64::try_from(event.at - started_at).unwrap_or_default())
    };
    // A step with a `done` state (a poll loop's) ends there, not when its first task ends.
    let ends_in_done: HashSet<usize> = manifest
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.states
                .iter()
                .any(|state| StatePart::of(&s.id, state) == Some(StatePart::Done))
        })
        .map(|(i, _)| i)
        .collect();
    let mut owners = Owners::new(manifest);
    let mut previous: HashMap<i64, &Kind> = HashMap::new();
    let mut started: HashMap<usize, u32> = HashMap::new();
    let mut attempts: HashMap<usize, u32> = HashMap::new();
    let mut out = Vec::new();
    for event in events {
        let index = owners.step(event);
        let after_failure = matches!(previous.get(&event.previous), Some(Kind::TaskFailed { .. }));
        previous.insert(event.id, &event.kind);
        let Some(step) = index.and_then(|i| manifest.steps.get(i).map(|s| (i, s.id.as_str())))
        else {
            continue;
        };
        let (i, id) = step;
        let mut push = |what: StepEvent| out.push((id.to_owned(), what, at(event)));
        match &event.kind {
            Kind::TaskScheduled { .. } if after_failure => {
                let attempt = attempts.entry(i).or_insert(1);
                *attempt += 1;
                push(StepEvent::Retried(*attempt));
            }
            Kind::StateEntered { name, .. } => {
                let part = StatePart::of(id, name);
                // Deciding whether to run is not running yet.
                if part == Some(StatePart::When) {
                    continue;
                }
                match started.get_mut(&i) {
                    None => {
                        started.insert(i, 0);
                        push(if part == Some(StatePart::Skipped) {
                            StepEvent::Skipped
                        } else {
                            StepEvent::Started
                        });
                    }
                    Some(polls) if part == Some(StatePart::Poll) => {
                        *polls += 1;
                        push(StepEvent::Polled(*polls));
                    }
                    Some(_) => {}
                }
            }
            Kind::StateExited { name, output } => {
                let part = StatePart::of(id, name);
                if part == Some(StatePart::Failed) {
                    push(StepEvent::Failed(cause(output.as_deref(), id)));
                } else if part == Some(StatePart::Done)
                    || (name == id && !ends_in_done.contains(&i) && !after_failure)
                {
                    push(StepEvent::Succeeded);
                }
            }
            _ => {}
        }
    }
    out
}

/// What a step's failed state saw: `Error: Cause`, from the failure record (`$.failure`, naming the step) or,
/// for a step that goes on after failing, its result. A Lambda's JSON error shows as its message.
fn cause(output: Option<&str>, step: &str) -> String {
    let output: Value = output
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or(Value::Null);
    let failure = match &output["failure"] {
        failure if failure["step"] == step => failure,
        _ => &output["steps"][step],
    };
    // Step Functions' error output as the `Catch` stored it; an empty `Cause` (a timeout's) says nothing.
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let cause = crate::report::readable(text(&failure["Cause"]));
    match (text(&failure["Error"]), cause) {
        (error, cause) if cause.is_empty() => error,
        (error, cause) if error.is_empty() => cause,
        (error, cause) => format!("{error}: {cause}"),
    }
}
