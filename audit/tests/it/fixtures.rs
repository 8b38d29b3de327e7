//! `tests/data/*.json`: histories that moto's interpreter recorded running the compiled webapp example (saved by
//! `tests/tests/state_machine` with `STEPBACK_SAVE_HISTORIES=1`); `tests/data/hand/*.json`: histories written by
//! hand for what moto cannot do, or recorded with fake functions for what the real handlers cannot be made to do
//! (hang past a timeout), each saying so in its `_comment`, with its source. Each audit is snapshotted as text and
//! JSON. Adding a case means adding a file.

use std::path::Path;

use serde_json::Value;

fn check(path: &Path) {
    let report = crate::audit(path);
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("history");
    insta::assert_snapshot!(format!("{name}.text"), audit::render::text(&report));
    insta::assert_snapshot!(format!("{name}.json"), audit::render::json(&report));
}

#[test]
fn recorded_histories() {
    let mut count = 0;
    insta::glob!("../data", "*.json", |path| {
        check(path);
        count += 1;
    });
    assert!(count >= 6, "recorded histories went missing: {count}");
}

/// `hand/redriven.json` was written by hand from the Step Functions API reference (`GetExecutionHistory`,
/// `HistoryEvent`, `ExecutionRedrivenEventDetails`) and the developer guide's "Redriving executions", since
/// moto does not redrive: an execution stopped while `deploy` waited, then redriven from that state.
/// `hand/sibling-late-success.json` is `sibling-late.json` with backup_db's snapshot answering done after drain
/// failed, which moto allows (it does not cancel a failed Parallel's other branches) and Step Functions does not.
/// `hand/aborted-sibling.json`, `hand/redriven-failure.json`, `hand/cut-short.json` and
/// `hand/no-execution-data.json` are recorded histories rewritten as Step Functions writes them (each file's
/// `_comment` says how, and from which reference).
#[test]
fn hand_written_histories() {
    insta::glob!("../data/hand", "*.json", check);
}

/// The post-mortem's copy: the same report as Markdown tables and lists.
#[test]
fn markdown() {
    let report = crate::audit(&crate::data("fail-deploy.json"));
    insta::assert_snapshot!(audit::render::markdown(&report));
}

/// moto let `backup_db`'s branch run on after `drain` failed in the other branch, until its poll loop's Wait;
/// Step Functions would have stopped it at once (issue 14).
#[test]
fn a_sibling_that_ran_on_after_a_failure_is_marked() {
    let report = crate::audit(&crate::data("sibling-late.json"));
    let backup = report
        .steps
        .iter()
        .find(|s| s.id == "backup_db")
        .expect("backup_db");
    assert_eq!(backup.outcome, audit::Outcome::Stopped);
    assert!(backup.after_failure);
    assert_eq!(
        report.failure.as_ref().and_then(|f| f.step.as_deref()),
        Some("drain")
    );
}

/// A sibling that succeeded after the failure is not shown as part of the failed run without saying so; the
/// `ParallelStateFailed` that follows the failed branch's last event is the Parallel's, not the failed step's.
#[test]
fn a_sibling_that_succeeded_after_a_failure_is_marked_late() {
    let report = crate::audit(&crate::data("hand/sibling-late-success.json"));
    let backup = report
        .steps
        .iter()
        .find(|s| s.id == "backup_db")
        .expect("backup_db");
    assert_eq!(backup.outcome, audit::Outcome::Succeeded);
    assert!(backup.after_failure);
    assert!(audit::render::text(&report).contains("succeeded (late)"));
}

#[test]
fn a_redrive_shows_what_ran_again() {
    let report = crate::audit(&crate::data("hand/redriven.json"));
    assert_eq!(report.execution.status, "SUCCEEDED");
    assert_eq!(report.redrives.len(), 1);
    assert_eq!(report.redrives[0].count, Some(1));
    assert_eq!(report.redrives[0].rerun, ["deploy"]);
    let deploy = report
        .steps
        .iter()
        .find(|s| s.id == "deploy")
        .expect("deploy");
    assert_eq!(deploy.outcome, audit::Outcome::Succeeded);
    assert_eq!(deploy.attempts, 2, "one start retried after a throttle");
    assert_eq!(deploy.polls, 1);
    assert_eq!(
        deploy.retries[0].error.as_deref(),
        Some("Stepback.Transient")
    );
}

