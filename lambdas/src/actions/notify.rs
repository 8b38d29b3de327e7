//! `notify`: SNS Publish.

use catalog::contract::{Execution, Finding, Response};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, Invoke};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub topic: String,
    pub subject: Option<String>,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub message_id: String,
}

/// Publishes one message.
pub struct Notify;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::invoke::<Notify>()];

impl Action for Notify {
    const NAME: &str = "notify";
    type Params = Params;

    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        topic_usable(clients, params).await
    }
}

impl Invoke for Notify {
    async fn invoke(clients: &Clients, call: Call<Params>) -> Result<Response, ActionError> {
        let Params {
            topic,
            subject,
            message,
        } = call.params;
        let message_id = publish(clients, &topic, subject.as_deref(), message).await?;
        done(&Output { message_id })
    }
}

/// Publishes and returns the message id. Errors name the topic only: the message may carry a task token.
pub async fn publish(
    clients: &Clients,
    topic: &str,
    subject: Option<&str>,
    message: String,
) -> Result<String, ActionError> {
    let output = clients
        .aws(aws_sdk_sns::Client::new)
        .publish()
        .topic_arn(topic)
        .set_subject(subject.map(sns_subject).filter(|s| !s.is_empty()))
        .message(message)
        .send()
        .await
        .map_err(|e| ActionError::aws(format!("publish to SNS topic `{topic}`"), e))?;
    Ok(output.message_id.unwrap_or_default())
}

/// The `topic` param's topic answers GetTopicAttributes: it exists in the function's region and account (or
/// lets it look); and SNS can use the KMS key it is encrypted under (`KmsMasterKeyId`) for this role. Publish
/// itself cannot be tried without sending a message.
pub async fn topic_usable(clients: &Clients, params: &Known) -> Vec<Finding> {
    let topic: String = match params.required("topic") {
        Ok(topic) => topic,
        Err(unknown) => return vec![unknown.finding("SNS topic")],
    };
    let resource = format!("SNS topic `{topic}`");
    let answer = clients
        .aws(aws_sdk_sns::Client::new)
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let mut findings = vec![check::ok(resource, "exists")];
            if let Some(key) = answer
                .attributes
                .as_ref()
                .and_then(|a| a.get("KmsMasterKeyId"))
                .filter(|key| !key.is_empty())
            {
                findings.push(check::kms_key(clients, key, "sns").await);
            }
            findings
        }
        Err(e) => vec![check::failed(
            resource,
            &ActionError::aws(format!("get the attributes of SNS topic `{topic}`"), e),
            "create the topic, or fix `topic`: it must be in the stack's region",
        )],
    }
}

/// SNS rejects a subject that is not ASCII, holds a line break or control character, or has 100 characters
/// or more. A notification is better sent with a cut subject than not at all.
pub fn sns_subject(subject: &str) -> String {
    let printable: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() {
                c
            } else if c.is_ascii() {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    let mut subject = printable.trim().to_owned();
    subject.truncate(99);
    subject
}

#[cfg(test)]
mod tests {
    use super::sns_subject;

    #[test]
    fn subjects_become_one_short_ascii_line() {
        assert_eq!(
            sns_subject("  Rollback\nof orders – done\t"),
            "Rollback of orders ? done"
        );
        assert_eq!(sns_subject(&"é".repeat(150)).len(), 99);
    }
}
