//! Auto Scaling groups.

use super::{KnownParams, Seeding, StateLine, World, ec2, failed};
use crate::aws::{AwsError, Session};

/// `Need::AutoScalingGroup`: an empty group with a launch configuration.
pub(super) async fn group(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    group: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let Some(group) = params.text(group) else {
        return Ok(());
    };
    let asg = aws_sdk_autoscaling::Client::new(config);
    asg.create_launch_configuration()
        .launch_configuration_name(&group)
        .image_id(ec2::IMAGE)
        .instance_type("t3.micro")
        .send()
        .await
        .map_err(|e| failed("autoscaling:CreateLaunchConfiguration", e))?;
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .launch_configuration_name(&group)
        .min_size(0)
        .max_size(2)
        .desired_capacity(0)
        .availability_zones(format!("{}a", region(seeding.session)))
        .send()
        .await
        .map_err(|e| failed("autoscaling:CreateAutoScalingGroup", e))?;
    world.created.push(format!("Auto Scaling group {group}"));
    world.auto_scaling_groups.insert(group);
    Ok(())
}

fn region(session: &Session) -> String {
    session
        .config
        .region()
        .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string())
}

/// Each Auto Scaling group's suspended processes.
pub(super) async fn state(world: &World, config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let mut lines = Vec::new();
    let line = |resource: String, state: String| StateLine { resource, state };
    if !world.auto_scaling_groups.is_empty() {
        let described = aws_sdk_autoscaling::Client::new(config)
            .describe_auto_scaling_groups()
            .set_auto_scaling_group_names(Some(world.auto_scaling_groups.iter().cloned().collect()))
            .send()
            .await;
        for group in described.iter().flat_map(|d| d.auto_scaling_groups()) {
            let suspended: Vec<&str> = group
                .suspended_processes()
                .iter()
                .filter_map(|p| p.process_name())
                .collect();
            lines.push(line(
                format!(
                    "Auto Scaling group {}",
                    group.auto_scaling_group_name().unwrap_or_default()
                ),
                if suspended.is_empty() {
                    "no process suspended".to_owned()
                } else {
                    format!("suspended: {}", suspended.join(", "))
                },
            ));
        }
    }
    lines
}
