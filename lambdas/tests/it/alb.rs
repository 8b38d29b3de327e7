//! `alb.deregister` and `alb.register` against moto.

use aws_sdk_ec2::types::InstanceType;
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetDescription};
use catalog::ErrorName;
use catalog::contract::Status;
use serde_json::{Value, json};

use crate::{Aws, Step, error, output};

/// Two running instances registered in a target group on port 80. Returns the group's ARN and the targets.
async fn target_group(aws: &Aws) -> (String, Vec<String>) {
    let ec2 = &aws.clients.aws(aws_sdk_ec2::Client::new);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.2.0.0/16")
        .send()
        .await
        .expect("vpc")
        .vpc
        .and_then(|v| v.vpc_id);
    let run = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::T3Micro)
        .min_count(2)
        .max_count(2)
        .send()
        .await
        .expect("instances");
    let mut instances: Vec<String> = run
        .instances()
        .iter()
        .filter_map(|i| i.instance_id.clone())
        .collect();
    instances.sort();
    let elb = &aws.clients.aws(aws_sdk_elasticloadbalancingv2::Client::new);
    let group = elb
        .create_target_group()
        .name("web")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .set_vpc_id(vpc)
        .send()
        .await
        .expect("target group");
    let arn = group.target_groups()[0]
        .target_group_arn()
        .expect("arn")
        .to_owned();
    let targets: Vec<_> = instances
        .iter()
        .map(|i| TargetDescription::builder().id(i).port(80).build())
        .collect();
    elb.register_targets()
        .target_group_arn(&arn)
        .set_targets(Some(targets))
        .send()
        .await
        .expect("register");
    (arn, instances.iter().map(|i| format!("{i}:80")).collect())
}

/// `(target, state)` of every target moto lists as registered.
async fn registered(aws: &Aws, group: &str) -> Vec<(String, String)> {
    let health = aws
        .clients
        .aws(aws_sdk_elasticloadbalancingv2::Client::new)
        .describe_target_health()
        .target_group_arn(group)
        .send()
        .await
        .expect("health");
    let mut targets: Vec<_> = health
        .target_health_descriptions()
        .iter()
        .map(|h| {
            let target = h.target().expect("target");
            let state = h
                .target_health()
                .and_then(|t| t.state())
                .map(|s| s.as_str().to_owned());
            (
                format!(
                    "{}:{}",
                    target.id().unwrap_or_default(),
                    target.port().unwrap_or_default()
                ),
                state.unwrap_or_default(),
            )
        })
        .collect();
    targets.sort();
    targets
}

#[tokio::test]
async fn deregister_all_then_register_the_same_targets_again() {
    let aws = Aws::start().await;
    let (group, targets) = target_group(&aws).await;
    let drained = output(
        Step::new("alb.deregister", json!({"target_group": group}))
            .run(&aws)
            .await,
    );
    let mut named: Vec<_> = drained["targets"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    named.sort_unstable();
    assert_eq!(named, targets);
    assert_eq!(registered(&aws, &group).await, []);

    let back = output(
        Step::new(
            "alb.register",
            json!({"target_group": group, "targets": drained["targets"]}),
        )
        .run(&aws)
        .await,
    );
    assert_eq!(back["targets"], drained["targets"]);
    let healthy: Vec<_> = targets
        .iter()
        .map(|t| (t.clone(), "healthy".to_owned()))
        .collect();
    assert_eq!(registered(&aws, &group).await, healthy);
}

#[tokio::test]
async fn a_retried_deregister_start_leaves_the_other_targets_alone() {
    let aws = Aws::start().await;
    let (group, targets) = target_group(&aws).await;
    let step = Step::new(
        "alb.deregister",
        json!({"target_group": group, "targets": [targets[0]]}),
    );
    step.start(&aws).await.expect("first start");
    // moto, unlike ELB, rejects deregistering a target that is not registered: the retry must not try.
    let retried = output(step.run(&aws).await);
    assert_eq!(retried["targets"], json!([targets[0]]));
    assert_eq!(
        registered(&aws, &group).await,
        [(targets[1].clone(), "healthy".to_owned())]
    );
}

#[tokio::test]
async fn a_draining_target_keeps_the_step_waiting() {
    let aws = Aws::start().await;
    let (group, targets) = target_group(&aws).await;
    // moto reports the targets of a terminated instance as draining.
    let instance = targets[0].split_once(':').expect("id:port").0;
    aws.clients
        .aws(aws_sdk_ec2::Client::new)
        .terminate_instances()
        .instance_ids(instance)
        .send()
        .await
        .expect("terminate");
    let step = Step::new(
        "alb.deregister",
        json!({"target_group": group, "targets": [targets[0]]}),
    );
    let started = step.start(&aws).await.expect("started");
    let polled = step
        .poll(&aws, started.state.as_ref())
        .await
        .expect("polled");
    assert_eq!(polled.status, Status::Running);
    let progress = polled.progress.unwrap_or_default();
    assert!(
        progress.contains("0 of 1 targets drained") && progress.contains(&targets[0]),
        "{progress}"
    );
}

#[tokio::test]
async fn a_missing_target_group_is_not_found() {
    let aws = Aws::start().await;
    let group =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/0123456789abcdef";
    let failure = error(
        Step::new(
            "alb.register",
            json!({"target_group": group, "targets": ["i-0abc"]}),
        )
        .start(&aws)
        .await,
    );
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(failure.message.contains(group), "{failure}");
}

#[tokio::test]
async fn a_retried_register_start_registers_each_target_once() {
    let aws = Aws::start().await;
    let (group, targets) = target_group(&aws).await;
    output(
        Step::new("alb.deregister", json!({"target_group": group}))
            .run(&aws)
            .await,
    );
    let step = Step::new(
        "alb.register",
        json!({"target_group": group, "targets": targets}),
    );
    step.start(&aws).await.expect("first start");
    output(step.run(&aws).await);
    let healthy: Vec<_> = targets
        .iter()
        .map(|t| (t.clone(), "healthy".to_owned()))
        .collect();
    assert_eq!(registered(&aws, &group).await, healthy);
}
