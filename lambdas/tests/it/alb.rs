//! `alb.deregister` and `alb.register` against moto.

use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetDescription};
use catalog::ErrorName;
use catalog::contract::Status;
use serde_json::{Value, json};

use crate::{Aws, Step, error, output};

/// Two running instances registered in a target group on port 80. Returns the group's ARN and the targets.
async fn target_group(aws: &Aws) -> (String, Vec<String>) {
    let ec2 = &aws.clients.aws(lambdas::ec2::Client::new);
    let vpc = ec2.create_vpc("10.2.0.0/16").await.expect("vpc");
    let mut instances = ec2
        .run_instances("ami-12c6146b", 2)
        .await
        .expect("instances");
    instances.sort();
    let elb = &aws.clients.aws(aws_sdk_elasticloadbalancingv2::Client::new);
    let group = elb
        .create_target_group()
        .name("web")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(vpc)
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
        .aws(lambdas::ec2::Client::new)
        .terminate_instances(&[instance])
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

/// What ECS does to a service's target group on a deployment, done by hand: the tasks' addresses (network
/// interfaces in the group's VPC) registered, and the old ones deregistered and their interfaces gone.
async fn task_addresses(aws: &Aws, count: usize) -> (String, Vec<(String, String)>) {
    let ec2 = &aws.clients.aws(lambdas::ec2::Client::new);
    let vpc = ec2.create_vpc("10.3.0.0/16").await.expect("vpc");
    let subnet = ec2
        .create_subnet(&vpc, "10.3.1.0/24", None)
        .await
        .expect("subnet");
    let mut interfaces = Vec::new();
    for _ in 0..count {
        let made = ec2
            .create_network_interface(&subnet, &[], None)
            .await
            .expect("interface");
        let address = made.private_ip_addresses.first().expect("address").clone();
        interfaces.push((made.network_interface_id, address));
    }
    (vpc, interfaces)
}

/// The targets of a stopped task are gone: `alb.register` registers those that exist, and fails at once, naming
/// the others, instead of waiting for health checks that would never pass.
#[tokio::test]
async fn register_fails_at_once_on_targets_that_no_longer_exist() {
    let aws = Aws::start().await;
    let (group, instances) = target_group(&aws).await;
    output(
        Step::new("alb.deregister", json!({"target_group": group}))
            .run(&aws)
            .await,
    );
    let (_, tasks) = task_addresses(&aws, 1).await;
    let (interface, address) = &tasks[0];
    aws.clients
        .aws(lambdas::ec2::Client::new)
        .delete_network_interface(&interface)
        .await
        .expect("the task stopped");
    aws.clients
        .aws(lambdas::ec2::Client::new)
        .terminate_instances(&[instances[1].split_once(':').expect("id:port").0])
        .await
        .expect("terminate");
    let gone_address = format!("{address}:80");
    let failure = error(
        Step::new(
            "alb.register",
            json!({"target_group": group, "targets": [instances[0], instances[1], gone_address]}),
        )
        .start(&aws)
        .await,
    );
    assert_eq!(failure.name, ErrorName::Precondition, "{failure}");
    assert!(
        failure.message.contains(&format!(
            "{}, {gone_address} no longer exist; registered: {}",
            instances[1], instances[0]
        )) && failure.message.contains("alb.halt"),
        "{failure}"
    );
    assert_eq!(
        registered(&aws, &group).await,
        [(instances[0].clone(), "healthy".to_owned())]
    );
}

/// `stepback preflight` of a drain on a target group that an ECS service registers into says which service,
/// and that the group's traffic is halted at the listener instead.
#[tokio::test]
async fn the_check_names_the_ecs_service_that_registers_into_the_group() {
    let aws = Aws::start().await;
    let (group, _) = target_group(&aws).await;
    let ecs = aws.clients.aws(aws_sdk_ecs::Client::new);
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .expect("cluster");
    ecs.register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("app")
                .image("app:v1")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
    for action in ["alb.deregister", "alb.register"] {
        let step = Step::new(action, json!({"target_group": group, "targets": []}));
        crate::check_ok(&aws, &step).await;
    }
    ecs.create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn(&group)
                .container_name("app")
                .container_port(80)
                .build(),
        )
        .send()
        .await
        .expect("service");
    for action in ["alb.deregister", "alb.register"] {
        let step = Step::new(action, json!({"target_group": group, "targets": []}));
        let out = output(crate::invoke(&aws, action, step.payload("check", None)).await);
        let findings = out["findings"].as_array().expect("findings");
        let owner = findings
            .iter()
            .find(|f| f["verdict"] != "ok")
            .unwrap_or_else(|| panic!("{action}: {findings:#?}"));
        assert_eq!(owner["verdict"], "not_ready", "{owner:#}");
        assert!(
            owner["detail"]
                .as_str()
                .is_some_and(|d| d.contains("ECS service `web` of cluster `prod`"))
                && owner["fix"]
                    .as_str()
                    .is_some_and(|f| f.contains("alb.halt")),
            "{owner:#}"
        );
    }
}

