//! Executions without the printing: the typed input a start sends, the start itself, what has happened so far
//! (as the workflow's steps), and the approvals waiting in one.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use audit::StepEvent;
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use catalog::manifest::Manifest;
use serde_json::Value as Json;

use crate::aws::{self, AwsError, Call, Session};

mod input;

pub use input::{InputProblem, build_input, known_input};

/// `rollback-20261127T0312Z-alice`: who started it and when, in the 80 characters Step Functions allows, from
/// the characters it allows.
pub fn default_name(caller: &str, now: std::time::SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    // 2026-11-27T03:12:45Z → 20261127T0312Z
    let compact: String = stamp
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let stamp = format!("{}Z", compact.get(..13).unwrap_or(&compact));
    let who: String = caller
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(80 - "rollback--".len() - stamp.len())
        .collect();
    format!("rollback-{stamp}-{who}")
}

/// The console page of a state machine or execution ARN, on the console of the ARN's partition.
pub fn console_url(arn: &str) -> String {
    let region = arn.split(':').nth(3).unwrap_or("us-east-1");
    let host = compiler::partition::Partition::of_arn(arn).console_host(region);
    let page = if arn.contains(":execution:") {
        "executions/details"
    } else {
        "statemachines/view"
    };
    format!("https://{host}/states/home?region={region}#/{page}/{arn}")
}

const START: Call = Call::new("Step Functions", "states:StartExecution");
const HISTORY: Call = Call::new("Step Functions", "states:GetExecutionHistory");
const DESCRIBE_MACHINE: Call =
    Call::new("Step Functions", "states:DescribeStateMachineForExecution");

/// Starts an execution; the execution ARN.
pub async fn start(
    session: &Session,
    state_machine: &str,
    name: &str,
    input: &Json,
) -> Result<String, AwsError> {
    let started = aws_sdk_sfn::Client::new(&session.config)
        .start_execution()
        .state_machine_arn(state_machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| aws::explain(&e, START))?;
    Ok(started.execution_arn().to_owned())
}

const LIST: Call = Call::new("Step Functions", "states:ListExecutions");

/// An execution that has ended, as ListExecutions shows it.
#[derive(Clone, Debug)]
pub struct Ended {
    pub name: String,
    pub status: String,
    pub stopped: std::time::SystemTime,
}

/// The execution of `state_machine` that ended last, if any. Every page: one that started long ago may have
/// ended last.
pub async fn last_ended(session: &Session, state_machine: &str) -> Result<Option<Ended>, AwsError> {
    let mut pages = aws_sdk_sfn::Client::new(&session.config)
        .list_executions()
        .state_machine_arn(state_machine)
        .into_paginator()
        .items()
        .send();
    let mut last: Option<Ended> = None;
    while let Some(item) = pages.next().await {
        let item = item.map_err(|e| aws::explain(&e, LIST))?;
        let Some(stopped) = item
            .stop_date()
            .and_then(|d| std::time::SystemTime::try_from(*d).ok())
        else {
            continue;
        };
        if last.as_ref().is_none_or(|l| stopped > l.stopped) {
            last = Some(Ended {
                name: item.name().to_owned(),
                status: item.status().as_str().to_owned(),
                stopped,
            });
        }
    }
    Ok(last)
}

/// The most events `GetExecutionHistory` returns in one page ("maxResults ... The maximum value is 1000",
/// GetExecutionHistory API reference).
const HISTORY_PAGE: i32 = 1000;

/// Every event of an execution's history, oldest first.
pub async fn history(session: &Session, execution: &str) -> Result<Vec<HistoryEvent>, AwsError> {
    let mut followed = Followed::default();
    followed.update(session, execution).await?;
    Ok(followed.events)
}

/// An execution's history as `start --follow` and the rehearsal read it every few seconds: each read fetches only
/// the events after the last one it has. `GetExecutionHistory` refills at 20 calls a second (Step Functions'
/// quotas), so reading a 5,000-event history whole every 2 s at 100 a page would be throttled within a minute and
/// a half; newest first (`reverseOrder`), 1,000 a page, a read stops at the first page that reaches what it has:
/// one call a read.
#[derive(Debug, Default)]
pub struct Followed {
    events: Vec<HistoryEvent>,
    /// The same events as the audit reads them.
    read: Vec<audit::history::Event>,
}

