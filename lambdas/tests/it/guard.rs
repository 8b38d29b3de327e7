//! `guard` against moto's Step Functions: executions stay RUNNING until stopped.

use catalog::ErrorName;
use serde_json::json;

use crate::{Aws, STATE_MACHINE, Step, error, output};

/// The state machine `rollback` with `names` running; returns their execution ARNs.
async fn running(aws: &Aws, names: &[&str]) -> Vec<String> {
    let sfn = &aws.clients.aws(aws_sdk_sfn::Client::new);
    let definition = json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let machine = sfn
        .create_state_machine()
        .name("rollback")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/stepback")
        .send()
        .await
        .expect("state machine");
    assert_eq!(machine.state_machine_arn(), STATE_MACHINE);
    let mut arns = Vec::new();
    for name in names {
        let started = sfn
            .start_execution()
            .state_machine_arn(STATE_MACHINE)
            .name(*name)
            .send()
            .await
            .expect("start");
        arns.push(started.execution_arn().to_owned());
    }
    arns
}

/// The params the compiler sends for a workflow declaring two inputs, given only declared keys.
fn clean() -> serde_json::Value {
    json!({ "declared": ["restore_data", "restore_snapshot"], "input": { "restore_data": false } })
}

#[tokio::test]
async fn passes_when_only_this_execution_runs() {
    let aws = Aws::start().await;
    running(&aws, &["run-1"]).await;
    let out = output(Step::new("guard", clean()).run(&aws).await);
    assert_eq!(out["running"], 1);
}

/// Two alarms at once: both executions see each other, and exactly one, the older, proceeds.
#[tokio::test]
async fn the_oldest_running_execution_proceeds_and_the_others_name_it() {
    let aws = Aws::start().await;
    let arns = running(&aws, &["run-0", "run-1", "run-2"]).await;
    let oldest = Step::new("guard", clean()).in_execution("run-0");
    assert_eq!(output(oldest.run(&aws).await)["running"], 3);
    for newer in ["run-1", "run-2"] {
        let failure = error(
            Step::new("guard", clean())
                .in_execution(newer)
                .start(&aws)
                .await,
        );
        assert_eq!(failure.name, ErrorName::AlreadyRunning, "{failure}");
        assert!(
            failure
                .message
                .starts_with("another rollback is running: execution `run-0` of state machine"),
            "{failure}"
        );
        assert!(!failure.message.contains(newer), "{failure}");
    }
    // An execution that ListExecutions does not show yet started last: it yields too.
    let unlisted = error(
        Step::new("guard", clean())
            .in_execution("run-9")
            .start(&aws)
            .await,
    );
    assert_eq!(unlisted.name, ErrorName::AlreadyRunning, "{unlisted}");
    assert!(unlisted.message.contains("`run-0`"), "{unlisted}");
    // Once the oldest stops, the next oldest proceeds.
    aws.clients
        .aws(aws_sdk_sfn::Client::new)
        .stop_execution()
        .execution_arn(&arns[0])
        .send()
        .await
        .expect("stop");
    let next = Step::new("guard", clean()).in_execution("run-1");
    assert_eq!(output(next.run(&aws).await)["running"], 2);
    let failure = error(
        Step::new("guard", clean())
            .in_execution("run-2")
            .start(&aws)
            .await,
    );
    assert!(failure.message.contains("`run-1`"), "{failure}");
}

#[tokio::test]
async fn an_older_running_execution_is_already_running() {
    let aws = Aws::start().await;
    let arns = running(&aws, &["run-0", "run-1"]).await;
    let failure = error(Step::new("guard", clean()).start(&aws).await);
    assert_eq!(failure.name, ErrorName::AlreadyRunning, "{failure}");
    assert!(
        failure.message.contains("run-0") && !failure.message.contains("run-1"),
        "{failure}"
    );
    // Once the other one stops, the guard passes.
    aws.clients
        .aws(aws_sdk_sfn::Client::new)
        .stop_execution()
        .execution_arn(&arns[0])
        .send()
        .await
        .expect("stop");
    let out = output(Step::new("guard", clean()).run(&aws).await);
    assert_eq!(out["running"], 1);
}

