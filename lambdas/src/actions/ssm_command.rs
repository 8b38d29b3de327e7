//! `ssm.command`: SendCommand with `AWS-RunShellScript`, then poll the command (ListCommands) until it has
//! finished on every instance, and collect each instance's output (GetCommandInvocation). The command's comment carries a marker derived from the execution and step, so a retried
//! `start` finds the command it sent (ListCommands) instead of running the script twice.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_ssm::types::{
    CommandFilter, CommandFilterKey, CommandStatus, InstanceInformationStringFilter, Target,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::retry::RetryConfig;
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known, Unknown};
use crate::shell::{self, ShellLine};
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub instance_ids: Option<Vec<String>>,
    pub tags: Option<BTreeMap<String, String>>,
    /// Lines of one script; a line that holds values arrives as text and values apart ([`crate::shell`]).
    pub commands: Vec<ShellLine>,
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
/// The output a step passes on is for people and later steps' params, not for logs: the catalog bounds it, as
/// JSON, so that the state data stays under Step Functions' 256 KB.
fn output_limit() -> usize {
    catalog::action("ssm.command")
        .and_then(|a| a.output("output"))
        .map_or(catalog::TEXT_BYTES, |o| o.max_bytes)
}
/// An earlier attempt of the same step was minutes ago; a day bounds the ListCommands scan.
const LOOKBACK: Duration = Duration::from_secs(24 * 60 * 60);

/// `start` sends the command; `poll` until every instance finished.
pub struct SsmCommand;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<SsmCommand>()];

impl Action for SsmCommand {
    const NAME: &str = "ssm.command";
    type Params = Params;

    /// Every instance named, or some instance with the tags, is managed by SSM (its agent reports in).
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let (filter, resource, named) = match (
            params.optional::<Vec<String>>("instance_ids"),
            params.optional::<BTreeMap<String, String>>("tags"),
        ) {
            (Err(unknown), _) | (_, Err(unknown)) => return vec![unknown.finding("EC2 instances")],
            (Ok(Some(ids)), Ok(None)) => (
                vec![
                    InstanceInformationStringFilter::builder()
                        .key("InstanceIds")
                        .set_values(Some(ids.clone()))
                        .build(),
                ],
                format!("instances {}", ids.join(", ")),
                ids,
            ),
            (Ok(None), Ok(Some(tags))) => (
                tags.iter()
                    .map(|(k, v)| {
                        InstanceInformationStringFilter::builder()
                            .key(format!("tag:{k}"))
                            .values(v)
                            .build()
                    })
                    .collect(),
                format!(
                    "instances tagged {}",
                    tags.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Vec::new(),
            ),
            _ => {
                return vec![
                    Unknown::Invalid("give exactly one of `instance_ids` and `tags`".into())
                        .finding("EC2 instances"),
                ];
            }
        };
        let mut managed = Vec::new();
        let mut pages = clients
            .aws(aws_sdk_ssm::Client::new)
            .describe_instance_information()
            .set_filters(Some(filter.into_iter().flatten().collect()))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            match item {
                Ok(info) => managed.extend(info.instance_id),
                Err(e) => {
                    let error = ActionError::aws(format!("describe the SSM-managed {resource}"), e);
                    return vec![check::failed(resource, &error, "")];
                }
            }
        }
        let unmanaged: Vec<_> = named
            .iter()
            .filter(|id| !managed.contains(id))
            .cloned()
            .collect();
        let fix = "run the SSM agent on them, with an instance profile that allows it                    (AmazonSSMManagedInstanceCore)";
        if !unmanaged.is_empty() {
            return vec![check::bad(
                Verdict::NotReady,
                resource,
                format!("not managed by SSM: {}", unmanaged.join(", ")),
                fix,
            )];
        }
        if managed.is_empty() {
            return vec![check::bad(
                Verdict::Missing,
                resource,
                "no SSM-managed instance",
                fix,
            )];
        }
        vec![check::ok(
            resource,
            format!("{} managed by SSM", managed.len()),
        )]
    }
}