impl Followed {
    /// Fetches what is new.
    pub async fn update(&mut self, session: &Session, execution: &str) -> Result<(), AwsError> {
        let client = aws_sdk_sfn::Client::new(&session.config);
        let known = self.events.last().map_or(0, HistoryEvent::id);
        let mut new = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .get_execution_history()
                .execution_arn(execution)
                .include_execution_data(true)
                .reverse_order(true)
                .max_results(HISTORY_PAGE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws::explain(&e, HISTORY))?;
            let reached = newer_than(known, page.events(), &mut new);
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if reached || token.is_none() {
                break;
            }
        }
        self.add(new);
        Ok(())
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// What the steps have done so far, each with when after the execution started: the audit's reading
    /// ([`audit::step_events`]).
    pub fn step_events(&self, manifest: &Manifest) -> Vec<(String, StepEvent, Duration)> {
        audit::step_events(manifest, &self.read)
    }

    /// Adds events from pages in any order (the emulator ignores `reverseOrder`), once each, oldest first.
    fn add(&mut self, mut new: Vec<HistoryEvent>) {
        new.sort_by_key(HistoryEvent::id);
        new.dedup_by_key(|e| e.id());
        // An SDK event always has what the audit needs (a timestamp, a type and an id).
        self.read.extend(
            new.iter()
                .filter_map(|e| audit::history::Event::from_json(crate::history::event(e)).ok()),
        );
        self.events.extend(new);
    }
}

/// Moves the events of `page` newer than `known` into `new`; whether the page reached an event already known, so
/// that the pages after it (older ones) hold nothing new.
fn newer_than(known: i64, page: &[HistoryEvent], new: &mut Vec<HistoryEvent>) -> bool {
    new.extend(page.iter().filter(|e| e.id() > known).cloned());
    page.iter().any(|e| e.id() <= known)
}

/// Why the guard ended an execution before any step, read from the output it succeeded with; `None` for one that
/// ran its steps.
pub fn held_back(output: &str) -> Option<catalog::HeldBack> {
    serde_json::from_str(output).ok()
}

/// The manifest the compiler wrote into the execution's definition: which states belong to which step.
pub async fn manifest(session: &Session, execution: &str) -> Result<Option<Manifest>, AwsError> {
    let described = aws_sdk_sfn::Client::new(&session.config)
        .describe_state_machine_for_execution()
        .execution_arn(execution)
        .send()
        .await
        .map_err(|e| aws::explain(&e, DESCRIBE_MACHINE))?;
    let definition: Json = serde_json::from_str(described.definition()).unwrap_or(Json::Null);
    Ok(definition["Comment"]
        .as_str()
        .and_then(Manifest::from_comment)
        .and_then(Result::ok))
}

/// How the execution ended, once its history says so: `Some(true)` when it succeeded. An end before the last
/// `ExecutionRedriven` is not the end: the redriven execution runs again.
pub fn ended(events: &[HistoryEvent]) -> Option<bool> {
    since_redrive(events)
        .iter()
        .rev()
        .find_map(|e| match e.r#type() {
            HistoryEventType::ExecutionSucceeded => Some(true),
            HistoryEventType::ExecutionFailed
            | HistoryEventType::ExecutionAborted
            | HistoryEventType::ExecutionTimedOut => Some(false),
            _ => None,
        })
}

/// An approval step waiting for an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub step: String,
    /// A secret that can answer the approval: only for the answer, never printed.
    pub token: String,
}

