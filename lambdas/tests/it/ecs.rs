//! `ecs.deploy` and `ecs.run_task` against moto. moto's services report running tasks only when the server
//! starts with `MOTO_ECS_SERVICE_RUNNING`, and its deployments never change `rolloutState`, so a deploy is
//! done when the single PRIMARY deployment runs as many tasks as desired.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode,
};
use catalog::ErrorName;
use serde_json::json;

use crate::{Aws, Step, error, output, str_of};

const CLUSTER: &str = "prod";

/// Cluster `prod`, task family `web` with revisions 1..=3 (images `app:v1`..`app:v3`), and service `web` on
/// revision 3 with two tasks wanted, in an awsvpc network.
async fn service(aws: &Aws) {
    let ecs = &aws.clients.ecs;
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("cluster");
    for version in 1..=3 {
        register(aws, &format!("registry.local:5000/app:v{version}")).await;
    }
    let ec2 = &aws.clients.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .expect("vpc")
        .vpc
        .and_then(|v| v.vpc_id);
    let subnet = ec2
        .create_subnet()
        .set_vpc_id(vpc.clone())
        .cidr_block("10.1.1.0/24")
        .send()
        .await
        .expect("subnet");
    let subnet = subnet.subnet.and_then(|s| s.subnet_id).expect("subnet id");
    let group = ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .set_vpc_id(vpc)
        .send()
        .await;
    let group = group.expect("security group").group_id.expect("group id");
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(&subnet)
                .security_groups(group)
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .expect("awsvpc"),
        )
        .build();
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("web")
        .task_definition("web:3")
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network)
        .send()
        .await
        .expect("service");
}

async fn register(aws: &Aws, image: &str) {
    aws.clients
        .ecs
        .register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            // moto sums container memory to place a task, so each container states it.
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .essential(true)
                .memory(512)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
}

async fn running_definition(aws: &Aws) -> String {
    let services = aws
        .clients
        .ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("web")
        .send()
        .await
        .expect("describe");
    let arn = services.services()[0]
        .task_definition()
        .expect("a task definition");
    arn.rsplit_once('/').expect("an ARN").1.to_owned()
}

async fn revisions(aws: &Aws) -> usize {
    let listed = aws
        .clients
        .ecs
        .list_task_definitions()
        .family_prefix("web")
        .send()
        .await
        .expect("list");
    listed.task_definition_arns().len()
}

fn short(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, name)| name)
}

#[tokio::test]
async fn deploy_previous_runs_the_revision_below() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service(&aws).await;
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    );
    let out = output(step.run(&aws).await);
    assert_eq!(running_definition(&aws).await, "web:2");
    assert_eq!(short(str_of(&out, "task_definition_before")), "web:3");
    assert_eq!(short(str_of(&out, "task_definition_after")), "web:2");
    assert_eq!(str_of(&out, "image_tag"), "v2");
}

#[tokio::test]
async fn deploy_image_tag_reuses_a_matching_revision() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service(&aws).await;
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "container": "app", "image_tag": "v1"}),
    );
    let out = output(step.run(&aws).await);
    assert_eq!(running_definition(&aws).await, "web:1");
    assert_eq!(str_of(&out, "image_tag"), "v1");
    assert_eq!(
        revisions(&aws).await,
        3,
        "no new revision for an image that has one"
    );
}

#[tokio::test]
async fn deploy_of_a_new_tag_registers_once_even_when_start_is_retried() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service(&aws).await;
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "container": "app", "image_tag": "hotfix-7"}),
    );
    step.start(&aws).await.expect("first start");
    let out = output(step.run(&aws).await);
    assert_eq!(revisions(&aws).await, 4, "one new revision");
    assert_eq!(running_definition(&aws).await, "web:4");
    assert_eq!(str_of(&out, "image_tag"), "hotfix-7");
    let described = aws
        .clients
        .ecs
        .describe_task_definition()
        .task_definition("web:4")
        .send()
        .await
        .expect("describe");
    let image = described
        .task_definition()
        .expect("definition")
        .container_definitions()[0]
        .image();
    assert_eq!(image, Some("registry.local:5000/app:hotfix-7"));
}

