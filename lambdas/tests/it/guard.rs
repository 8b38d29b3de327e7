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
