//! `tests/data/*.json`: histories that moto's interpreter recorded running the compiled webapp example (saved by
//! `tests/tests/state_machine` with `STEPBACK_SAVE_HISTORIES=1`); `tests/data/hand/*.json`: histories written by
//! hand for what moto cannot do, each saying so and from which document. Each audit is snapshotted as text and
//! JSON. Adding a case means adding a file.

use std::path::Path;

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