/// A timeout, as Step Functions writes it, says its error and cause in the audit and in the failure notice:
/// `task-timed-out`, a task past its `TimeoutSeconds` (`TaskTimedOut`, then a Catch whose `Cause` is empty,
/// which the step's "timed out" state fills); `poll-timed-out`, a poll loop past its timeout, quoting what its
/// last poll saw. The notice is the message the interpreter gave `tell` (`${failure.step|error|cause}`).
#[test]
fn a_timeout_says_its_error_and_cause() {
    for (file, step, error, cause) in [
        (
            "hand/task-timed-out.json",
            "halt",
            "States.Timeout",
            "halt did not finish within 2s",
        ),
        (
            "hand/poll-timed-out.json",
            "healthy",
            "Stepback.Timeout",
            "healthy did not finish within 15s (3 polls); the last poll saw: HTTP 503 from \
             https://web.example.com/health; 0 of 1 answers in a row as expected",
        ),
    ] {
        let report = crate::audit(&crate::data(file));
        let failure = report.failure.as_ref().expect("a failure");
        assert_eq!(
            (failure.step.as_deref(), failure.error.as_deref()),
            (Some(step), Some(error)),
            "{file}"
        );
        assert_eq!(failure.cause.as_deref(), Some(cause), "{file}");
        let text = audit::render::text(&report);
        assert!(
            text.contains(&format!("step {step} failed: {error}: {cause}\n")),
            "{text}"
        );
        let history: Value =
            serde_json::from_str(&std::fs::read_to_string(crate::data(file)).expect("the history"))
                .expect("JSON");
        assert_eq!(
            notices(&history),
            [format!("Step {step} failed: {error}: {cause}")],
            "{file}"
        );
    }
}

