//! The input: an execution history as `GetExecutionHistory` returns it (the API's JSON, with epoch-second
//! timestamps, or the AWS CLI's, with RFC 3339 ones), plus `DescribeExecution` and the state machine's definition
//! when the caller has them. One file holds all three (see [`Bundle`]); the output of
//! `aws stepfunctions get-execution-history` alone is a bundle without the other two.

use std::time::{Duration, UNIX_EPOCH};

use catalog::manifest::Manifest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AuditError;

/// What replaces the task token wherever the history carries it.
pub const REDACTED: &str = "[redacted]";

/// The file `stepback audit --history` reads and `stepback audit --save-history` writes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// `GetExecutionHistory`'s `events`, every page, in order.
    pub events: Vec<Value>,
    /// `DescribeExecution`'s answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Value>,
    /// The definition the execution ran (`DescribeStateMachineForExecution`'s `definition`), as a string or as
    /// JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
    /// `GetExecutionHistory`'s token for the next page, when a page was saved as the last one: the history is
    /// cut short. The API's JSON spells it `nextToken`, the AWS CLI's (with `--max-items`) `NextToken`.
    #[serde(default, alias = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<Value>,
}

impl Bundle {
    /// Parses a bundle, or the output of `get-execution-history` alone.
    pub fn from_json(text: &str) -> Result<Bundle, AuditError> {
        let value: Value = serde_json::from_str(text).map_err(|e| AuditError::NotJson {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if !value.is_object() {
            return Err(AuditError::NotHistory(
                "the file holds no JSON object".to_owned(),
            ));
        }
        if !value.get("events").is_some_and(Value::is_array) {
            return Err(AuditError::NotHistory(
                "it has no `events` list (the output of `aws stepfunctions get-execution-history`)"
                    .to_owned(),
            ));
        }
        serde_json::from_value(value).map_err(|e| AuditError::NotHistory(e.to_string()))
    }

    /// Replaces the task token wherever the events carry it with [`REDACTED`]: in `TaskScheduled`'s
    /// parameters (`Payload.task_token`), and in any other text that quotes it.
    pub fn redact(&mut self) {
        let mut tokens = Vec::new();
        for event in &mut self.events {
            let Some(Value::String(text)) =
                event.pointer_mut("/taskScheduledEventDetails/parameters")
            else {
                continue;
            };
            let Ok(mut parameters) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if let Some(token) = parameters.pointer_mut("/Payload/task_token") {
                if let Some(found) = token.as_str().filter(|t| !t.is_empty() && *t != REDACTED) {
                    tokens.push(found.to_owned());
                }
                *token = Value::String(REDACTED.to_owned());
                *text = parameters.to_string();
            }
        }
        if !tokens.is_empty() {
            self.events.iter_mut().for_each(|e| scrub(e, &tokens));
        }
    }
}

fn scrub(value: &mut Value, tokens: &[String]) {
    match value {
        Value::String(text) => {
            for token in tokens {
                if text.contains(token.as_str()) {
                    *text = text.replace(token.as_str(), REDACTED);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, tokens)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub(v, tokens)),
        _ => {}
    }
}

/// One history event, typed for what the audit reads. Times are milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: i64,
    pub previous: i64,
    pub at: i64,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    ExecutionStarted {
        input: Option<String>,
    },
    /// `ExecutionSucceeded`, `ExecutionFailed`, `ExecutionAborted`, `ExecutionTimedOut`.
    ExecutionEnded {
        status: String,
        error: Option<String>,
        cause: Option<String>,
    },
    /// The API reference's `ExecutionRedriven` event: `executionRedrivenEventDetails.redriveCount`.
    ExecutionRedriven {
        count: Option<u64>,
    },
    StateEntered {
        name: String,
        input: Option<String>,
    },
    StateExited {
        name: String,
        output: Option<String>,
    },
    /// `TaskScheduled`: the parameters as JSON, the task token redacted.
    TaskScheduled {
        parameters: Value,
    },
    TaskSucceeded {
        output: Option<String>,
    },
    /// `TaskFailed`, `TaskTimedOut`, `TaskStartFailed` or `TaskSubmitFailed`: each ends the task (the API
    /// reference's HistoryEvent types; a task whose resource could not be started or submitted never runs).
    TaskFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    /// `<Type>StateAborted`: the state was stopped (a sibling branch failed, or the execution was stopped).
    StateAborted,
    Other(String),
}

/// `DescribeExecution`'s fields that the report shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Execution {
    pub arn: Option<String>,
    pub name: Option<String>,
    pub state_machine_arn: Option<String>,
    pub status: Option<String>,
    pub start: Option<i64>,
    pub stop: Option<i64>,
    pub redrive_count: Option<u64>,
}

/// The parsed input of an audit.
#[derive(Clone, Debug)]
pub struct History {
    pub events: Vec<Event>,
    pub execution: Option<Execution>,
    /// The definition, parsed.
    pub definition: Option<Value>,
    /// What the saved history lacks, as [`Gap`]s: the audit says so rather than reading it as whole.
    pub gaps: Vec<Gap>,
}

/// What a saved history can lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gap {
    /// Saved with a `nextToken`: the events after its last page are missing.
    CutShort,
    /// Saved without execution data (`includeExecutionData: false`): the events carry no input or output.
    NoExecutionData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    timestamp: Value,
    #[serde(rename = "type")]
    kind: String,
    id: i64,
    #[serde(default)]
    previous_event_id: i64,
    execution_started_event_details: Option<Io>,
    execution_failed_event_details: Option<ErrorCause>,
    execution_aborted_event_details: Option<ErrorCause>,
    execution_timed_out_event_details: Option<ErrorCause>,
    execution_redriven_event_details: Option<Redriven>,
    state_entered_event_details: Option<Io>,
    state_exited_event_details: Option<Io>,
    task_scheduled_event_details: Option<Scheduled>,
    task_succeeded_event_details: Option<Io>,
    task_failed_event_details: Option<ErrorCause>,
    task_timed_out_event_details: Option<ErrorCause>,
    task_start_failed_event_details: Option<ErrorCause>,
    task_submit_failed_event_details: Option<ErrorCause>,
}

