//! `guard`, the first task of every execution:
//! - `Stepback.InvalidInput` when the input has a key that `[input]` does not declare (a misspelt
//!   `restor_data` would otherwise leave `restore_data` at its default, silently), naming the closest declared
//!   one; JSONPath Choice rules cannot list an object's keys, so this is the first place that can;
//! - ListExecutions RUNNING for this state machine; `Stepback.AlreadyRunning` when another execution than this
//!   one runs, so two rollbacks never act on the same resources at once.

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

/// Fails when another execution runs.
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
        let mut running = 0;
        let mut others = Vec::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| ActionError::aws(&attempted, e))?;
            running += 1;
            if item.execution_arn() != execution.id {
                others.push(item.name().to_owned());
            }
        }
        if !others.is_empty() {
            return Err(ActionError::new(
                ErrorName::AlreadyRunning,
                format!(
                    "state machine `{}` is already running as {}",
                    execution.state_machine,
                    others.join(", ")
                ),
            ));
        }
        done(&Output { running })
    }
}
