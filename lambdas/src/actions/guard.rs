//! `guard`, the first task of every execution:
//! - `Stepback.InvalidInput` when the input has a key that `[input]` does not declare (a misspelt
//!   `restor_data` would otherwise leave `restore_data` at its default, silently), naming the closest declared
//!   one; JSONPath Choice rules cannot list an object's keys, so this is the first place that can;
//! - ListExecutions RUNNING for this state machine: the oldest running execution (start time, then ARN)
//!   proceeds, every other one raises `Stepback.AlreadyRunning` naming it, which the state machine ends
//!   cleanly. Each execution decides alone from the same list, so two alarms at once give one rollback, not
//!   none (each yielding to the other) and not two. An execution missing from the list (ListExecutions is
//!   eventually consistent) counts as the newest: it started a moment ago. ARCHITECTURE.md says what remains
//!   possible.
//! - with `[trigger]`, an execution that an alarm's event started (the rule passes the event on unchanged) and
//!   that begins within `[trigger].cooldown` of another execution's end raises `Stepback.CoolingDown`, naming
//!   that execution and how it ended, which the state machine ends cleanly; `[trigger].topic` is told first. A
//!   flapping alarm must not roll the service back release after release; a person's start is never held back.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
use aws_smithy_types::DateTime;
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actions::{Action, Invoke, notify};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done};

/// The state machine comes from the execution context.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The names `[input]` declares ([`catalog::GUARD_DECLARED`]).
    pub declared: Vec<String>,
    /// The execution input, defaults filled in ([`catalog::GUARD_INPUT`]).
    pub input: Map<String, Value>,
    /// Each string or list input's `max_length` ([`catalog::GUARD_MAX_LENGTHS`]).
    #[serde(default)]
    pub max_lengths: BTreeMap<String, usize>,
    /// The input the execution was started with ([`catalog::GUARD_STARTED_WITH`]); only with `[trigger]`.
    #[serde(default)]
    pub started_with: Option<Value>,
    /// `[trigger].cooldown` in seconds ([`catalog::GUARD_COOLDOWN`]).
    #[serde(default)]
    pub cooldown: Option<u64>,
    /// `[trigger].topic` ([`catalog::GUARD_TOPIC`]).
    #[serde(default)]
    pub topic: Option<String>,
}

impl Params {
    /// The alarm whose EventBridge event started the execution: `None` for a person's start.
    pub fn alarm(&self) -> Option<&str> {
        let event = self.started_with.as_ref()?;
        (event["detail-type"] == catalog::ALARM_DETAIL_TYPE)
            .then(|| event["detail"]["alarmName"].as_str().unwrap_or("an alarm"))
    }

    /// `Stepback.InvalidInput` naming every key of the input that `[input]` does not declare, each with the
    /// closest declared name, or every value longer than its `max_length` ([`catalog::input_length`]).
    pub fn check_input(&self) -> Result<(), ActionError> {
        self.check_keys()?;
        let too_long: Vec<String> = self
            .max_lengths
            .iter()
            .filter_map(|(name, &max)| {
                let length = catalog::input_length(self.input.get(name)?);
                (length > max).then(|| format!("`{name}` is {length} bytes long, over its max_length of {max}"))
            })
            .collect();
        if too_long.is_empty() {
            return Ok(());
        }
        Err(ActionError::invalid_input(format!(
            "the input is too long: {}",
            too_long.join("; ")
        )))
    }

    fn check_keys(&self) -> Result<(), ActionError> {
        let declared = || self.declared.iter().map(String::as_str);
        let undeclared: Vec<String> = self
            .input
            .keys()
            .filter(|key| !self.declared.contains(key))
            .map(|key| match catalog::closest(key, declared()) {
                Some(name) => format!("`{key}` (did you mean `{name}`?)"),
                None => format!("`{key}`"),
            })
            .collect();
        if undeclared.is_empty() {
            return Ok(());
        }
        let known = match self.declared.as_slice() {
            [] => "none".to_owned(),
            names => names.join(", "),
        };
        Err(ActionError::invalid_input(format!(
            "the input has {} that [input] does not declare: {}; it declares: {known}",
            if undeclared.len() == 1 {
                "a key"
            } else {
                "keys"
            },
            undeclared.join(", ")
        )))
    }
}

#[derive(Debug, Serialize)]
pub struct Output {
    /// Executions running, this one included.
    pub running: usize,
}

/// Fails when an older execution runs.
pub struct Guard;

impl Action for Guard {
    const NAME: &str = "guard";
    type Params = Params;

