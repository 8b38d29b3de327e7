//! Elastic Load Balancing: target groups with their targets, and load balancers with a listener.

use aws_sdk_elasticloadbalancingv2::types::{
    ActionTypeEnum, ProtocolEnum, TargetDescription, TargetTypeEnum,
};

use super::{CONTAINER_PORT, KnownParams, Seeding, StateLine, World, ec2, failed};
use crate::aws::AwsError;

/// `Need::TargetGroup`: the target group, with the targets the workflow names (or the service's tasks).
pub(super) async fn target_group(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    target_group: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let Some(arn) = params.text(target_group) else {
        return Ok(());
    };
    if world.renames.contains_key(&arn) {
        return Ok(());
    }
    let name = arn
        .split_once("targetgroup/")
        .map_or(arn.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("rehearsal")
        .to_owned();
    let named = seeding.named_targets.get(&arn).cloned().unwrap_or_default();
    let new_arn = world
        .target_group(config, &name, seeding.has_service, &named)
        .await?;
    world.rename(&arn, &new_arn);
    Ok(())
}

/// `Need::Listener`: a load balancer and its listener, forwarding to a target group of its own.
pub(super) async fn listener(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    listener: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let Some(arn) = params.text(listener) else {
        return Ok(());
    };
    // `…:listener/app/<load balancer>/<id>/<id>`
    let name = arn
        .split_once("listener/app/")
        .map_or("rehearsal", |(_, rest)| {
            rest.split('/').next().unwrap_or("rehearsal")
        })
        .to_owned();
    let network = world.network(config).await?;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let balancer = elb
        .create_load_balancer()
        .name(&name)
        .subnets(&network.subnet)
        .security_groups(&network.security_group)
        .send()
        .await
        .map_err(|e| failed("elasticloadbalancing:CreateLoadBalancer", e))?;
    let balancer = balancer
        .load_balancers()
        .first()
        .and_then(|b| b.load_balancer_arn())
        .unwrap_or_default()
        .to_owned();
    let group = world
        .target_group(config, &name, seeding.has_service, &[])
        .await?;
    let made = elb
        .create_listener()
        .load_balancer_arn(&balancer)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&group)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("elasticloadbalancing:CreateListener", e))?;
    let new_arn = made
        .listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .unwrap_or_default()
        .to_owned();
    world.rename(&arn, &new_arn);
    world.created.push(format!(
        "load balancer {name} with a listener forwarding to target group {name}"
    ));
    world.listeners.insert(name, new_arn);
    Ok(())
}

impl World {
    /// A target group named `name`: of addresses when an ECS service of the world registers its tasks in it
    /// (`ip`), else of instances: the world's for the workflow's `named` targets, or two, as a person registers
    /// hosts.
    async fn target_group(
        &mut self,
        config: &aws_config::SdkConfig,
        name: &str,
        for_service: bool,
        named: &[String],
    ) -> Result<String, AwsError> {
        let network = self.network(config).await?;
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
        let mut group = elb
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(CONTAINER_PORT)
            .vpc_id(&network.vpc);
        let for_service = for_service && named.is_empty();
        if for_service {
            group = group.target_type(TargetTypeEnum::Ip);
        }
        let made = group
            .send()
            .await
            .map_err(|e| failed("elasticloadbalancing:CreateTargetGroup", e))?;
        let arn = made
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .unwrap_or_default()
            .to_owned();
        if for_service {
            // The ECS service, made after it, registers its tasks here.
            self.created
                .push(format!("target group {name} (ip targets)"));
            self.service_target_groups.insert(arn.clone());
        } else {
            let targets = if named.is_empty() {
                ec2::run_instances(config, 2).await?
            } else {
                self.instances(config, named).await?
            };
            let mut register = elb.register_targets().target_group_arn(&arn);
            for id in &targets {
                register = register.targets(
                    TargetDescription::builder()
                        .id(id)
                        .port(CONTAINER_PORT)
                        .build(),
                );
            }
            register
                .send()
                .await
                .map_err(|e| failed("elasticloadbalancing:RegisterTargets", e))?;
            self.created.push(format!(
                "target group {name} with {} targets registered",
                targets.len()
            ));
        }
        self.target_groups.insert(name.to_owned(), arn.clone());
        Ok(arn)
    }
}

/// Each target group's registered targets, and the rules before each listener's forward.
pub(super) async fn state(world: &World, config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let mut lines = Vec::new();
    let line = |resource: String, state: String| StateLine { resource, state };
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
    for (name, arn) in &world.target_groups {
        let targets: Vec<String> = elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map(|h| {
                h.target_health_descriptions()
                    .iter()
                    .filter_map(|d| d.target().and_then(|t| t.id()))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        lines.push(line(
            format!("target group {name}"),
            if targets.is_empty() {
                "no target registered".to_owned()
            } else {
                format!("{} registered: {}", targets.len(), targets.join(", "))
            },
        ));
    }
    for (name, arn) in &world.listeners {
        let rules = elb
            .describe_rules()
            .listener_arn(arn)
            .send()
            .await
            .map(|r| {
                r.rules()
                    .iter()
                    .filter(|r| r.is_default() != Some(true))
                    .count()
            })
            .unwrap_or_default();
        lines.push(line(
            format!("listener of {name}"),
            if rules == 0 {
                "forwards to its target group".to_owned()
            } else {
                format!("{rules} rule(s) before forwarding to its target group")
            },
        ));
    }
    lines
}
