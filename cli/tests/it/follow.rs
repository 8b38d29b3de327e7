//! What `start --follow` shows of an execution, from histories as Step Functions writes them (the audit's
//! `tests/data/hand`): the same `execution::step_events` reads the SDK's events for `start --follow` and
//! `rehearse`, and each event prints as its `Display` (`<step> failed: <error>: <cause>`).

use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{
    HistoryEvent, HistoryEventType, StateEnteredEventDetails, StateExitedEventDetails,
    TaskFailedEventDetails, TaskTimedOutEventDetails,
};
use catalog::manifest::Manifest;
use cli::execution::{StepEvent, step_events};
use serde_json::Value;

use crate::root;

/// The history at `audit/tests/data/<name>` as the SDK's `GetExecutionHistory` gives it, and its manifest.
fn history(history: &Value) -> (Manifest, Vec<HistoryEvent>) {
    let definition: Value =
        serde_json::from_str(history["definition"].as_str().expect("a definition")).expect("JSON");
    let manifest = definition["Comment"]
        .as_str()
        .and_then(Manifest::from_comment)
        .and_then(Result::ok)
        .expect("stepback's manifest");
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let events = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            let seconds = e["timestamp"]
                .as_f64()
                .expect("epoch seconds, as moto writes them");
            let entered = &e["stateEnteredEventDetails"];
            let exited = &e["stateExitedEventDetails"];
            let failed = &e["taskFailedEventDetails"];
            let timed_out = &e["taskTimedOutEventDetails"];
            HistoryEvent::builder()
                .timestamp(DateTime::from_secs_f64(seconds))
                .r#type(HistoryEventType::from(e["type"].as_str().expect("a type")))
                .id(e["id"].as_i64().expect("an id"))
                .previous_event_id(e["previousEventId"].as_i64().unwrap_or_default())
                .set_state_entered_event_details(entered.is_object().then(|| {
                    StateEnteredEventDetails::builder()
                        .name(entered["name"].as_str().unwrap_or_default())
                        .set_input(text(&entered["input"]))
                        .build()
                        .expect("entered")
                }))
                .set_state_exited_event_details(exited.is_object().then(|| {
                    StateExitedEventDetails::builder()
                        .name(exited["name"].as_str().unwrap_or_default())
                        .set_output(text(&exited["output"]))
                        .build()
                        .expect("exited")
                }))
                .set_task_failed_event_details(failed.is_object().then(|| {
                    TaskFailedEventDetails::builder()
                        .resource_type("lambda")
                        .resource("invoke")
                        .set_error(text(&failed["error"]))
                        .set_cause(text(&failed["cause"]))
                        .build()
                        .expect("failed")
                }))
                .set_task_timed_out_event_details(timed_out.is_object().then(|| {
                    TaskTimedOutEventDetails::builder()
                        .resource_type("lambda")
                        .resource("invoke")
                        .set_error(text(&timed_out["error"]))
                        .set_cause(text(&timed_out["cause"]))
                        .build()
                        .expect("timed out")
                }))
                .build()
                .expect("an event")
        })
        .collect();
    (manifest, events)
}

fn read(name: &str) -> Value {
    let path = root().join("audit/tests/data").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the history")).expect("JSON")
}

/// The lines `start --follow` prints for `history`'s steps (without their times).
fn followed(history: &Value) -> Vec<String> {
    let (manifest, events) = self::history(history);
    step_events(&manifest, &events)
        .into_iter()
        .map(|(step, event, _)| format!("{step} {event}"))
        .collect()
}

/// A task past its `TimeoutSeconds` (its Catch's `Cause` empty) and a poll loop past its timeout each end in a
/// line that names the error and the cause; a skipped step is only skipped.
#[test]
fn a_timeout_is_followed_with_its_error_and_cause() {
    assert_eq!(
        followed(&read("hand/task-timed-out.json")),
        [
            "halt running",
            "halt failed: States.Timeout: halt did not finish within 2s",
            "tell running",
            "tell done",
        ]
    );
    assert_eq!(
        followed(&read("hand/poll-timed-out.json")),
        [
            "halt skipped",
            "healthy running",
            "healthy polling 1",
            "healthy polling 2",
            "healthy polling 3",
            "healthy failed: Stepback.Timeout: healthy did not finish within 15s (3 polls); the last poll \
             saw: HTTP 503 from https://web.example.com/health; 0 of 1 answers in a row as expected",
            "tell running",
            "tell done",
        ]
    );
}

/// An empty `Cause` counts as none: a failure handed on as the Catch stored a timeout (`Cause: ""`, no state
/// naming the timeout) is followed as its error alone, with no `: ` after it.
#[test]
fn an_empty_cause_is_followed_as_the_error_alone() {
    let mut history = read("hand/task-timed-out.json");
    let events = history["events"].as_array_mut().expect("events");
    events.retain(|e| {
        let name = |details: &str| e[details]["name"].as_str();
        name("stateEnteredEventDetails") != Some("halt: timed out")
            && name("stateExitedEventDetails") != Some("halt: timed out")
    });
    let without: Value = serde_json::from_str(
        &history
            .to_string()
            .replace("halt did not finish within 2s", ""),
    )
    .expect("JSON");
    let lines = followed(&without);
    assert!(
        lines.contains(&"halt failed: States.Timeout".to_owned()),
        "{lines:#?}"
    );
    let failed = lines
        .iter()
        .filter(|l| l.starts_with("halt failed"))
        .count();
    assert_eq!(failed, 1, "{lines:#?}");
    assert_eq!(StepEvent::Failed(String::new()).to_string(), "failed");
}