#[derive(Default, Deserialize)]
struct Io {
    #[serde(default)]
    name: String,
    input: Option<String>,
    output: Option<String>,
}

#[derive(Default, Deserialize)]
struct ErrorCause {
    error: Option<String>,
    cause: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Redriven {
    redrive_count: Option<u64>,
}

#[derive(Deserialize)]
struct Scheduled {
    #[serde(default)]
    parameters: String,
}

impl History {
    pub fn from_json(text: &str) -> Result<History, AuditError> {
        History::from_bundle(Bundle::from_json(text)?)
    }

    /// Redacts the task token, then types the events.
    pub fn from_bundle(mut bundle: Bundle) -> Result<History, AuditError> {
        if bundle.events.is_empty() {
            return Err(AuditError::NotHistory(
                "its `events` list is empty".to_owned(),
            ));
        }
        bundle.redact();
        let mut gaps = Vec::new();
        if bundle.next_token.as_ref().is_some_and(|t| !t.is_null()) {
            gaps.push(Gap::CutShort);
        }
        // With execution data, `ExecutionStarted` always has its input (`{}` at least).
        let started = bundle
            .events
            .iter()
            .find(|e| e["type"] == "ExecutionStarted");
        if started.is_some_and(|e| e.pointer("/executionStartedEventDetails/input").is_none()) {
            gaps.push(Gap::NoExecutionData);
        }
        let mut events = Vec::with_capacity(bundle.events.len());
        for (index, value) in bundle.events.into_iter().enumerate() {
            let raw: RawEvent = serde_json::from_value(value)
                .map_err(|e| AuditError::NotHistory(format!("event {}: {e}", index + 1)))?;
            events.push(typed(raw)?);
        }
        events.sort_by_key(|e| e.id);
        let execution = bundle.execution.as_ref().map(execution);
        let definition =
            match bundle.definition {
                Some(Value::String(text)) => Some(serde_json::from_str(&text).map_err(|e| {
                    AuditError::NotHistory(format!("its definition is not JSON: {e}"))
                })?),
                other => other,
            };
        Ok(History {
            events,
            execution,
            definition,
            gaps,
        })
    }
}

impl Event {
    /// One event in the API's JSON shape (`GetExecutionHistory`'s, as [`Bundle::events`] holds them).
    pub fn from_json(value: Value) -> Result<Event, AuditError> {
        let raw: RawEvent =
            serde_json::from_value(value).map_err(|e| AuditError::NotHistory(e.to_string()))?;
        typed(raw)
    }
}

impl History {
    /// The manifest the compiler wrote into the definition: which states belong to which step.
    pub fn manifest(&self) -> Result<Manifest, AuditError> {
        let definition = self.definition.as_ref().ok_or(AuditError::NoDefinition)?;
        let comment = definition
            .get("Comment")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Manifest::from_comment(comment)
            .ok_or(AuditError::NotStepback)?
            .map_err(|e| AuditError::BadManifest(e.to_string()))
    }
}

fn typed(raw: RawEvent) -> Result<Event, AuditError> {
    let at = timestamp(&raw.timestamp).ok_or_else(|| {
        AuditError::NotHistory(format!(
            "event {} has no readable timestamp: {}",
            raw.id, raw.timestamp
        ))
    })?;
    let ended = |status: &str, details: Option<ErrorCause>| {
        let details = details.unwrap_or_default();
        Kind::ExecutionEnded {
            status: status.to_owned(),
            error: details.error,
            cause: details.cause,
        }
    };
    let kind = match raw.kind.as_str() {
        "ExecutionStarted" => Kind::ExecutionStarted {
            input: raw.execution_started_event_details.and_then(|d| d.input),
        },
        "ExecutionSucceeded" => ended("SUCCEEDED", None),
        "ExecutionFailed" => ended("FAILED", raw.execution_failed_event_details),
        "ExecutionAborted" => ended("ABORTED", raw.execution_aborted_event_details),
        "ExecutionTimedOut" => ended("TIMED_OUT", raw.execution_timed_out_event_details),
        "ExecutionRedriven" => Kind::ExecutionRedriven {
            count: raw
                .execution_redriven_event_details
                .and_then(|d| d.redrive_count),
        },
        "TaskScheduled" => {
            let text = raw
                .task_scheduled_event_details
                .map(|d| d.parameters)
                .unwrap_or_default();
            Kind::TaskScheduled {
                parameters: serde_json::from_str(&text).unwrap_or(Value::Null),
            }
        }
        "TaskSucceeded" => Kind::TaskSucceeded {
            output: raw.task_succeeded_event_details.and_then(|d| d.output),
        },
        "TaskFailed" | "TaskTimedOut" | "TaskStartFailed" | "TaskSubmitFailed" => {
            let details = raw
                .task_failed_event_details
                .or(raw.task_timed_out_event_details)
                .or(raw.task_start_failed_event_details)
                .or(raw.task_submit_failed_event_details)
                .unwrap_or_default();
            Kind::TaskFailed {
                error: details.error,
                cause: details.cause,
            }
        }
        other if other.ends_with("StateEntered") => {
            let details = raw.state_entered_event_details.unwrap_or_default();
            Kind::StateEntered {
                name: details.name,
                input: details.input,
            }
        }
        other if other.ends_with("StateExited") => {
            let details = raw.state_exited_event_details.unwrap_or_default();
            Kind::StateExited {
                name: details.name,
                output: details.output,
            }
        }
        other if other.ends_with("StateAborted") => Kind::StateAborted,
        other => Kind::Other(other.to_owned()),
    };
    Ok(Event {
        id: raw.id,
        previous: raw.previous_event_id,
        at,
        kind,
    })
}

fn execution(value: &Value) -> Execution {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    Execution {
        arn: text("executionArn"),
        name: text("name"),
        state_machine_arn: text("stateMachineArn"),
        status: text("status"),
        start: value.get("startDate").and_then(timestamp),
        stop: value.get("stopDate").and_then(timestamp),
        redrive_count: value.get("redriveCount").and_then(Value::as_u64),
    }
}

/// Epoch seconds (the API's JSON) or RFC 3339 with `Z` or an offset (the AWS CLI's), as epoch milliseconds.
pub fn timestamp(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            seconds
                .is_finite()
                .then(|| (seconds * 1000.0).round() as i64)
        }
        Value::String(text) => rfc3339(text),
        _ => None,
    }
}