    /// The role may list the machine's executions; a rollback running now is said, not failed.
    /// With `[trigger].topic`, the topic that the cooldown tells exists too.
    async fn check(clients: &Clients, params: &Known, execution: &Execution) -> Vec<Finding> {
        let machine = &execution.state_machine;
        let resource = format!("state machine `{machine}`");
        let answer = clients
            .aws(aws_sdk_sfn::Client::new)
            .list_executions()
            .state_machine_arn(machine)
            .status_filter(ExecutionStatus::Running)
            .send()
            .await;
        let finding = match answer {
            Ok(page) => check::ok(
                resource,
                match page.executions().len() {
                    0 => "no rollback running".to_owned(),
                    n => format!("{n} rollback(s) running now"),
                },
            ),
            Err(e) => check::failed(
                resource,
                &ActionError::aws(format!("list the RUNNING executions of `{machine}`"), e),
                "deploy the stack (`stepback deploy`)",
            ),
        };
        let mut findings = vec![finding];
        if !matches!(params.optional::<String>(catalog::GUARD_TOPIC), Ok(None)) {
            findings.push(notify::topic_exists(clients, params).await);
        }
        findings
    }
}

impl Invoke for Guard {
    async fn invoke(clients: &Clients, call: Call<Params>) -> Result<Response, ActionError> {
        call.params.check_input()?;
        let execution = &call.execution;
        let attempted = format!(
            "list RUNNING executions of state machine `{}`",
            execution.state_machine
        );
        let mut pages = clients
            .aws(aws_sdk_sfn::Client::new)
            .list_executions()
            .state_machine_arn(&execution.state_machine)
            .status_filter(ExecutionStatus::Running)
            .into_paginator()
            .items()
            .send();
        let mut running = Vec::new();
        while let Some(item) = pages.next().await {
            running.push(item.map_err(|e| ActionError::aws(&attempted, e))?);
        }
        let first = running
            .iter()
            .min_by_key(|e| (e.start_date().as_nanos(), e.execution_arn()));
        // Missing from its own list (eventual consistency), it started a moment ago.
        let started = running
            .iter()
            .find(|e| e.execution_arn() == execution.id)
            .map_or_else(|| DateTime::from(SystemTime::now()), |e| *e.start_date());
        match first {
            Some(oldest) if oldest.execution_arn() != execution.id => Err(ActionError::new(
                ErrorName::AlreadyRunning,
                format!(
                    "another rollback is running: execution `{}` of state machine `{}`, started {}",
                    oldest.name(),
                    execution.state_machine,
                    oldest
                        .start_date()
                        .fmt(aws_smithy_types::date_time::Format::DateTime)
                        .unwrap_or_default(),
                ),
            )),
            _ => {
                if let (Some(alarm), Some(cooldown)) = (call.params.alarm(), call.params.cooldown)
                    && cooldown > 0
                {
                    cool_down(clients, execution, &started, cooldown, alarm, &call.params).await?;
                }
                done(&Output {
                    running: running.len(),
                })
            }
        }
    }
}

/// `Stepback.CoolingDown` when another execution of this state machine ended less than `cooldown` seconds
/// before this one started, after telling `[trigger].topic`. Every execution that ended counts, one held back
/// too: an alarm that keeps firing keeps being held back until it has been quiet for the cooldown.
async fn cool_down(
    clients: &Clients,
    execution: &Execution,
    started: &DateTime,
    cooldown: u64,
    alarm: &str,
    params: &Params,
) -> Result<(), ActionError> {
    let machine = &execution.state_machine;
    let attempted = format!("list the executions of state machine `{machine}`");
    // Newest started first; one that started long ago may have ended last (a long approval), so every page.
    let mut pages = clients
        .aws(aws_sdk_sfn::Client::new)
        .list_executions()
        .state_machine_arn(machine)
        .into_paginator()
        .items()
        .send();
    let mut last: Option<ExecutionListItem> = None;
    while let Some(item) = pages.next().await {
        let item = item.map_err(|e| ActionError::aws(&attempted, e))?;
        let newer = match (item.stop_date(), last.as_ref().and_then(|l| l.stop_date())) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(stop), Some(best)) => stop.as_nanos() > best.as_nanos(),
        };
        if newer && item.execution_arn() != execution.id {
            last = Some(item);
        }
    }
    let Some((previous, stopped)) = last.as_ref().and_then(|l| Some((l, l.stop_date()?))) else {
        return Ok(());
    };
    let since = started.as_nanos() - stopped.as_nanos();
    if since >= i128::from(cooldown) * 1_000_000_000 {
        return Ok(());
    }
    let minutes = (since.max(0) / 60_000_000_000).to_string();
    let mut message = format!(
        "a rollback already ran: execution `{}` of state machine `{machine}` ended {} at {}, {minutes} minute(s) \
         before alarm `{alarm}` started this one; within [trigger].cooldown ({}) of the last execution's end an \
         alarm does not roll back again. Start a rollback by hand if one is needed",
        previous.name(),
        previous.status(),
        stopped
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default(),
        cooldown_text(cooldown),
    );
    if let Some(topic) = &params.topic {
        let subject = format!("Rollback not started: {alarm} fired within the cooldown");
        match notify::publish(clients, topic, Some(&subject), message.clone()).await {
            Ok(_) => message.push_str(&format!(" (told SNS topic `{topic}`)")),
            Err(e) => message.push_str(&format!(" (not told: {e})")),
        }
    }
    Err(ActionError::new(ErrorName::CoolingDown, message))
}

/// `3600` → `1h`, `5400` → `1h30m`, `90` → `1m30s`: the language's way of writing a duration.
fn cooldown_text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    [(h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}
