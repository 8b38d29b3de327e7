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

#[tokio::test]
async fn passes_when_only_this_execution_runs() {
    let aws = Aws::start().await;
    running(&aws, &["run-1"]).await;
    let out = output(Step::new("guard", json!({})).run(&aws).await);
    assert_eq!(out["running"], 1);
}

#[tokio::test]
async fn another_running_execution_is_already_running() {
    let aws = Aws::start().await;
    let arns = running(&aws, &["run-0", "run-1"]).await;
    let failure = error(Step::new("guard", json!({})).start(&aws).await);
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
    let out = output(Step::new("guard", json!({})).run(&aws).await);
    assert_eq!(out["running"], 1);
}