fn rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    // humantime reads `Z` or no zone; an offset such as `+01:00` is taken off by hand.
    let (local, offset_minutes) = match text.len().checked_sub(6).and_then(|i| {
        let (head, zone) = text.split_at_checked(i)?;
        let sign = match zone.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return None,
        };
        let (hours, minutes) = zone.get(1..)?.split_once(':')?;
        let minutes = hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?;
        Some((head, sign * minutes))
    }) {
        Some(split) => split,
        None => (text, 0),
    };
    let time = humantime::parse_rfc3339_weak(local.trim_end_matches('Z')).ok()?;
    let millis = i64::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some(millis - offset_minutes * 60_000)
}

/// Epoch milliseconds as RFC 3339 UTC with milliseconds.
pub fn format_time(millis: i64) -> String {
    let time = u64::try_from(millis)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .unwrap_or(UNIX_EPOCH);
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_both_shapes() {
        let api = timestamp(&serde_json::json!(1_700_000_000.123));
        let cli = timestamp(&serde_json::json!("2023-11-14T23:13:20.123000+01:00"));
        let utc = timestamp(&serde_json::json!("2023-11-14T22:13:20.123Z"));
        assert_eq!(api, Some(1_700_000_000_123));
        assert_eq!(cli, api);
        assert_eq!(utc, api);
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    /// A task whose resource could not be started or submitted never runs: `TaskStartFailed` and
    /// `TaskSubmitFailed` (the API reference's HistoryEvent types, each with its own details) end it as a failure.
    #[test]
    fn a_task_that_failed_to_start_or_submit_failed() {
        for (kind, details) in [
            ("TaskStartFailed", "taskStartFailedEventDetails"),
            ("TaskSubmitFailed", "taskSubmitFailedEventDetails"),
        ] {
            let text = serde_json::json!({ "events": [{
                "timestamp": 1_700_000_000.0, "type": kind, "id": 7, "previousEventId": 6,
                details: { "resourceType": "lambda", "resource": "invoke", "error": "Lambda.AWSLambdaException", "cause": "Rate exceeded" },
            }] })
            .to_string();
            let history = History::from_json(&text).expect("a history");
            assert_eq!(
                history.events[0].kind,
                Kind::TaskFailed {
                    error: Some("Lambda.AWSLambdaException".to_owned()),
                    cause: Some("Rate exceeded".to_owned()),
                },
                "{kind}"
            );
        }
    }
}
