//! The rehearsal's readiness machine (issue 29): created through the API and run on demand, with the readiness
//! alarm evaluated after each run and the topic's notices read from a queue, as a person's subscription gets them.

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use workflow::Workflow;

use super::readiness_alarm::{AlarmState, ReadinessAlarm};
use super::{CREATE_MACHINE, DESCRIBE_EXECUTION, LONGEST, POLL, RehearseError};
use crate::aws::{self, Session};
use crate::execution;

/// What one readiness run recorded.
#[derive(Clone, Debug)]
pub struct ReadinessRun {
    pub ready: bool,
    pub not_ready: Vec<String>,
    /// The notices the topic received during the run: subject and message.
    pub notices: Vec<(String, String)>,
    /// The readiness alarm, evaluated on the run's period.
    pub alarm: AlarmState,
}

/// The readiness machine, created through the API (moto's interpreter does not run the stack's), and a queue
/// subscribed to the readiness topic, which shows the notices as a person's subscription gets them.
pub(super) struct ReadinessRig {
    machine: String,
    queue: Option<String>,
    alarm: ReadinessAlarm,
    /// Runs so far, which names the next one (names are unique per machine, and a minute apart at most).
    runs: std::sync::atomic::AtomicU32,
}

impl ReadinessRig {
    pub(super) async fn create(
        session: &Session,
        workflow: &Workflow,
        functions: &std::collections::BTreeMap<String, String>,
        rollback: &str,
        roles: &std::collections::BTreeMap<String, String>,
        account: &str,
        alarm: &Json,
    ) -> Result<ReadinessRig, RehearseError> {
        let mut definition = compiler::readiness::machine(workflow).to_json().replace(
            &format!("${{{}}}", compiler::readiness::ROLLBACK_MACHINE),
            rollback,
        );
        for (key, arn) in functions {
            definition = definition.replace(&format!("${{{key}}}"), arn);
        }
        let role = roles
            .get("ReadinessMachineRole")
            .map(|physical| format!("arn:aws:iam::{account}:role/{physical}"))
            .unwrap_or_default();
        let machine = aws_sdk_sfn::Client::new(&session.config)
            .create_state_machine()
            .name(catalog::readiness::name(&workflow.name))
            .r#type(aws_sdk_sfn::types::StateMachineType::Express)
            .definition(definition)
            .role_arn(role)
            .send()
            .await
            .map_err(|e| aws::explain(&e, CREATE_MACHINE))?
            .state_machine_arn()
            .to_owned();
        let topic = workflow.readiness.as_ref().and_then(|r| r.topic.clone());
        let queue = match topic {
            Some(topic) => Some(subscribe(session, &workflow.name, &topic).await?),
            None => None,
        };
        Ok(ReadinessRig {
            machine,
            queue,
            alarm: ReadinessAlarm::create(session, alarm).await?,
            runs: std::sync::atomic::AtomicU32::new(0),
        })
    }

    pub(super) async fn run(&self, session: &Session) -> Result<ReadinessRun, RehearseError> {
        // On a whole second, so that the alarm's period read from it holds this run's datapoints alone: moto
        // reads a GetMetricData period from the whole second of its StartTime.
        let now = std::time::SystemTime::now();
        let fraction = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        tokio::time::sleep(Duration::from_nanos(u64::from(1_000_000_000 - fraction))).await;
        let period_began = std::time::SystemTime::now();
        let began = Instant::now();
        let sfn = aws_sdk_sfn::Client::new(&session.config);
        let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let name = execution::default_name(&format!("readiness-{n}"), std::time::SystemTime::now());
        let arn = execution::start(session, &self.machine, &name, &serde_json::json!({})).await?;
        let output = loop {
            let described = sfn
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
                .map_err(|e| aws::explain(&e, DESCRIBE_EXECUTION))?;
            match described.status() {
                aws_sdk_sfn::types::ExecutionStatus::Running => {}
                aws_sdk_sfn::types::ExecutionStatus::Succeeded => {
                    break described.output().unwrap_or_default().to_owned();
                }
                other => {
                    return Err(RehearseError::Readiness(format!(
                        "the readiness run ended {other:?}: {}",
                        described.cause().unwrap_or_default()
                    )));
                }
            }
            if began.elapsed() > LONGEST {
                return Err(RehearseError::TooLong);
            }
            tokio::time::sleep(POLL).await;
        };
        let output: Json = serde_json::from_str(&output).unwrap_or_default();
        let recorded = &output[catalog::contract::field::OUTPUT];
        let not_ready = recorded["not_ready"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .map(str::to_owned)
            .collect();
        let notices = match &self.queue {
            Some(queue) => received(session, queue).await?,
            None => Vec::new(),
        };
        Ok(ReadinessRun {
            ready: recorded["ready"] == Json::Bool(true),
            not_ready,
            notices,
            alarm: self.alarm.evaluate(session, period_began).await?,
        })
    }
}

/// A queue that receives what the topic publishes.
async fn subscribe(
    session: &Session,
    workflow: &str,
    topic: &str,
) -> Result<String, RehearseError> {
    let sqs = aws_sdk_sqs::Client::new(&session.config);
    let failed = |action: &str, e: &dyn std::fmt::Display| {
        RehearseError::Readiness(format!("{action}: {e}"))
    };
    let url = sqs
        .create_queue()
        .queue_name(format!("{workflow}-readiness-notices"))
        .send()
        .await
        .map_err(|e| failed("sqs:CreateQueue", &e))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed("sqs:GetQueueAttributes", &e))?
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default();
    aws_sdk_sns::Client::new(&session.config)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .map_err(|e| failed("sns:Subscribe", &e))?;
    Ok(url)
}

/// The notices in the queue: each SNS envelope's `Subject` and `Message`.
async fn received(session: &Session, queue: &str) -> Result<Vec<(String, String)>, RehearseError> {
    let sqs = aws_sdk_sqs::Client::new(&session.config);
    let mut notices = Vec::new();
    loop {
        let answer = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| RehearseError::Readiness(format!("sqs:ReceiveMessage: {e}")))?;
        if answer.messages().is_empty() {
            return Ok(notices);
        }
        for message in answer.messages() {
            let envelope: Json =
                serde_json::from_str(message.body().unwrap_or_default()).unwrap_or_default();
            notices.push((
                envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                envelope["Message"].as_str().unwrap_or_default().to_owned(),
            ));
            if let Some(receipt) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| RehearseError::Readiness(format!("sqs:DeleteMessage: {e}")))?;
            }
        }
    }
}
