//! Fetching what `stepback audit` reads: `DescribeExecution`, the definition the execution ran
//! (`DescribeStateMachineForExecution`) and every page of `GetExecutionHistory` with execution data, as an
//! [`audit::Bundle`] in the API's JSON shape; and `ListExecutions` for `--list`.

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::HistoryEvent;
use serde_json::{Map, Value, json};

use crate::aws::{self, AwsError, Call};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no execution {0}")]
    NotFound(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The SDK's error as one line, for the IAM action the call needs.
fn refused<E, R>(action: &'static str) -> impl Fn(SdkError<E, R>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    move |error| {
        FetchError::Aws(aws::explain(
            &error,
            Call {
                service: "Step Functions",
                action,
            },
        ))
    }
}

/// Epoch seconds, as the API's JSON writes a timestamp.
fn seconds(time: &DateTime) -> Value {
    json!(time.as_secs_f64())
}

/// The execution's history with its description and definition. The task token is redacted before the bundle
/// leaves this function.
pub async fn fetch(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> Result<audit::Bundle, FetchError> {
    // moto answers 500 once an execution's output holds a date; the history alone still audits.
    let execution = match client
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
    {
        Ok(d) => {
            let mut e = Map::new();
            e.insert("executionArn".into(), json!(d.execution_arn()));
            e.insert("stateMachineArn".into(), json!(d.state_machine_arn()));
            e.insert("name".into(), json!(d.name()));
            e.insert("status".into(), json!(d.status().as_str()));
            e.insert("startDate".into(), seconds(d.start_date()));
            if let Some(stop) = d.stop_date() {
                e.insert("stopDate".into(), seconds(stop));
            }
            if let Some(count) = d.redrive_count() {
                e.insert("redriveCount".into(), json!(count));
            }
            Some(Value::Object(e))
        }
        Err(error) if error.code() == Some("ExecutionDoesNotExist") => {
            return Err(FetchError::NotFound(execution_arn.to_owned()));
        }
        Err(error)
            if error
                .raw_response()
                .is_some_and(|r| r.status().is_server_error()) =>
        {
            None
        }
        Err(error) => return Err(refused("states:DescribeExecution")(error)),
    };
    let definition = client
        .describe_state_machine_for_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(refused("states:DescribeStateMachineForExecution"))?
        .definition()
        .to_owned();
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .include_execution_data(true)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(refused("states:GetExecutionHistory"))?;
        events.extend(page.events().iter().map(event));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    let mut bundle = audit::Bundle {
        events,
        execution,
        definition: Some(Value::String(definition)),
        next_token: None,
    };
    bundle.redact();
    Ok(bundle)
}

/// The fields of a history event that the audit reads, in the API's JSON shape.
pub(crate) fn event(e: &HistoryEvent) -> Value {
    let mut out = Map::new();
    out.insert("timestamp".into(), seconds(e.timestamp()));
    out.insert("type".into(), json!(e.r#type().as_str()));
    out.insert("id".into(), json!(e.id()));
    out.insert("previousEventId".into(), json!(e.previous_event_id()));
    let mut add = |key: &str, fields: Vec<(&str, Value)>| {
        let fields: Map<String, Value> = fields
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        out.insert(key.to_owned(), Value::Object(fields));
    };
    if let Some(d) = e.execution_started_event_details() {
        add(
            "executionStartedEventDetails",
            vec![("input", json!(d.input()))],
        );
    }
    if let Some(d) = e.execution_succeeded_event_details() {
        add(
            "executionSucceededEventDetails",
            vec![("output", json!(d.output()))],
        );
    }
    if let Some(d) = e.execution_failed_event_details() {
        add(
            "executionFailedEventDetails",
            vec![("error", json!(d.error())), ("cause", json!(d.cause()))],
        );
    }
    if let Some(d) = e.execution_aborted_event_details() {
        add(
            "executionAbortedEventDetails",
            vec![("error", json!(d.error())), ("cause", json!(d.cause()))],
        );
    }
    if let Some(d) = e.execution_timed_out_event_details() {
        add(
            "executionTimedOutEventDetails",
            vec![("error", json!(d.error())), ("cause", json!(d.cause()))],
        );
    }
    if let Some(d) = e.execution_redriven_event_details() {
        add(
            "executionRedrivenEventDetails",
            vec![("redriveCount", json!(d.redrive_count()))],
        );
    }
    if let Some(d) = e.state_entered_event_details() {
        add(
            "stateEnteredEventDetails",
            vec![("name", json!(d.name())), ("input", json!(d.input()))],
        );
    }
    if let Some(d) = e.state_exited_event_details() {
        add(
            "stateExitedEventDetails",
            vec![("name", json!(d.name())), ("output", json!(d.output()))],
        );
    }
    if let Some(d) = e.task_scheduled_event_details() {
        add(
            "taskScheduledEventDetails",
            vec![
                ("resourceType", json!(d.resource_type())),
                ("resource", json!(d.resource())),
                ("parameters", json!(d.parameters())),
            ],
        );
    }
    if let Some(d) = e.task_succeeded_event_details() {
        add(
            "taskSucceededEventDetails",
            vec![("output", json!(d.output()))],
        );
    }
    if let Some(d) = e.task_failed_event_details() {
        add(
            "taskFailedEventDetails",
            vec![("error", json!(d.error())), ("cause", json!(d.cause()))],
        );
    }
    if let Some(d) = e.task_timed_out_event_details() {
        add(
            "taskTimedOutEventDetails",
            vec![("error", json!(d.error())), ("cause", json!(d.cause()))],
        );
    }
    if let Some(d) = e.task_start_failed_event_details() {
        add(
            "taskStartFailedEventDetails",
            vec![("error", json!(d.error())), ("cause", json!(d.cause()))],
        );
    }
    if let Some(d) = e.task_submit_failed_event_details() {
        add(
            "taskSubmitFailedEventDetails",
            vec![("error", json!(d.error())), ("cause", json!(d.cause()))],
        );
    }
    Value::Object(out)
}

/// One past execution of a state machine, as `ListExecutions` gives it.
#[derive(Clone, Debug)]
pub struct Listed {
    pub arn: String,
    pub name: String,
    pub status: String,
    /// Epoch milliseconds.
    pub start: i64,
}

/// The executions of `state_machine_arn` that started at or after `since` (epoch milliseconds), newest first.
pub async fn list(
    client: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    since: i64,
) -> Result<Vec<Listed>, FetchError> {
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_executions()
            .state_machine_arn(state_machine_arn)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(refused("states:ListExecutions"))?;
        for e in page.executions() {
            let start = (e.start_date().as_secs_f64() * 1000.0).round() as i64;
            if start >= since {
                listed.push(Listed {
                    arn: e.execution_arn().to_owned(),
                    name: e.name().to_owned(),
                    status: e.status().as_str().to_owned(),
                    start,
                });
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    listed.sort_by_key(|l| std::cmp::Reverse(l.start));
    Ok(listed)
}