/// The events after the last `ExecutionRedriven`: a redrive reruns the states that had not exited, so the tokens
/// and ends before it are spent.
fn since_redrive(events: &[HistoryEvent]) -> &[HistoryEvent] {
    let last = events
        .iter()
        .rposition(|e| e.r#type() == &HistoryEventType::ExecutionRedriven);
    last.map_or(events, |i| &events[i + 1..])
}

/// The approvals that were scheduled and have not been answered, timed out, failed to start or been stopped,
/// one per step (its latest), read after the last redrive. An approval scheduled before a `*StateAborted` event
/// is not waiting: the abort names no state, and in a stepback machine it stops every state that runs (a failing
/// sibling branch stops the others; a stopped execution stops all).
pub fn waiting_approvals(events: &[HistoryEvent]) -> Vec<Waiting> {
    let events = since_redrive(events);
    let by_id: HashMap<i64, &HistoryEvent> = events.iter().map(|e| (e.id(), e)).collect();
    let last_abort = events
        .iter()
        .filter(|e| e.r#type().as_str().ends_with("StateAborted"))
        .map(HistoryEvent::id)
        .max();
    let mut scheduled: BTreeMap<i64, Waiting> = BTreeMap::new();
    for event in events {
        let Some(details) = event.task_scheduled_event_details() else {
            continue;
        };
        if last_abort.is_some_and(|abort| event.id() < abort) {
            continue;
        }
        let parameters: Json = serde_json::from_str(details.parameters()).unwrap_or(Json::Null);
        let payload = &parameters["Payload"];
        let (Some(token), Some(step)) = (
            payload["task_token"].as_str(),
            payload["execution"]["step"].as_str(),
        ) else {
            continue;
        };
        scheduled.insert(
            event.id(),
            Waiting {
                step: step.to_owned(),
                token: token.to_owned(),
            },
        );
    }
    let task_ended = |t: &HistoryEventType| {
        matches!(
            t,
            HistoryEventType::TaskSucceeded
                | HistoryEventType::TaskFailed
                | HistoryEventType::TaskTimedOut
                | HistoryEventType::TaskSubmitFailed
                | HistoryEventType::TaskStartFailed
        )
    };
    for event in events.iter().filter(|e| task_ended(e.r#type())) {
        // The answer's chain of previous events leads back to the task it answers.
        let mut id = event.previous_event_id();
        while let Some(previous) = by_id.get(&id) {
            if scheduled.remove(&previous.id()).is_some() {
                break;
            }
            id = previous.previous_event_id();
        }
    }
    if ended(events).is_some() {
        return Vec::new();
    }
    // One token per step: its latest schedule, in the order they were scheduled.
    let mut waiting: Vec<Waiting> = Vec::new();
    for latest in scheduled.into_values() {
        waiting.retain(|earlier| earlier.step != latest.step);
        waiting.push(latest);
    }
    waiting
}

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{
        ExecutionRedrivenEventDetails, StateEnteredEventDetails, TaskScheduledEventDetails,
    };

    use super::*;

    /// `start` and `deploy` print the console of the machine's partition, which an ARN names.
    #[test]
    fn console_url_is_the_partitions() {
        for (arn, url) in [
            (
                "arn:aws:states:eu-west-1:1:stateMachine:m",
                "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/statemachines/view/arn:aws:states:eu-west-1:1:stateMachine:m",
            ),
            (
                "arn:aws-cn:states:cn-north-1:1:execution:m:r",
                "https://console.amazonaws.cn/states/home?region=cn-north-1#/executions/details/arn:aws-cn:states:cn-north-1:1:execution:m:r",
            ),
            (
                "arn:aws-us-gov:states:us-gov-west-1:1:stateMachine:m",
                "https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1#/statemachines/view/arn:aws-us-gov:states:us-gov-west-1:1:stateMachine:m",
            ),
        ] {
            assert_eq!(console_url(arn), url);
        }
    }

    /// An event as `GetExecutionHistory` gives it, with the details this module reads.
    fn event(
        id: i64,
        previous: i64,
        kind: &str,
    ) -> aws_sdk_sfn::types::builders::HistoryEventBuilder {
        HistoryEvent::builder()
            .id(id)
            .previous_event_id(previous)
            .timestamp(DateTime::from_secs(1_700_000_000 + id))
            .r#type(HistoryEventType::from(kind))
    }

    fn built(event: aws_sdk_sfn::types::builders::HistoryEventBuilder) -> HistoryEvent {
        event.build().expect("an event")
    }

    /// An approval's task state entered and its `lambda:invoke.waitForTaskToken` scheduled with `token`.
    fn approval(first: i64, previous: i64, token: &str) -> Vec<HistoryEvent> {
        let parameters = serde_json::json!({
            "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:approval",
            "Payload": { "task_token": token, "execution": { "step": "approve_restore" } },
        });
        vec![
            built(
                event(first, previous, "TaskStateEntered").state_entered_event_details(
                    StateEnteredEventDetails::builder()
                        .name("approve_restore")
                        .build()
                        .expect("entered"),
                ),
            ),
            built(
                event(first + 1, first, "TaskScheduled").task_scheduled_event_details(
                    TaskScheduledEventDetails::builder()
                        .resource_type("lambda")
                        .resource("invoke.waitForTaskToken")
                        .region("us-east-1")
                        .parameters(parameters.to_string())
                        .build()
                        .expect("scheduled"),
                ),
            ),
            built(event(first + 2, first + 1, "TaskStarted")),
        ]
    }

    fn tokens(events: &[HistoryEvent]) -> Vec<String> {
        waiting_approvals(events)
            .into_iter()
            .map(|w| w.token)
            .collect()
    }

    #[test]
    fn an_approval_waits_until_answered_or_its_task_fails_to_start() {
        let mut events = vec![built(event(1, 0, "ExecutionStarted"))];
        events.extend(approval(2, 1, "t1"));
        assert_eq!(tokens(&events), ["t1"]);
        // It follows the schedule: the task never started.
        events.push(built(event(5, 3, "TaskStartFailed")));
        assert!(
            tokens(&events).is_empty(),
            "a task that failed to start waits for nothing"
        );
    }

    /// A sibling branch fails: Step Functions aborts the approval's state with a `TaskStateAborted` whose
    /// `previousEventId` is the failing event and that names no state. The approval is not waiting.
    #[test]
    fn an_aborted_approval_is_not_waiting() {
        let mut events = vec![built(event(1, 0, "ExecutionStarted"))];
        events.extend(approval(2, 1, "t1"));
        events.push(built(event(5, 1, "TaskFailed")));
        events.push(built(event(6, 5, "TaskStateAborted")));
        events.push(built(event(7, 5, "ParallelStateFailed")));
        assert!(tokens(&events).is_empty());
        assert_eq!(ended(&events), None, "the failure path still runs");
    }

    /// A redriven execution: the end before `ExecutionRedriven` is not the end, the approval's earlier token is
    /// spent, and the state it reran asks with one token.
    #[test]
    fn a_redriven_execution_is_read_after_its_last_redrive() {
        let mut events = vec![built(event(1, 0, "ExecutionStarted"))];
        events.extend(approval(2, 1, "before"));
        events.push(built(event(5, 4, "TaskStateAborted")));
        events.push(built(event(6, 5, "ExecutionAborted")));
        assert_eq!(ended(&events), Some(false));
        events.push(built(
            event(7, 6, "ExecutionRedriven").execution_redriven_event_details(
                ExecutionRedrivenEventDetails::builder()
                    .redrive_count(1)
                    .build(),
            ),
        ));
        assert_eq!(ended(&events), None);
        events.extend(approval(8, 7, "after"));
        assert_eq!(tokens(&events), ["after"]);
        events.extend(approval(11, 10, "again"));
        assert_eq!(tokens(&events), ["again"], "one token per step, its latest");
    }

    /// Pages as Step Functions returns them with `reverseOrder` (newest first, 1,000 a page): a read keeps what
    /// is newer than what it has, in order, and stops at the page that reaches it; the emulator's one page,
    /// oldest first whatever was asked, gives the same.
    #[test]
    fn a_followed_history_adds_only_what_is_new_in_order() {
        let page = |ids: std::ops::RangeInclusive<i64>| -> Vec<HistoryEvent> {
            ids.rev()
                .map(|id| built(event(id, id - 1, "PassStateEntered")))
                .collect()
        };
        let mut followed = Followed::default();
        let mut new = Vec::new();
        assert!(
            !newer_than(0, &page(1001..=2000), &mut new),
            "an older page follows"
        );
        newer_than(0, &page(1..=1000), &mut new);
        followed.add(new);
        let ids: Vec<i64> = followed.events.iter().map(HistoryEvent::id).collect();
        assert_eq!(ids, (1..=2000).collect::<Vec<_>>());
        let mut new = Vec::new();
        assert!(
            newer_than(2000, &page(1990..=2003), &mut new),
            "it reaches what it has"
        );
        assert_eq!(new.len(), 3);
        let mut oldest_first = page(1..=2004);
        oldest_first.reverse();
        let mut again = Vec::new();
        newer_than(2000, &oldest_first, &mut again);
        followed.add(again);
        let ids: Vec<i64> = followed.events.iter().map(HistoryEvent::id).collect();
        assert_eq!(ids, (1..=2004).collect::<Vec<_>>());
    }
}