/// An empty `Cause` counts as none. The history of a machine that hands the Catch's error output of a timeout on
/// as it is (compiled before the step's "timed out" state existed, or an error with no cause at all): the task's
/// `TaskTimedOut` with `cause: ""`, the failure with `Cause: ""`. The audit says the error alone, and JSON's
/// `cause` is null, never `""`.
#[test]
fn an_empty_cause_counts_as_none() {
    let text = std::fs::read_to_string(crate::data("hand/task-timed-out.json")).expect("history");
    let mut history: Value = serde_json::from_str(&text).expect("JSON");
    let events = history["events"].as_array_mut().expect("events");
    events.retain(|e| {
        let name = |details: &str| e[details]["name"].as_str();
        name("stateEnteredEventDetails") != Some("halt: timed out")
            && name("stateExitedEventDetails") != Some("halt: timed out")
    });
    for event in events.iter_mut() {
        if event["type"] == "TaskTimedOut" {
            event["taskTimedOutEventDetails"]["cause"] = "".into();
        }
    }
    let without = history
        .to_string()
        .replace("halt did not finish within 2s", "");
    let report = audit::audit_json(&without).expect("it audits");
    let failure = report.failure.as_ref().expect("a failure");
    assert_eq!(failure.error.as_deref(), Some("States.Timeout"));
    assert_eq!(failure.cause, None);
    let halt = report.steps.iter().find(|s| s.id == "halt").expect("halt");
    assert_eq!(halt.cause, None);
    let text = audit::render::text(&report);
    assert!(
        text.contains("step halt failed: States.Timeout\n")
            && text.contains("      error States.Timeout\n"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&audit::render::json(&report)).expect("JSON");
    assert_eq!(json["failure"]["cause"], Value::Null);
}

/// The messages that the history's `notify` tasks were scheduled to publish.
fn notices(history: &Value) -> Vec<String> {
    history["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["taskScheduledEventDetails"]["parameters"].as_str())
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .filter(|p| p["Payload"]["action"] == "notify")
        .filter_map(|p| {
            p["Payload"]["params"]["message"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// The critical path of every history, recorded and hand-written: never longer than the execution, and never
/// through a step that was skipped (it took no time and held nothing up) or that ran on after the execution ended
/// (moto lets a failed Parallel's other branch run on: `sibling-late`).
#[test]
fn the_critical_path_lies_within_the_execution() {
    let mut checked = 0;
    for dir in ["../data", "../data/hand"] {
        insta::glob!(dir, "*.json", |path| {
            let report = crate::audit(path);
            let path_ms = report.critical_path.total_ms;
            let name = path.display();
            if let Some(duration) = report.execution.duration_ms {
                assert!(path_ms <= duration, "{name}: {path_ms} ms of {duration} ms");
            }
            for on_path in &report.critical_path.steps {
                let step = report.steps.iter().find(|s| s.id == on_path.step);
                assert!(
                    step.is_some_and(|s| s.outcome != audit::Outcome::Skipped && !s.after_failure),
                    "{name}: {} is on the path: {step:?}",
                    on_path.step
                );
            }
            let walked: u64 = report
                .critical_path
                .steps
                .iter()
                .map(|s| s.waited_ms + s.duration_ms)
                .sum();
            assert_eq!(walked, path_ms, "{name}");
            checked += 1;
        });
    }
    assert!(checked >= 10, "histories went missing: {checked}");
}

/// Step Functions stops a failed Parallel's other branches: backup_db's running task gets a `TaskStateAborted`
/// whose `previousEventId` is drain's failing branch, and names no state. Read while the failure path runs, the
/// aborted step is stopped, not running, and the failure is drain's.
#[test]
fn a_sibling_aborted_by_a_failed_branch_is_stopped_not_running() {
    let report = crate::audit(&crate::data("hand/aborted-sibling.json"));
    assert_eq!(report.execution.status, "RUNNING");
    let outcome = |id: &str| {
        report
            .steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.outcome)
            .expect("the step")
    };
    assert_eq!(outcome("backup_db"), audit::Outcome::Stopped);
    assert_eq!(outcome("drain"), audit::Outcome::Failed);
    assert_eq!(outcome("announce_failure"), audit::Outcome::Running);
}

/// Redriving a failed rollback reruns only its final Fail state ("continues the failed execution from the
/// unsuccessful step"): it fails again at once, with the same error, and no step runs again.
#[test]
fn a_redriven_failed_rollback_fails_again_and_reruns_no_step() {
    let report = crate::audit(&crate::data("hand/redriven-failure.json"));
    assert_eq!(report.execution.status, "FAILED");
    assert_eq!(report.redrives.len(), 1);
    assert!(report.redrives[0].rerun.is_empty(), "{:?}", report.redrives);
    assert_eq!(
        report.failure.as_ref().and_then(|f| f.step.as_deref()),
        Some("drain")
    );
    assert!(audit::render::text(&report).contains("ran again nothing"));
}

/// A history saved cut short, or without execution data, is not audited as if whole: the report says what is
/// missing, first.
#[test]
fn a_history_cut_short_or_without_data_says_so() {
    for (name, expected) in [
        (
            "hand/cut-short.json",
            "saved cut short (a `nextToken` in the file)",
        ),
        (
            "hand/no-execution-data.json",
            "saved without execution data",
        ),
        ("fail-drain.json", ""),
    ] {
        let report = crate::audit(&crate::data(name));
        let text = audit::render::text(&report);
        if expected.is_empty() {
            assert!(report.gaps.is_empty(), "{name}: {:?}", report.gaps);
            assert!(!text.contains("Missing from the history"), "{name}");
            continue;
        }
        assert_eq!(report.gaps.len(), 1, "{name}: {:?}", report.gaps);
        assert!(
            report.gaps[0].contains(expected),
            "{name}: {}",
            report.gaps[0]
        );
        let missing = text.find("Missing from the history").expect("the section");
        assert!(
            missing < text.find("Steps, in DAG order").expect("the steps"),
            "{name}: first"
        );
    }
}
