//! SNS topics.

use super::{KnownParams, Seeding, World, failed};
use crate::aws::AwsError;

/// `Need::Topic`: the topic, under the name its ARN gives.
pub(super) async fn topic(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    topic: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let Some(arn) = params.text(topic) else {
        return Ok(());
    };
    let name = arn.rsplit(':').next().unwrap_or(&arn).to_owned();
    let made = aws_sdk_sns::Client::new(config)
        .create_topic()
        .name(&name)
        .send()
        .await
        .map_err(|e| failed("sns:CreateTopic", e))?;
    world.rename(&arn, made.topic_arn().unwrap_or_default());
    world.created.push(format!("SNS topic {name}"));
    Ok(())
}