#[tokio::test]
async fn a_deploy_waits_until_the_service_runs_every_task() {
    // Without MOTO_ECS_SERVICE_RUNNING, moto's service never has a task running.
    let aws = Aws::start().await;
    service(&aws).await;
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    );
    let started = step.start(&aws).await.expect("started");
    let polled = step
        .poll(&aws, started.state.as_ref())
        .await
        .expect("polled");
    assert_eq!(polled.status, catalog::contract::Status::Running);
    assert!(
        polled
            .progress
            .as_deref()
            .is_some_and(|p| p.contains("0 of 2 tasks running")),
        "{polled:?}"
    );
}

#[tokio::test]
async fn deploy_failures_name_the_service_or_the_missing_revision() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service(&aws).await;
    let missing = error(
        Step::new(
            "ecs.deploy",
            json!({"cluster": CLUSTER, "service": "api", "image_tag": "previous"}),
        )
        .start(&aws)
        .await,
    );
    assert_eq!(missing.name, ErrorName::NotFound, "{missing}");
    assert!(missing.message.contains("`api`"), "{missing}");
    // Two steps back to revision 1; nothing below it.
    for _ in 0..2 {
        let step = Step::new(
            "ecs.deploy",
            json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
        );
        output(step.run(&aws).await);
    }
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    );
    let bottom = error(step.in_execution("run-3").start(&aws).await);
    assert_eq!(bottom.name, ErrorName::Precondition, "{bottom}");
    let both = error(Step::new("ecs.deploy", json!({"cluster": CLUSTER, "service": "web", "image_tag": "v1", "task_definition": "web:1"})).start(&aws).await);
    assert_eq!(both.name, ErrorName::InvalidInput, "{both}");
}

/// A one-off task family in bridge mode: moto 5.2.5 fails RunTask for awsvpc tasks (its ENI has no
/// `private_dns_name`), so the network taken from a service is checked in the crate's unit tests instead.
async fn migration(aws: &Aws) {
    aws.clients
        .ecs
        .create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("cluster");
    aws.clients
        .ecs
        .register_task_definition()
        .family("migrate")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:v3")
                .essential(true)
                .memory(512)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
}

#[tokio::test]
async fn run_task_overrides_the_command_and_waits_until_stopped() {
    let aws = Aws::start().await;
    migration(&aws).await;
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": CLUSTER, "task_definition": "migrate", "container": "app", "command": ["migrate", "--down", "1"]}),
    );
    let out = output(step.run(&aws).await);
    assert_eq!(out["exit_code"], 0);
    let arn = str_of(&out, "task_arn");
    let described = aws
        .clients
        .ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .tasks(arn)
        .send()
        .await
        .expect("describe");
    let task = &described.tasks()[0];
    assert_eq!(task.last_status(), Some("STOPPED"));
    let overrides = task.overrides().expect("overrides").container_overrides();
    assert_eq!(overrides[0].command(), ["migrate", "--down", "1"]);
}

#[tokio::test]
async fn a_retried_run_task_start_runs_one_task() {
    let aws = Aws::start().await;
    migration(&aws).await;
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": CLUSTER, "task_definition": "migrate"}),
    );
    let first = step.start(&aws).await.expect("first start");
    let second = step.start(&aws).await.expect("retried start");
    assert_eq!(
        first.state.as_ref().map(|s| &s["task_arn"]),
        second.state.as_ref().map(|s| &s["task_arn"])
    );
    let listed = aws
        .clients
        .ecs
        .list_tasks()
        .cluster(CLUSTER)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.task_arns().len(), 1, "{:?}", listed.task_arns());
}

#[tokio::test]
async fn run_task_on_a_missing_cluster_is_not_found() {
    let aws = Aws::start().await;
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": "nope", "task_definition": "web:1", "subnets": ["subnet-1"]}),
    );
    let failure = error(step.start(&aws).await);
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(failure.message.contains("`nope`"), "{failure}");
}
