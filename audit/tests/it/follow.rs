//! What `start --follow` and `rehearse` show of an execution, from histories as Step Functions writes them:
//! [`audit::step_events`] reads the events the audit reads, and each prints as its `Display`
//! (`<step> failed: <error>: <cause>`).

use audit::{History, StepEvent, step_events};
use serde_json::Value;

fn read(name: &str) -> Value {
    let text = std::fs::read_to_string(crate::data(name)).expect("the history");
    serde_json::from_str(&text).expect("JSON")
}

/// The lines `start --follow` prints for `history`'s steps (without their times).
fn followed(history: &Value) -> Vec<String> {
    let history = History::from_json(&history.to_string()).expect("a history");
    let manifest = history.manifest().expect("stepback's manifest");
    step_events(&manifest, &history.events)
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

/// Every recorded and hand-written history: a step is followed as it ends in the audit (done for succeeded, failed
/// for failed, skipped only for skipped), and a retried step as many times as the audit counts its retries. One
/// reading of the events serves both.
#[test]
fn every_history_is_followed_as_it_is_audited() {
    let mut count = 0;
    insta::glob!("../data", "**/*.json", |path| {
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let history = History::from_json(&text).expect("a history");
        let report = audit::audit(&history).expect("an audit");
        let manifest = history.manifest().expect("a manifest");
        let events = step_events(&manifest, &history.events);
        for step in &report.steps {
            let seen: Vec<&StepEvent> = events
                .iter()
                .filter(|(s, ..)| *s == step.id)
                .map(|(_, e, _)| e)
                .collect();
            let retried = seen
                .iter()
                .filter(|e| matches!(e, StepEvent::Retried(_)))
                .count();
            let name = path.display();
            assert_eq!(retried, step.retries.len(), "{name}: {}", step.id);
            let last = seen.last();
            match step.outcome {
                audit::Outcome::Skipped => {
                    assert_eq!(seen, [&StepEvent::Skipped], "{name}: {}", step.id)
                }
                audit::Outcome::Succeeded => {
                    assert_eq!(last, Some(&&StepEvent::Succeeded), "{name}: {}", step.id)
                }
                audit::Outcome::Failed | audit::Outcome::FailedContinued => assert!(
                    matches!(last, Some(StepEvent::Failed(_))),
                    "{name}: {}: {seen:?}",
                    step.id
                ),
                audit::Outcome::NeverReached => assert!(seen.is_empty(), "{name}: {}", step.id),
                _ => {}
            }
        }
        count += 1;
    });
    assert!(count >= 10, "histories went missing: {count}");
}
