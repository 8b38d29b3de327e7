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

use aws_sdk_sfn::types::ExecutionStatus;
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actions::{Action, Invoke};
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
}

impl Params {
    /// `Stepback.InvalidInput` naming every key of the input that `[input]` does not declare, each with the
    /// closest declared name.
    pub fn check_input(&self) -> Result<(), ActionError> {
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
    async fn check(clients: &Clients, _: &Known, execution: &Execution) -> Vec<Finding> {
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
        vec![finding]
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
            _ => done(&Output {
                running: running.len(),
            }),
        }
    }
}
