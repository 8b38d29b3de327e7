//! The report model: what happened to each step, built from a [`History`] and the definition's manifest. Its
//! JSON is the `--format json` output, documented field by field in `docs/audit-json.md`.

use std::collections::{HashMap, HashSet};

use catalog::ErrorName;
use catalog::contract::ApprovalAnswer;
use catalog::manifest::{Manifest, ManifestStep};
use serde_json::{Map, Value};

use crate::AuditError;
use crate::history::{Gap, History, Kind, format_time};
use crate::steps::Owners;

mod model;

pub use model::*;

/// What the events say about one step.
#[derive(Default)]
struct Seen {
    first: Option<(i64, i64)>,
    last: Option<(i64, i64)>,
    entered: bool,
    /// The last state of the step that exited: its name and output.
    exit: Option<(String, Option<String>)>,
    exit_at: Option<i64>,
    /// A state of the step was entered and has not exited (yet).
    open: bool,
    aborted: bool,
    attempts: u32,
    polls: u32,
    poll_times: Vec<i64>,
    retries: Vec<Retried>,
    task_error: Option<(Option<String>, Option<String>)>,
    /// The result of the step's last task that succeeded: a Lambda's `{Payload: Response}`, or an approval's
    /// answer.
    task_result: Option<Value>,
}

