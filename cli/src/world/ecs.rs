//! ECS: clusters, services with two task-definition revisions, and the task definitions a task runs.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    LoadBalancer, NetworkConfiguration, NetworkMode, PortMapping,
};

use super::{CONTAINER_PORT, KnownParams, Network, Seeding, StateLine, World, failed};
use crate::aws::AwsError;

/// The image tags of a seeded service's two task-definition revisions, oldest first.
pub const IMAGE_TAGS: [&str; 2] = ["v1", "v2"];
/// How many tasks a seeded service runs; the emulator is started to report as many running.
pub const SERVICE_TASKS: i32 = 2;

/// `Need::EcsService`: a cluster and a Fargate service on the second of two task-definition revisions, its tasks
/// registered in the target groups made before it.
pub(super) async fn service(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    cluster: &str,
    service: &str,
    container: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let (Some(cluster), Some(service)) = (params.text(cluster), params.text(service)) else {
        return Ok(());
    };
    let container = params.text(container).unwrap_or_else(|| "app".to_owned());
    let ecs = aws_sdk_ecs::Client::new(config);
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .map_err(|e| failed("ecs:CreateCluster", e))?;
    let mut latest = String::new();
    world.families.insert(service.clone());
    for tag in IMAGE_TAGS {
        latest = register(
            &ecs,
            &service,
            &container,
            &format!("registry.rehearsal/{service}:{tag}"),
        )
        .await?;
    }
    let network = world.network(config).await?;
    // The service registers its tasks in the workflow's target groups, as ECS does for a service
    // with `loadBalancers` (the emulator's front plays ECS's part: `rehearsal_front::moto_gaps`).
    let load_balancers: Vec<_> = world
        .service_target_groups
        .iter()
        .map(|arn| {
            LoadBalancer::builder()
                .target_group_arn(arn)
                .container_name(&container)
                .container_port(CONTAINER_PORT)
                .build()
        })
        .collect();
    let made = ecs
        .create_service()
        .cluster(&cluster)
        .service_name(&service)
        .task_definition(&latest)
        .desired_count(SERVICE_TASKS)
        // moto keeps no capacity provider strategy: it would answer the EC2 launch type.
        .launch_type(LaunchType::Fargate)
        .network_configuration(network.awsvpc()?)
        .set_load_balancers(Some(load_balancers.clone()).filter(|l| !l.is_empty()))
        .send()
        .await
        .map_err(|e| failed("ecs:CreateService", e))?;
    // moto's services run the tasks its environment says, whatever they ask for: with none running,
    // no deployment ever completes.
    let running = made.service().map_or(0, |s| s.running_count());
    if running != SERVICE_TASKS {
        return Err(failed(
            "ecs:CreateService",
            format!(
                "the emulator runs {running} of a service's {SERVICE_TASKS} tasks, so no deployment \
                 would complete: start moto with MOTO_ECS_SERVICE_RUNNING={SERVICE_TASKS}"
            ),
        ));
    }
    world.created.push(format!(
        "ECS cluster {cluster}, service {service} on {} (image tags {}) on Fargate{}",
        latest.rsplit('/').next().unwrap_or(&latest),
        IMAGE_TAGS.join(", "),
        if load_balancers.is_empty() {
            String::new()
        } else {
            format!(
                ", its {SERVICE_TASKS} tasks registered in {} target group(s)",
                load_balancers.len()
            )
        }
    ));
    world.services.insert((cluster, service));
    Ok(())
}

/// `Need::EcsTask`: a cluster and the task definition (the service's, when a service of the world has its family).
pub(super) async fn task(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    cluster: &str,
    task_definition: &str,
    container: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let (Some(cluster), Some(family)) = (params.text(cluster), params.text(task_definition)) else {
        return Ok(());
    };
    let family = family
        .rsplit('/')
        .next()
        .unwrap_or(&family)
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let container = params.text(container).unwrap_or_else(|| "app".to_owned());
    let ecs = aws_sdk_ecs::Client::new(config);
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .map_err(|e| failed("ecs:CreateCluster", e))?;
    // A task of a service's family (a migration on the web image) runs what the service runs.
    if !world.families.insert(family.clone()) {
        world.created.push(format!(
            "ECS task definition {family} (the service's) in cluster {cluster}"
        ));
        return Ok(());
    }
    register(
        &ecs,
        &family,
        &container,
        &format!("registry.rehearsal/{family}:{}", IMAGE_TAGS[1]),
    )
    .await?;
    world
        .created
        .push(format!("ECS task definition {family} in cluster {cluster}"));
    Ok(())
}

async fn register(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    container: &str,
    image: &str,
) -> Result<String, AwsError> {
    let made = ecs
        .register_task_definition()
        .family(family)
        // Fargate, as most ECS services run today: its tasks always use the awsvpc network mode.
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name(container)
                .image(image)
                .essential(true)
                .memory(512)
                .port_mappings(
                    PortMapping::builder()
                        .container_port(CONTAINER_PORT)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("ecs:RegisterTaskDefinition", e))?;
    Ok(made
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap_or_default()
        .to_owned())
}

/// The task definition a service runs and its first container's image.
pub(super) async fn running_image(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Option<(String, String)> {
    let described = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .ok()?;
    let task_definition = described.services().first()?.task_definition()?.to_owned();
    let definition = ecs
        .describe_task_definition()
        .task_definition(&task_definition)
        .send()
        .await
        .ok()?;
    let image = definition
        .task_definition()?
        .container_definitions()
        .first()?
        .image()?
        .to_owned();
    let short = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(&task_definition)
        .to_owned();
    Some((short, image))
}

impl Network {
    fn awsvpc(&self) -> Result<NetworkConfiguration, AwsError> {
        Ok(NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets(&self.subnet)
                    .security_groups(&self.security_group)
                    .assign_public_ip(AssignPublicIp::Disabled)
                    .build()
                    .map_err(|e| failed("ecs network configuration", e))?,
            )
            .build())
    }
}

/// What each service runs.
pub(super) async fn state(world: &World, config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let mut lines = Vec::new();
    let line = |resource: String, state: String| StateLine { resource, state };
    let ecs = aws_sdk_ecs::Client::new(config);
    for (cluster, service) in &world.services {
        let state = running_image(&ecs, cluster, service).await.map_or_else(
            || "unknown".to_owned(),
            |(definition, image)| format!("runs {definition} ({image})"),
        );
        lines.push(line(format!("ECS service {cluster}/{service}"), state));
    }
    lines
}
