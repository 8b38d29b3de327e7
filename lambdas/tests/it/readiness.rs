//! `readiness` against moto: the metrics (through the front's CloudWatch bridge), the lock table's item, the
//! topic's notices (a loopback subscriber) and the trigger's rule.

use aws_sdk_eventbridge::types::RuleState;
use serde_json::{Value, json};

use crate::{Aws, Step, output};

/// The rollback's state machine, whose lock table the item is in ([`crate::STATE_MACHINE`]).
const WORKFLOW: &str = "rollback";

/// What the readiness machine hands over: `backup_db`'s check found its instance `verdict`, `deploy`'s found
/// its service ok, in both cases.
fn checks(verdict: &str) -> Value {
    json!([
        {
            "step": "backup_db",
            "cases": ["alarm_start", "defaults"],
            "findings": [{
                "resource": "RDS instance `orders-db`",
                "verdict": verdict,
                "detail": if verdict == "ok" { "available" } else { "stopped, not available" },
                "fix": if verdict == "ok" { "" } else { "start it" },
            }],
        },
        {
            "step": "deploy",
            "cases": ["alarm_start", "defaults"],
            "findings": [{ "resource": "ECS service `prod/orders`", "verdict": "ok", "detail": "ACTIVE", "fix": "" }],
        },
    ])
}

async fn rule_state(aws: &Aws) -> Option<RuleState> {
    aws.clients
        .aws(aws_sdk_eventbridge::Client::new)
        .describe_rule()
        .name(WORKFLOW)
        .send()
        .await
        .expect("DescribeRule")
        .state
}

/// Not ready: the metrics say so per step and for the whole, the topic is told once (the same verdict again
/// tells no one) and the disabled trigger stays disabled. Ready: the topic is told, with the steps that were not
/// ready, and the trigger is armed; disabled by hand afterwards, the next ready run leaves it so.
#[tokio::test]
async fn a_run_records_tells_a_change_once_and_arms_the_trigger_once() {
    let aws = crate::check_metric::bridge_cloudwatch(Aws::start().await).await;
    let (topic, subscriber) = crate::notify::topic(&aws).await;
    tests::lock_table(&aws.clients.aws(aws_sdk_dynamodb::Client::new), WORKFLOW).await;
    let events = aws.clients.aws(aws_sdk_eventbridge::Client::new);
    events
        .put_rule()
        .name(WORKFLOW)
        .event_pattern(r#"{"source":["aws.cloudwatch"]}"#)
        .state(RuleState::Disabled)
        .send()
        .await
        .expect("PutRule");
    let run = |verdict: &str| {
        Step::new(
            "readiness",
            json!({ "workflow": WORKFLOW, "checks": checks(verdict), "topic": topic, "rule": WORKFLOW }),
        )
    };

    let not_ready = output(run("not_ready").start(&aws).await);
    assert_eq!(not_ready["ready"], false);
    assert_eq!(not_ready["not_ready"], json!(["backup_db"]));
    output(run("not_ready").start(&aws).await);
    let told = crate::notify::delivered(&subscriber);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0]["Subject"],
        "stepback: rollback could not run: backup_db"
    );
    let message = told[0]["Message"].as_str().unwrap_or_default();
    for expected in [
        "backup_db (as an alarm would start it, and with the input's defaults)",
        "not ready  RDS instance `orders-db`: stopped, not available",
        "fix: start it",
        "Ready: deploy.",
        "The alarm trigger (EventBridge rule `rollback`) stays disabled until every step can run.",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing: {message}"
        );
    }
    assert_eq!(rule_state(&aws).await, Some(RuleState::Disabled));
    let metrics = aws
        .clients
        .aws(aws_sdk_cloudwatch::Client::new)
        .list_metrics()
        .namespace(catalog::readiness::NAMESPACE)
        .send()
        .await
        .expect("ListMetrics");
    let mut series: Vec<Vec<String>> = metrics
        .metrics()
        .iter()
        .map(|m| {
            m.dimensions()
                .iter()
                .map(|d| {
                    format!(
                        "{}={}",
                        d.name().unwrap_or_default(),
                        d.value().unwrap_or_default()
                    )
                })
                .collect()
        })
        .collect();
    // moto 5.2.5 lists a metric with two dimensions once per datapoint.
    series.sort();
    series.dedup();
    assert_eq!(
        series,
        [
            vec!["Workflow=rollback"],
            vec!["Workflow=rollback", "Step=backup_db"],
            vec!["Workflow=rollback", "Step=deploy"],
        ]
    );

    let ready = output(run("ok").start(&aws).await);
    assert_eq!(ready["ready"], true);
    let told = crate::notify::delivered(&subscriber);
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[1]["Subject"], "stepback: rollback is ready");
    let message = told[1]["Message"].as_str().unwrap_or_default();
    for expected in [
        "rollback can run: the readiness checks of all 2 steps passed",
        "Not ready since ",
        ": backup_db.",
        "The alarm trigger (EventBridge rule `rollback`) is armed now",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing: {message}"
        );
    }
    assert_eq!(rule_state(&aws).await, Some(RuleState::Enabled));

    events
        .disable_rule()
        .name(WORKFLOW)
        .send()
        .await
        .expect("DisableRule");
    output(run("ok").start(&aws).await);
    assert_eq!(rule_state(&aws).await, Some(RuleState::Disabled));
    assert_eq!(crate::notify::delivered(&subscriber).len(), 2);
}