/// A misspelt key would leave the declared input at its default: the guard refuses the input before it looks at
/// other executions, naming the key and the declared name it is closest to.
#[tokio::test]
async fn an_undeclared_input_is_refused_naming_the_closest_declared_one() {
    let aws = Aws::start().await;
    running(&aws, &["run-0", "run-1"]).await;
    let params = json!({
        "declared": ["restore_data", "restore_snapshot", "reason"],
        "input": { "restor_data": true, "restore_snapshot": "snap-1", "reason": "manual", "zzz": 1 },
    });
    let failure = error(Step::new("guard", params).start(&aws).await);
    assert_eq!(failure.name, ErrorName::InvalidInput, "{failure}");
    assert_eq!(
        failure.message,
        "the input has keys that [input] does not declare: `restor_data` (did you mean `restore_data`?), \
         `zzz`; it declares: restore_data, restore_snapshot, reason"
    );
}

/// An input longer than its `max_length` is refused before the guard looks at other executions: the state data's
/// bound counts every input at it. A `"` counts twice, as the state holds it escaped.
#[tokio::test]
async fn an_input_longer_than_its_max_length_is_refused() {
    let aws = Aws::start().await;
    running(&aws, &["run-1"]).await;
    let params = |reason: &str| {
        json!({
            "declared": ["reason", "hosts", "restore_data"],
            "max_lengths": { "reason": 10, "hosts": 12 },
            "input": { "reason": reason, "hosts": ["a", "b"], "restore_data": true },
        })
    };
    let out = output(Step::new("guard", params("0123456789")).run(&aws).await);
    assert_eq!(out["running"], 1, "10 bytes pass a max_length of 10");
    let failure = error(Step::new("guard", params("012345678\"")).start(&aws).await);
    assert_eq!(failure.name, ErrorName::InvalidInput, "{failure}");
    assert_eq!(
        failure.message,
        "the input is too long: `reason` is 11 bytes long, over its max_length of 10"
    );
}

/// A flapping alarm: its event, within `[trigger].cooldown` of another execution's end, does not act. The guard
/// tells `[trigger].topic`, naming that execution and how it ended; a person's start, or the same alarm once the
/// cooldown has passed, proceeds.
#[tokio::test]
async fn an_alarm_within_the_cooldown_of_the_last_end_does_not_act() {
    let aws = Aws::start().await;
    let (topic, subscriber) = crate::notify::topic(&aws).await;
    let sfn = aws.clients.aws(aws_sdk_sfn::Client::new);
    let arns = running(&aws, &["rolled-back"]).await;
    sfn.stop_execution()
        .execution_arn(&arns[0])
        .send()
        .await
        .expect("stop");
    sfn.start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("run-1")
        .send()
        .await
        .expect("start");
    let with_trigger = |started_with: serde_json::Value, cooldown: u64| {
        let mut params = clean();
        params["started_with"] = started_with;
        params["cooldown"] = json!(cooldown);
        params["topic"] = json!(topic);
        Step::new("guard", params)
    };
    let alarm = tests::alarm_event("webapp-5xx-rate", "ALARM", tests::ALARM_REASON);
    crate::check_ok(&aws, &with_trigger(alarm.clone(), 3600)).await;

    let held = error(with_trigger(alarm.clone(), 3600).start(&aws).await);
    assert_eq!(held.name, ErrorName::CoolingDown, "{held}");
    for expected in [
        "a rollback already ran: execution `rolled-back` of state machine",
        "ended ABORTED at ",
        ", 0 minute(s) before alarm `webapp-5xx-rate` started this one",
        "within [trigger].cooldown (1h)",
        &format!("(told SNS topic `{topic}`)"),
    ] {
        assert!(
            held.message.contains(expected),
            "{expected:?} missing: {held}"
        );
    }
    let told = crate::notify::delivered(&subscriber);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0]["Subject"],
        "Rollback not started: webapp-5xx-rate fired within the cooldown"
    );
    let message = told[0]["Message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("a rollback already ran: execution `rolled-back`"),
        "{message}"
    );

    // A person's start (any input but an alarm's event) is never held back.
    let console = output(
        with_trigger(json!({"restore_data": true}), 3600)
            .run(&aws)
            .await,
    );
    assert_eq!(console["running"], 1);
    // Past the cooldown, the alarm acts.
    let late = Step::new("guard", {
        let mut params = clean();
        params["started_with"] = alarm;
        params["cooldown"] = json!(1);
        params
    });
    // run-1 started before the sleep, so a later execution is needed for "begins after the cooldown".
    sfn.stop_execution()
        .execution_arn(late.execution_arn())
        .send()
        .await
        .expect("stop run-1");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sfn.start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("run-2")
        .send()
        .await
        .expect("start");
    let late = late.in_execution("run-2");
    assert_eq!(output(late.run(&aws).await)["running"], 1);
    assert_eq!(crate::notify::delivered(&subscriber).len(), 1);
}