/// A listener forwarding to the target group, on an application load balancer in the group's VPC.
async fn listener(aws: &Aws) -> String {
    let (group, _) = target_group(aws).await;
    let ec2 = &aws.clients.aws(lambdas::ec2::Client::new);
    let vpc = ec2
        .describe_vpcs()
        .await
        .expect("vpcs")
        .into_iter()
        .find(|v| v.cidr_block == "10.2.0.0/16")
        .expect("the group's vpc")
        .vpc_id;
    let subnet = ec2
        .create_subnet(&vpc, "10.2.1.0/24", None)
        .await
        .expect("subnet");
    let elb = &aws.clients.aws(aws_sdk_elasticloadbalancingv2::Client::new);
    let balancer = elb
        .create_load_balancer()
        .name("web")
        .subnets(subnet)
        .send()
        .await
        .expect("load balancer");
    let made = elb
        .create_listener()
        .load_balancer_arn(
            balancer.load_balancers()[0]
                .load_balancer_arn()
                .expect("arn"),
        )
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .target_group_arn(group)
                .build(),
        )
        .send()
        .await
        .expect("listener");
    made.listeners()[0].listener_arn().expect("arn").to_owned()
}

/// The listener's rules other than its default: (priority, first action's type, fixed response status).
async fn rules(aws: &Aws, listener: &str) -> Vec<(String, String, String)> {
    aws.clients
        .aws(aws_sdk_elasticloadbalancingv2::Client::new)
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .expect("rules")
        .rules()
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .map(|r| {
            let action = &r.actions()[0];
            (
                r.priority().unwrap_or_default().to_owned(),
                action
                    .r#type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                action
                    .fixed_response_config()
                    .and_then(|c| c.status_code())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn halt_answers_every_request_with_a_503_until_resume_deletes_its_rule() {
    let aws = Aws::start().await;
    let listener = listener(&aws).await;
    let halt = Step::new("alb.halt", json!({"listener": listener}));
    crate::check_ok(&aws, &halt).await;
    let halted = output(halt.run(&aws).await);
    let rule = halted["rule"].as_str().expect("the rule").to_owned();
    assert_eq!(
        rules(&aws, &listener).await,
        [(
            "1".to_owned(),
            "fixed-response".to_owned(),
            "503".to_owned()
        )]
    );
    // A retried halt finds its rule.
    assert_eq!(output(halt.run(&aws).await)["rule"], json!(rule));
    assert_eq!(rules(&aws, &listener).await.len(), 1);

    let resume = Step::new("alb.resume", json!({"listener": listener, "rule": rule}));
    crate::check_ok(&aws, &resume).await;
    assert_eq!(output(resume.run(&aws).await)["rule"], json!(rule));
    assert_eq!(rules(&aws, &listener).await, []);
    // A retried resume whose rule is gone is done.
    assert_eq!(output(resume.run(&aws).await)["rule"], json!(rule));
}

/// A rule of the user's at priority 1 would come before the halt rule: the check says so, and the step is a
/// precondition failure that leaves the rule alone.
#[tokio::test]
async fn halt_refuses_a_listener_whose_first_priority_is_taken() {
    let aws = Aws::start().await;
    let listener = listener(&aws).await;
    aws.clients
        .aws(aws_sdk_elasticloadbalancingv2::Client::new)
        .create_rule()
        .listener_arn(&listener)
        .priority(1)
        .conditions(
            aws_sdk_elasticloadbalancingv2::types::RuleCondition::builder()
                .field("path-pattern")
                .values("/admin/*")
                .build(),
        )
        .actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    aws_sdk_elasticloadbalancingv2::types::FixedResponseActionConfig::builder()
                        .status_code("403")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("the user's rule");
    let halt = Step::new("alb.halt", json!({"listener": listener}));
    let out = output(crate::invoke(&aws, "alb.halt", halt.payload("check", None)).await);
    assert_eq!(out["findings"][0]["verdict"], "not_ready", "{out:#?}");
    let failure = error(halt.run(&aws).await);
    assert_eq!(failure.name, ErrorName::Precondition, "{failure}");
    assert_eq!(
        rules(&aws, &listener).await,
        [(
            "1".to_owned(),
            "fixed-response".to_owned(),
            "403".to_owned()
        )]
    );
}