impl LongAction for SsmCommand {
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
            .aws(aws_sdk_ssm::Client::new)
            .send_command()
            .document_name(DOCUMENT)
            .set_instance_ids(p.instance_ids.clone())
            .set_targets(targets)
            .parameters("commands", shell::script(&p.commands)?)
            .comment(&marker);
        if let Some(directory) = &p.working_directory {
            send = send.parameters("workingDirectory", vec![directory.clone()]);
        }
        // Each attempt sends a command (SendCommand takes no client token), and a lost answer would leave one
        // more: no attempt is repeated by the SDK; after a failure the marker says whether it was sent.
        let sent = send
            .customize()
            .config_override(
                aws_sdk_ssm::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await;
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => {
                return match find_sent(clients, &marker).await? {
                    Some(command_id) => Ok(State { command_id }),
                    None => Err(ActionError::aws(format!("send {DOCUMENT} to {on}"), e)),
                };
            }
        };
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
        call: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let id = &state.command_id;
        let listed = clients
            .aws(aws_sdk_ssm::Client::new)
            .list_commands()
            .command_id(id)
            .send()
            .await
            .map_err(|e| ActionError::aws(format!("describe SSM command `{id}`"), e))?;
        let command = listed.commands().first().ok_or_else(|| {
            ActionError::new(ErrorName::NotFound, format!("SSM command `{id}` not found"))
        })?;
        let status = command.status().cloned().unwrap_or(CommandStatus::Pending);
        if matches!(
            status,
            CommandStatus::Pending | CommandStatus::InProgress | CommandStatus::Cancelling
        ) {
            let progress = format!(
                "SSM command `{id}` is {}: {} of {} instances done",
                status.as_str(),
                command.completed_count(),
                command.target_count()
            );
            return running(&state, progress);
        }
        // The instances asked for, whatever the answer lists (moto 5.2.5 lists every instance it knows).
        let asked = call
            .params
            .instance_ids
            .as_deref()
            .unwrap_or(command.instance_ids());
        let output = cut(&outputs(clients, id, asked).await?, output_limit());
        if status == CommandStatus::Success {
            return done(&Output {
                command_id: state.command_id,
                output,
            });
        }
        Err(ActionError::new(
            ErrorName::Failed,
            format!(
                "SSM command `{id}` ended {} ({} of {} instances failed); output: {output}",
                status.as_str(),
                command.error_count(),
                command.target_count()
            ),
        ))
    }
}

/// Each instance's status and standard output. A command sent to tags names its instances only in its
/// invocations (ListCommandInvocations, which moto 5.2.5 does not implement; explicit ids need no call).
async fn outputs(
    clients: &Clients,
    id: &str,
    instance_ids: &[String],
) -> Result<String, ActionError> {
    let instance_ids = if instance_ids.is_empty() {
        let invocations = clients
            .aws(aws_sdk_ssm::Client::new)
            .list_command_invocations()
            .command_id(id)
            .send()
            .await
            .map_err(|e| ActionError::aws(format!("list invocations of SSM command `{id}`"), e))?;
        invocations
            .command_invocations()
            .iter()
            .filter_map(|i| i.instance_id.clone())
            .collect()
    } else {
        instance_ids.to_vec()
    };
    let mut output = String::new();
    for instance in &instance_ids {
        let invocation = clients
            .aws(aws_sdk_ssm::Client::new)
            .get_command_invocation()
            .command_id(id)
            .instance_id(instance)
            .send()
            .await
            .map_err(|e| {
                ActionError::aws(
                    format!("get the output of SSM command `{id}` on `{instance}`"),
                    e,
                )
            })?;
        let status = invocation.status().map_or("unknown", |s| s.as_str());
        output.push_str(&format!("== {instance}: {status} ==\n"));
        output.push_str(invocation.standard_output_content().unwrap_or_default());
        output.push('\n');
        if output.len() > output_limit() {
            break;
        }
    }
    Ok(output)
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
        .aws(aws_sdk_ssm::Client::new)
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

/// The text as it fits in `limit` bytes of JSON, cut on a character boundary and ending with how much was cut.
fn cut(text: &str, limit: usize) -> String {
    let json_len = |text: &str| serde_json::to_string(text).map_or(usize::MAX, |json| json.len());
    if json_len(text) <= limit {
        return text.to_owned();
    }
    let mut end = text.len().min(limit);
    loop {
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let kept = format!(
            "{}\n… (cut: {} more bytes of output)",
            &text[..end],
            text.len() - end
        );
        let over = json_len(&kept).saturating_sub(limit);
        if over == 0 || end == 0 {
            return kept;
        }
        end = end.saturating_sub(over);
    }
}

#[cfg(test)]
mod tests {
    /// Output over the catalog's bound is cut to fit it as JSON (quotes and newlines escaped), and says so.
    #[test]
    fn long_output_is_cut_to_the_catalog_bound_saying_so() {
        let limit = super::output_limit();
        let text = "line \"quoted\" é\n".repeat(2_000);
        let kept = super::cut(&text, limit);
        let json = serde_json::to_string(&kept).expect("a string serialises");
        assert!(json.len() <= limit, "{} > {limit}", json.len());
        // Escaped characters take two bytes of JSON, so the cut may keep a little less than the bound.
        assert!(
            json.len() > limit * 9 / 10,
            "{} is far below {limit}",
            json.len()
        );
        assert!(kept.contains("more bytes of output)"), "{kept}");
        assert_eq!(super::cut("short", limit), "short");
    }
}
