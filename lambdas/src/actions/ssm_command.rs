//! `ssm.command`: SendCommand with `AWS-RunShellScript`, then ListCommandInvocations until every instance
//! has finished. The command's comment carries a marker derived from the execution and step, so a retried
//! `start` finds the command it sent (ListCommands) instead of running the script twice.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_ssm::types::{CommandFilter, CommandFilterKey, CommandInvocationStatus, Target};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use catalog::ErrorName;
use catalog::contract::Response;
use serde::{Deserialize, Serialize};

use crate::actions::LongAction;
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub instance_ids: Option<Vec<String>>,
    pub tags: Option<BTreeMap<String, String>>,
    pub commands: Vec<String>,
    pub working_directory: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub command_id: String,
    pub output: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    command_id: String,
}

const DOCUMENT: &str = "AWS-RunShellScript";
/// The output a step passes on is for people and later steps' params, not for logs.
const OUTPUT_LIMIT: usize = 4 * 1024;
/// An earlier attempt of the same step was minutes ago; a day bounds the ListCommands scan.
const LOOKBACK: Duration = Duration::from_secs(24 * 60 * 60);

/// `start` sends the command; `poll` until every instance finished.
pub struct SsmCommand;

impl LongAction for SsmCommand {
    type Params = Params;
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let p = &call.params;
        let marker = format!("stepback {} {}", call.attempt_key(), call.execution.step);
        let marker: String = marker.chars().take(100).collect(); // SSM's limit on a comment
        if let Some(command_id) = find_sent(clients, &marker).await? {
            return Ok(State { command_id });
        }
        let targets = match (&p.instance_ids, &p.tags) {
            (Some(_), None) => None,
            (None, Some(tags)) => Some(
                tags.iter()
                    .map(|(k, v)| Target::builder().key(format!("tag:{k}")).values(v).build())
                    .collect(),
            ),
            _ => {
                return Err(ActionError::invalid_input(
                    "ssm.command: give exactly one of `instance_ids` and `tags`",
                ));
            }
        };
        let on = p.instance_ids.as_ref().map_or_else(
            || {
                format!(
                    "instances tagged {}",
                    p.tags
                        .iter()
                        .flatten()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            |ids| format!("instances {}", ids.join(", ")),
        );
        let mut send = clients
            .ssm
            .send_command()
            .document_name(DOCUMENT)
            .set_instance_ids(p.instance_ids.clone())
            .set_targets(targets)
            .parameters("commands", p.commands.clone())
            .comment(&marker);
        if let Some(directory) = &p.working_directory {
            send = send.parameters("workingDirectory", vec![directory.clone()]);
        }
        let sent = send
            .send()
            .await
            .map_err(|e| ActionError::aws(format!("send {DOCUMENT} to {on}"), e))?;
        let command_id = sent.command.and_then(|c| c.command_id).ok_or_else(|| {
            ActionError::new(
                ErrorName::Failed,
                format!("send {DOCUMENT} to {on}: AWS returned no command id"),
            )
        })?;
        Ok(State { command_id })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let id = &state.command_id;
        let listed = clients
            .ssm
            .list_command_invocations()
            .command_id(id)
            .details(true)
            .send()
            .await
            .map_err(|e| ActionError::aws(format!("list invocations of SSM command `{id}`"), e))?;
        let invocations = listed.command_invocations();
        let status = |i: &aws_sdk_ssm::types::CommandInvocation| {
            i.status()
                .cloned()
                .unwrap_or(CommandInvocationStatus::Pending)
        };
        let unfinished = invocations
            .iter()
            .filter(|i| {
                matches!(
                    status(i),
                    CommandInvocationStatus::Pending
                        | CommandInvocationStatus::InProgress
                        | CommandInvocationStatus::Delayed
                        | CommandInvocationStatus::Cancelling
                )
            })
            .count();
        // Tag targets resolve after SendCommand returns, so an empty list means "not yet".
        if invocations.is_empty() || unfinished > 0 {
            let progress = format!(
                "SSM command `{id}`: {} of {} instances finished",
                invocations.len() - unfinished,
                invocations.len()
            );
            return running(&state, progress);
        }
        let mut output = String::new();
        for invocation in invocations {
            let instance = invocation.instance_id().unwrap_or("unknown instance");
            output.push_str(&format!(
                "== {instance}: {} ==\n",
                status(invocation).as_str()
            ));
            for plugin in invocation.command_plugins() {
                output.push_str(plugin.output().unwrap_or_default());
            }
            output.push('\n');
        }
        let output = cut(&output, OUTPUT_LIMIT);
        let failed: Vec<_> = invocations
            .iter()
            .filter(|i| status(i) != CommandInvocationStatus::Success)
            .map(|i| {
                format!(
                    "{} ({})",
                    i.instance_id().unwrap_or("unknown instance"),
                    status(i).as_str()
                )
            })
            .collect();
        if failed.is_empty() {
            return done(&Output {
                command_id: state.command_id,
                output,
            });
        }
        Err(ActionError::new(
            ErrorName::Failed,
            format!(
                "SSM command `{id}` failed on {}; output: {output}",
                failed.join(", ")
            ),
        ))
    }
}

async fn find_sent(clients: &Clients, marker: &str) -> Result<Option<String>, ActionError> {
    let since = DateTime::from(SystemTime::now() - LOOKBACK)
        .fmt(Format::DateTime)
        .map_err(|e| ActionError::new(ErrorName::Failed, e.to_string()))?;
    let filter = CommandFilter::builder()
        .key(CommandFilterKey::InvokedAfter)
        .value(since)
        .build()
        .map_err(|e| ActionError::new(ErrorName::Failed, e.to_string()))?;
    let mut commands = clients
        .ssm
        .list_commands()
        .filters(filter)
        .into_paginator()
        .items()
        .send();
    while let Some(command) = commands.next().await {
        let command = command.map_err(|e| {
            ActionError::aws(format!("list SSM commands sent with comment `{marker}`"), e)
        })?;
        if command.comment() == Some(marker) && command.document_name() == Some(DOCUMENT) {
            return Ok(command.command_id);
        }
    }
    Ok(None)
}

/// At most `limit` bytes, cut on a character boundary.
fn cut(text: &str, limit: usize) -> String {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
