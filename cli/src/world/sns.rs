//! SNS topics, each with an inbox: an SQS queue subscribed to it, so that the world's state shows what the
//! rollback told people (a failure notice, an approval's question), as a subscriber receives it.

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value as Json;

use super::{KnownParams, Seeding, StateLine, World, failed};
use crate::aws::AwsError;

/// `Need::Topic`: the topic, under the name its ARN gives, and its inbox.
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
    let topic_arn = made.topic_arn().unwrap_or_default().to_owned();
    world.rename(&arn, &topic_arn);
    let sqs = aws_sdk_sqs::Client::new(config);
    let queue = sqs
        .create_queue()
        .queue_name(format!("{name}-inbox"))
        .send()
        .await
        .map_err(|e| failed("sqs:CreateQueue", e))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed("sqs:GetQueueAttributes", e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    aws_sdk_sns::Client::new(config)
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .map_err(|e| failed("sns:Subscribe", e))?;
    world.created.push(format!(
        "SNS topic {name} (its inbox: SQS queue {name}-inbox)"
    ));
    world.inboxes.insert(name, queue);
    Ok(())
}

/// Each message a topic's inbox received, oldest first: `<subject>: <message>`.
pub(super) async fn messages(world: &World, config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut lines = Vec::new();
    for (topic, queue) in &world.inboxes {
        let line = |state: String| StateLine {
            resource: format!("SNS topic {topic} delivered"),
            state,
        };
        let mut received = Vec::new();
        loop {
            let Ok(page) = sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .send()
                .await
            else {
                received.push("unknown: ReceiveMessage failed".to_owned());
                break;
            };
            if page.messages().is_empty() {
                break;
            }
            for message in page.messages() {
                // SNS's envelope: `Subject` (absent when none) and `Message`.
                let envelope: Json =
                    serde_json::from_str(message.body().unwrap_or("null")).unwrap_or(Json::Null);
                let text = envelope["Message"].as_str().unwrap_or_default();
                received.push(match envelope["Subject"].as_str() {
                    Some(subject) => format!("{subject}: {text}"),
                    None => text.to_owned(),
                });
                if let Some(handle) = message.receipt_handle() {
                    // Read once: a second look at the state shows only what came since.
                    let _ = sqs
                        .delete_message()
                        .queue_url(queue)
                        .receipt_handle(handle)
                        .send()
                        .await;
                }
            }
        }
        if received.is_empty() {
            lines.push(line("nothing".to_owned()));
        }
        lines.extend(received.into_iter().map(line));
    }
    lines
}