/// Builds the report. The definition must be one that stepback compiled: its manifest maps states to steps.
pub fn build(history: &History) -> Result<Report, AuditError> {
    let manifest = history.manifest()?;
    let definition = history
        .definition
        .as_ref()
        .ok_or(AuditError::NoDefinition)?;
    let mut branch_ends = HashSet::new();
    collect_branch_ends(definition, &mut branch_ends);

    let mut owners = Owners::new(&manifest);
    let index: HashMap<i64, usize> = history
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id, i))
        .collect();
    let mut seen: Vec<Seen> = manifest.steps.iter().map(|_| Seen::default()).collect();
    let mut start = None;
    let mut ended: Option<(i64, &str, &Option<String>, &Option<String>)> = None;
    let mut given: Option<&str> = None;
    let mut alarm: Option<Trigger> = None;
    let mut redrives: Vec<(i64, i64, Option<u64>)> = Vec::new();
    let mut first_call: Option<&Value> = None;
    // The last `*StateAborted` event: it names no state, and its `previousEventId` is the event that caused the
    // abort (a sibling branch's failure), not the aborted state's.
    let mut last_abort: Option<i64> = None;

    for event in &history.events {
        let step = owners.step(event);
        match &event.kind {
            Kind::ExecutionStarted { input } => {
                start.get_or_insert(event.at);
                given = input.as_deref();
            }
            Kind::ExecutionEnded {
                status,
                error,
                cause,
            } => ended = Some((event.at, status, error, cause)),
            Kind::ExecutionRedriven { count } => {
                redrives.push((event.id, event.at, *count));
                ended = None;
            }
            Kind::StateAborted => last_abort = Some(event.id),
            Kind::StateExited { output, .. } if step.is_none() && alarm.is_none() => {
                alarm = output.as_deref().and_then(alarm_trigger);
            }
            _ => {}
        }
        let Some(step) = step else { continue };
        let Some(s) = seen.get_mut(step) else {
            continue;
        };
        s.first.get_or_insert((event.id, event.at));
        s.last = Some((event.id, event.at));
        match &event.kind {
            Kind::StateEntered { .. } => {
                s.entered = true;
                s.open = true;
            }
            Kind::StateExited { name, output } => {
                s.exit = Some((name.clone(), output.clone()));
                s.exit_at = Some(event.at);
                s.open = false;
            }
            Kind::TaskScheduled { parameters } => {
                first_call.get_or_insert(parameters);
                let previous = index
                    .get(&event.previous)
                    .and_then(|&i| history.events.get(i));
                let operation = parameters
                    .pointer("/Payload/operation")
                    .and_then(Value::as_str);
                match operation {
                    Some("poll") => {
                        if matches!(previous.map(|p| &p.kind), Some(Kind::StateEntered { .. })) {
                            s.polls += 1;
                            s.poll_times.push(event.at);
                        }
                    }
                    _ => s.attempts += 1,
                }
                if let Some(Kind::TaskFailed { error, cause }) = previous.map(|p| &p.kind) {
                    s.retries.push(Retried {
                        error: error.clone(),
                        cause: cause.clone(),
                    });
                }
            }
            Kind::TaskFailed { error, cause } => {
                s.task_error = Some((error.clone(), cause.clone()));
            }
            Kind::TaskSucceeded { output } => {
                s.task_result = output.as_deref().and_then(|o| serde_json::from_str(o).ok());
            }
            _ => {}
        }
    }

    // A step left in a state that an abort came after, with nothing of its own since, was stopped there: by a
    // failing sibling branch (the Parallel stops the others) or by the execution's stop.
    for s in &mut seen {
        if s.open && last_abort.is_some_and(|abort| s.last.is_some_and(|(id, _)| id < abort)) {
            s.aborted = true;
        }
    }
    let start = start
        .or_else(|| history.events.first().map(|e| e.at))
        .unwrap_or_default();
    let mut steps: Vec<StepRecord> = manifest
        .steps
        .iter()
        .zip(&seen)
        .map(|(spec, seen)| record(spec, seen, &branch_ends, ended.is_some()))
        .collect();

    // A step that failed and stopped the workflow: the first one, by when its failure was recorded.
    let failed = steps
        .iter()
        .zip(&seen)
        .filter(|(s, _)| s.outcome == Outcome::Failed && !s.on_failure)
        .min_by_key(|(_, seen)| seen.last.map(|(id, _)| id))
        .map(|(s, seen)| (s.id.clone(), seen.last.map(|(id, _)| id)));
    if let Some((failed_id, Some(at))) = &failed {
        for (step, seen) in steps.iter_mut().zip(&seen) {
            if !step.on_failure
                && step.id != *failed_id
                && seen.last.is_some_and(|(id, _)| id > *at)
            {
                step.after_failure = true;
            }
        }
    }

    let order = dag_order(&manifest.steps);
    let approvals = order
        .iter()
        .filter_map(|&i| steps.get(i))
        .filter_map(approval)
        .collect();
    let status = match (ended, &history.execution) {
        (Some((_, status, ..)), _) => status.to_owned(),
        (None, Some(execution)) => execution
            .status
            .clone()
            .unwrap_or_else(|| "RUNNING".to_owned()),
        (None, None) => "RUNNING".to_owned(),
    };
    let failure = (status != "SUCCEEDED" && status != "RUNNING").then(|| {
        let (step, error, cause) = match &failed {
            Some((id, _)) => {
                let step = steps.iter().find(|s| s.id == *id);
                (
                    Some(id.clone()),
                    step.and_then(|s| s.error.clone()),
                    step.and_then(|s| s.cause.clone()),
                )
            }
            // An execution that timed out as a whole may say `""`: nothing.
            None => (
                None,
                ended.and_then(|e| e.2.clone()).filter(|t| !t.is_empty()),
                ended
                    .and_then(|e| e.3.clone())
                    .filter(|t| !t.is_empty())
                    .map(readable),
            ),
        };
        Failure {
            step,
            error,
            cause,
            at: ended.map(|e| format_time(e.0)),
            on_failure: steps
                .iter()
                .filter(|s| s.on_failure && s.outcome != Outcome::NeverReached)
                .map(|s| OnFailureRun {
                    step: s.id.clone(),
                    outcome: s.outcome,
                })
                .collect(),
        }
    });
    let redrives = redrives
        .iter()
        .map(|&(id, at, count)| Redrive {
            at: format_time(at),
            count,
            rerun: order
                .iter()
                .filter(|&&i| {
                    seen.get(i)
                        .is_some_and(|s| s.last.is_some_and(|l| l.0 > id))
                })
                .filter_map(|&i| manifest.steps.get(i).map(|s| s.id.clone()))
                .collect(),
        })
        .collect();
    let described = history.execution.clone().unwrap_or_default();
    let end = ended.map(|e| e.0).or(described.stop);
    let critical_path = critical_path(&manifest.steps, &steps, start, end);
    let trigger = alarm.unwrap_or_else(|| manual_trigger(&manifest, given));
    let call = |key: &str| {
        first_call
            .and_then(|p| p.pointer(&format!("/Payload/execution/{key}")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let execution = ExecutionSummary {
        name: described.name.or_else(|| call("name")),
        arn: described.arn.or_else(|| call("id")),
        state_machine_arn: described
            .state_machine_arn
            .or_else(|| call("state_machine")),
        status,
        started_at: format_time(start),
        ended_at: end.map(format_time),
        duration_ms: end.map(|e| millis(e - start)),
        start,
        end,
    };
    let mut ordered = Vec::with_capacity(steps.len());
    for i in order {
        if let Some(step) = steps.get_mut(i) {
            ordered.push(std::mem::replace(step, placeholder()));
        }
    }
    Ok(Report {
        schema: SCHEMA,
        workflow: manifest.workflow.clone(),
        execution,
        trigger,
        steps: ordered,
        approvals,
        failure,
        redrives,
        critical_path,
        gaps: history.gaps.iter().map(|gap| gap_line(*gap)).collect(),
    })
}

fn gap_line(gap: Gap) -> String {
    match gap {
        Gap::CutShort => "the history was saved cut short (a `nextToken` in the file): the events after it are \
                          missing, so later steps show as running or never reached; save it again whole \
                          (`stepback audit --save-history`)"
            .to_owned(),
        Gap::NoExecutionData => "the history was saved without execution data (`includeExecutionData` false): \
                                 no input, output or failure record, so outcomes and outputs are missing; save it \
                                 again with them (`stepback audit --save-history`)"
            .to_owned(),
    }
}

fn millis(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

fn placeholder() -> StepRecord {
    StepRecord {
        id: String::new(),
        action: String::new(),
        on_failure: false,
        outcome: Outcome::NeverReached,
        when: None,
        started_at: None,
        ended_at: None,
        duration_ms: None,
        estimate_secs: 0,
        attempts: 0,
        retries: Vec::new(),
        polls: 0,
        outputs: Map::new(),
        error: None,
        cause: None,
        after_failure: false,
        start: None,
        end: None,
        poll_times: Vec::new(),
    }
}

/// States whose output is the branch's `$.steps` alone (`OutputPath: $.steps`), not the whole state.
fn collect_branch_ends(machine: &Value, out: &mut HashSet<String>) {
    for (name, state) in machine
        .get("States")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if state.get("OutputPath").and_then(Value::as_str) == Some("$.steps") {
            out.insert(name.clone());
        }
        for branch in state
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_branch_ends(branch, out);
        }
    }
}

fn record(
    spec: &ManifestStep,
    seen: &Seen,
    branch_ends: &HashSet<String>,
    over: bool,
) -> StepRecord {
    let mut step = placeholder();
    step.id = spec.id.clone();
    step.action = spec.action.clone();
    step.on_failure = spec.on_failure;
    step.when = spec.when.clone();
    step.estimate_secs = spec.estimate_secs;
    step.attempts = seen.attempts;
    step.polls = seen.polls;
    step.poll_times = seen.poll_times.clone();
    step.retries = seen.retries.clone();
    step.start = seen.first.map(|f| f.1);
    step.end = seen.exit_at.or(seen.last.map(|l| l.1));
    step.started_at = step.start.map(format_time);
    step.ended_at = step.end.map(format_time);
    step.duration_ms = step.start.zip(step.end).map(|(s, e)| millis(e - s));

    let runtime = catalog::action(&spec.action).map(|a| a.runtime);
    let native = runtime == Some(catalog::Runtime::Native);
    let token = runtime == Some(catalog::Runtime::TaskToken);
    let exit: Option<(&str, Value)> = seen.exit.as_ref().map(|(name, output)| {
        let value = output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or(Value::Null);
        (name.as_str(), value)
    });
    step.outcome = match &exit {
        None if !seen.entered => Outcome::NeverReached,
        None if seen.aborted || over => Outcome::Stopped,
        None => Outcome::Running,
        Some((name, output)) => {
            let result = if branch_ends.contains(*name) {
                output.get(&spec.id)
            } else {
                output.get("steps").and_then(|s| s.get(&spec.id))
            };
            let failure = output
                .get("failure")
                .filter(|f| f.get("step").and_then(Value::as_str) == Some(spec.id.as_str()));
            let text = |v: Option<&Value>, key: &str| {
                v.and_then(|v| v.get(key))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
            };
            // Step Functions' error output, as a `Catch` stores it: `{"Error", "Cause"}`, either possibly missing
            // or empty (a timeout's `Cause`).
            if let Some(failure) = failure.filter(|_| !branch_ends.contains(*name)) {
                step.error = text(Some(failure), "Error");
                step.cause = text(Some(failure), "Cause");
                Outcome::Failed
            } else if result.and_then(|r| r.get("skipped")) == Some(&Value::Bool(true)) {
                Outcome::Skipped
            } else if text(result, "status").as_deref() == Some("failed") {
                step.error = text(result, "Error");
                step.cause = text(result, "Cause");
                Outcome::FailedContinued
            } else if text(result, "status").as_deref() == Some("done") {
                // The state keeps only the outputs a later step reads (and kept all of them before): every
                // output is in the history, in the result of the step's last task.
                let answered = match &seen.task_result {
                    Some(answer) if token => Some(answer),
                    Some(result) if result.pointer("/Payload/status") == Some(&"done".into()) => {
                        result.pointer("/Payload/output")
                    }
                    _ => None,
                };
                if let Some(outputs) = answered
                    .or_else(|| result.and_then(|r| r.get("output")))
                    .and_then(Value::as_object)
                {
                    step.outputs = outputs.clone();
                }
                Outcome::Succeeded
            } else if result.is_none() && native {
                // A `wait` step is one Wait state and keeps no result.
                Outcome::Succeeded
            } else if seen.aborted || over {
                // Its last state exited mid-way (a poll loop's Choice or Wait), and nothing followed.
                Outcome::Stopped
            } else {
                Outcome::Running
            }
        }
    };
    if let (Outcome::Failed | Outcome::FailedContinued, Some((error, cause))) =
        (step.outcome, &seen.task_error)
    {
        // An empty error or cause (a timeout's `TaskTimedOut` may carry `""`) says nothing.
        let given = |text: &Option<String>| text.clone().filter(|t| !t.is_empty());
        step.error = step.error.take().or_else(|| given(error));
        step.cause = step.cause.take().or_else(|| given(cause));
    }
    step.cause = step.cause.take().map(readable);
    for retry in &mut step.retries {
        retry.cause = retry.cause.take().map(readable);
    }
    step
}

/// A Lambda function error's cause is its JSON (`{"errorType", "errorMessage", ...}`): the message is what a
/// person reads.
pub fn readable(cause: String) -> String {
    if !cause.starts_with('{') {
        return cause;
    }
    serde_json::from_str::<Value>(&cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or(cause)
}

/// Main steps in a topological order of `after` (ties in declaration order), then `[on_failure]` in order.
fn dag_order(steps: &[ManifestStep]) -> Vec<usize> {
    let position: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let main: Vec<usize> = (0..steps.len())
        .filter(|&i| steps.get(i).is_some_and(|s| !s.on_failure))
        .collect();
    let mut placed = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    // Quadratic in the worst case, linear for workflows written in order; a workflow has at most a few
    // thousand steps (the history limit).
    while order.len() < main.len() {
        let next = main.iter().copied().find(|&i| {
            !placed[i]
                && steps.get(i).is_some_and(|s| {
                    s.after
                        .iter()
                        .all(|a| position.get(a.as_str()).is_none_or(|&p| placed[p]))
                })
        });
        // A cycle cannot come from the compiler; place the rest in declaration order rather than loop.
        let Some(next) = next.or_else(|| main.iter().copied().find(|&i| !placed[i])) else {
            break;
        };
        placed[next] = true;
        order.push(next);
    }
    order.extend((0..steps.len()).filter(|&i| steps.get(i).is_some_and(|s| s.on_failure)));
    order
}

fn approval(step: &StepRecord) -> Option<Approval> {
    if step.action != "approval" || matches!(step.outcome, Outcome::NeverReached | Outcome::Skipped)
    {
        return None;
    }
    let answer: Option<ApprovalAnswer> =
        serde_json::from_value(Value::Object(step.outputs.clone())).ok();
    let decision = match step.outcome {
        Outcome::Succeeded => "approved",
        Outcome::Running => "waiting",
        Outcome::Stopped => "stopped",
        _ if step.error.as_deref() == Some(ErrorName::Rejected.as_str()) => "rejected",
        _ if step.error.as_deref() == Some("States.Timeout") => "timed_out",
        _ => "failed",
    };
    let answered = !matches!(step.outcome, Outcome::Running | Outcome::Stopped);
    Some(Approval {
        step: step.id.clone(),
        decision: decision.to_owned(),
        approved_by: answer.as_ref().map(|a| a.approved_by.clone()),
        comment: answer.map(|a| a.comment),
        cause: step.cause.clone(),
        asked_at: step.started_at.clone(),
        answered_at: step.ended_at.clone().filter(|_| answered),
        waited_ms: step.duration_ms,
    })
}

/// The alarm that `Input: read the alarm` keeps in the history: `{"alarm": {name, state, reason, time}}`.
fn alarm_trigger(output: &str) -> Option<Trigger> {
    if !output.contains("\"alarm\"") {
        return None;
    }
    let value: Value = serde_json::from_str(output).ok()?;
    let alarm = value.get("alarm")?;
    let text = |key: &str| alarm.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(Trigger::Alarm {
        name: text("name")?,
        state: text("state"),
        reason: text("reason"),
        time: text("time"),
    })
}

fn manual_trigger(manifest: &Manifest, given: Option<&str>) -> Trigger {
    let given: Map<String, Value> = given
        .and_then(|g| serde_json::from_str::<Value>(g).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let mut inputs: Vec<InputValue> = manifest
        .defaults
        .iter()
        .map(|(name, default)| InputValue {
            name: name.clone(),
            value: given.get(name).unwrap_or(default).clone(),
            defaulted: !given.contains_key(name),
        })
        .collect();
    inputs.extend(
        given
            .iter()
            .filter(|(name, _)| !manifest.defaults.contains_key(name.as_str()))
            .map(|(name, value)| InputValue {
                name: name.clone(),
                value: value.clone(),
                defaulted: false,
            }),
    );
    Trigger::Manual { inputs }
}

/// A step that starts this long after its last dependency ended waited for something else.
const GAP_MS: i64 = 1000;

/// From the main step that ended last, back through what each waited for, within the execution (`start` to
/// `end`): a step that an emulator ran on after the execution had failed is not on it.
fn critical_path(
    specs: &[ManifestStep],
    steps: &[StepRecord],
    start: i64,
    end: Option<i64>,
) -> CriticalPath {
    let by_id: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    // A skipped step takes no time, so it holds nothing up and is on no path; nor is one that ran on after
    // another had failed (Step Functions would have stopped it).
    let ran = |s: &&StepRecord| {
        !s.on_failure
            && !s.after_failure
            && s.outcome != Outcome::Skipped
            && s.start.is_some()
            && s.end.is_some_and(|e| end.is_none_or(|end| e <= end))
    };
    let Some(mut current) = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| ran(s))
        .max_by_key(|(_, s)| s.end)
        .map(|(i, _)| i)
    else {
        return CriticalPath::default();
    };
    // What a step waited for: the dependency that ended last; or, when it started well after that, the step
    // that ended last before it started (an order the compiler added to nest the DAG in Parallel states).
    let waited_for = |current: usize| {
        let start = steps.get(current).and_then(|s| s.start)?;
        let dependency = specs.get(current).and_then(|spec| {
            spec.after
                .iter()
                .filter_map(|a| by_id.get(a.as_str()).copied())
                .filter(|&i| steps.get(i).is_some_and(|s| ran(&s)))
                .max_by_key(|&i| steps.get(i).and_then(|s| s.end))
        });
        let dependency_end = dependency.and_then(|i| steps.get(i)).and_then(|s| s.end);
        if dependency_end.is_some_and(|end| start - end <= GAP_MS) {
            return dependency;
        }
        steps
            .iter()
            .enumerate()
            .filter(|&(i, s)| i != current && ran(&s))
            .filter(|(_, s)| {
                s.end
                    .is_some_and(|end| end <= start && Some(end) > dependency_end)
            })
            .max_by_key(|(_, s)| s.end)
            .map(|(i, _)| i)
            .or(dependency)
    };
    let mut chain = vec![current];
    while let Some(previous) = waited_for(current) {
        if chain.contains(&previous) {
            break;
        }
        chain.push(previous);
        current = previous;
    }
    chain.reverse();
    let mut before = start;
    let mut path = Vec::with_capacity(chain.len());
    for i in chain {
        let Some(step) = steps.get(i) else { continue };
        let (s, e) = (step.start.unwrap_or(before), step.end.unwrap_or(before));
        path.push(PathStep {
            step: step.id.clone(),
            duration_ms: millis(e - s),
            waited_ms: millis(s - before),
        });
        before = e;
    }
    let over_estimate = steps
        .iter()
        .filter(|s| s.outcome != Outcome::Skipped)
        .filter_map(|s| s.duration_ms.map(|d| (s, d)))
        .max_by_key(|(s, d)| i128::from(*d) - i128::from(s.estimate_secs) * 1000)
        .map(|(s, d)| OverEstimate {
            step: s.id.clone(),
            duration_ms: d,
            estimate_secs: s.estimate_secs,
        });
    CriticalPath {
        steps: path,
        total_ms: millis(before - start),
        over_estimate,
    }
}
