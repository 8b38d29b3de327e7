//! `guard`: ListExecutions RUNNING for this state machine; `Stepback.AlreadyRunning` when another execution
//! than this one runs, so two rollbacks never act on the same resources at once.

use aws_sdk_sfn::types::ExecutionStatus;
use catalog::ErrorName;
use catalog::contract::Response;
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Invoke};
use crate::{ActionError, Call, Clients, done};

/// The guard takes no params; the state machine comes from the execution context.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

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
}

impl Invoke for Guard {
    async fn invoke(clients: &Clients, call: Call<Params>) -> Result<Response, ActionError> {
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
