//! `asg.suspend` and `asg.resume`: suspend an Auto Scaling group's processes so that it launches and
//! terminates nothing during the rollback, then resume exactly the ones the suspend step suspended, never
//! those that were suspended before it ran.
//!
//! A retried `asg.suspend` must answer the same list, though by then its processes look suspended already.
//! So before suspending, the step records its list on the group as the tag `stepback:suspended` =
//! `<attempt key> <processes>`, and an attempt that finds its own key answers the recorded list. There is one
//! such tag per group, overwritten by the next suspend, so they never pile up against the 50-tag limit.

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::types::{AutoScalingGroup, Tag};
use catalog::contract::{Execution, Finding, Response};
use catalog::{AUTO_SCALING_PROCESSES as PROCESSES, ErrorName};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, Invoke};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspendParams {
    pub group: String,
    /// Default: every process.
    pub processes: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct SuspendOutput {
    pub suspended: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeParams {
    pub group: String,
    pub processes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ResumeOutput {
    pub resumed: Vec<String>,
}

/// The tag that records what a suspend step suspended.
const RECORD: &str = "stepback:suspended";

/// Suspends the asked processes that are not suspended yet, and answers those.
pub struct AsgSuspend;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::invoke::<AsgSuspend>(), Handler::invoke::<AsgResume>()];

impl Action for AsgSuspend {
    const NAME: &str = "asg.suspend";
    type Params = SuspendParams;

    /// The group exists; the processes suspended already are said, since the step leaves them to others.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        vec![group_exists(clients, params).await]
    }
}

impl Invoke for AsgSuspend {
    async fn invoke(clients: &Clients, call: Call<SuspendParams>) -> Result<Response, ActionError> {
        let name = &call.params.group;
        let wanted = match &call.params.processes {
            Some(processes) => known(processes)?,
            // Not AWS's own "all": the step must know, and record, which processes it suspended.
            None => PROCESSES.iter().map(|p| p.to_string()).collect(),
        };
        let client = clients.aws(Client::new);
        let group = describe(&client, name).await?;
        let key = call.attempt_key();
        let suspended = match recorded(&group, &key) {
            // An earlier attempt of this step chose these; suspending them again changes nothing.
            Some(recorded) => recorded,
            None => {
                let before: Vec<_> = group
                    .suspended_processes()
                    .iter()
                    .filter_map(|p| p.process_name())
                    .collect();
                let suspended: Vec<_> = wanted
                    .into_iter()
                    .filter(|p| !before.contains(&p.as_str()))
                    .collect();
                record(&client, name, &key, &suspended).await?;
                suspended
            }
        };
        // An empty list would suspend every process.
        if !suspended.is_empty() {
            client
                .suspend_processes()
                .auto_scaling_group_name(name)
                .set_scaling_processes(Some(suspended.clone()))
                .send()
                .await
                .map_err(|e| {
                    ActionError::aws(
                        format!(
                            "suspend {} of Auto Scaling group `{name}`",
                            suspended.join(", ")
                        ),
                        e,
                    )
                })?;
        }
        done(&SuspendOutput { suspended })
    }
}

/// Resumes the given processes, normally `asg.suspend`'s `suspended` output, and nothing else.
pub struct AsgResume;

impl Action for AsgResume {
    const NAME: &str = "asg.resume";
    type Params = ResumeParams;

    /// The group exists; its processes usually come from `asg.suspend` at run time.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        vec![group_exists(clients, params).await]
    }
}

async fn group_exists(clients: &Clients, params: &Known) -> Finding {
    let name: String = match params.required("group") {
        Ok(name) => name,
        Err(unknown) => return unknown.finding("Auto Scaling group"),
    };
    let resource = format!("Auto Scaling group `{name}`");
    match describe(&clients.aws(Client::new), &name).await {
        Ok(group) => {
            let suspended: Vec<_> = group
                .suspended_processes()
                .iter()
                .filter_map(|p| p.process_name())
                .collect();
            let detail = if suspended.is_empty() {
                "exists, no process suspended".to_owned()
            } else {
                format!("exists; suspended already: {}", suspended.join(", "))
            };
            check::ok(resource, detail)
        }
        Err(error) => check::failed(
            resource,
            &error,
            "fix `group`: the name of an Auto Scaling group in the stack's region",
        ),
    }
}

impl Invoke for AsgResume {
    async fn invoke(clients: &Clients, call: Call<ResumeParams>) -> Result<Response, ActionError> {
        let name = &call.params.group;
        let processes = known(&call.params.processes)?;
        let client = clients.aws(Client::new);
        // Auto Scaling answers an unknown group with a ValidationError; describing it first makes that NotFound.
        describe(&client, name).await?;
        // An empty list would resume every process, including those suspended before the rollback.
        if !processes.is_empty() {
            client
                .resume_processes()
                .auto_scaling_group_name(name)
                .set_scaling_processes(Some(processes.clone()))
                .send()
                .await
                .map_err(|e| {
                    ActionError::aws(
                        format!(
                            "resume {} of Auto Scaling group `{name}`",
                            processes.join(", ")
                        ),
                        e,
                    )
                })?;
        }
        done(&ResumeOutput { resumed: processes })
    }
}

/// The processes, sorted and without repeats, or `Stepback.InvalidInput` naming one Auto Scaling does not know.
fn known(processes: &[String]) -> Result<Vec<String>, ActionError> {
    if let Some(unknown) = processes.iter().find(|p| !PROCESSES.contains(&p.as_str())) {
        return Err(ActionError::invalid_input(format!(
            "`{unknown}` is not an Auto Scaling process; the processes are {}",
            PROCESSES.join(", ")
        )));
    }
    let mut processes = processes.to_vec();
    processes.sort_unstable();
    processes.dedup();
    Ok(processes)
}

async fn describe(client: &Client, name: &str) -> Result<AutoScalingGroup, ActionError> {
    let answer = client
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .map_err(|e| ActionError::aws(format!("describe Auto Scaling group `{name}`"), e))?;
    answer
        .auto_scaling_groups
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| {
            ActionError::new(
                ErrorName::NotFound,
                format!("Auto Scaling group `{name}` not found"),
            )
        })
}

/// The processes recorded under this attempt key, i.e. by an earlier attempt of this step.
fn recorded(group: &AutoScalingGroup, key: &str) -> Option<Vec<String>> {
    let value = group
        .tags()
        .iter()
        .find(|t| t.key() == Some(RECORD))?
        .value()?;
    let (recorded_key, processes) = value.split_once(' ').unwrap_or((value, ""));
    (recorded_key == key).then(|| {
        processes
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

async fn record(
    client: &Client,
    name: &str,
    key: &str,
    processes: &[String],
) -> Result<(), ActionError> {
    let tag = Tag::builder()
        .resource_id(name)
        .resource_type("auto-scaling-group")
        .key(RECORD)
        .value(format!("{key} {}", processes.join(",")))
        .propagate_at_launch(false)
        .build();
    client
        .create_or_update_tags()
        .tags(tag)
        .send()
        .await
        .map_err(|e| {
            ActionError::aws(format!("tag Auto Scaling group `{name}` with {RECORD}"), e)
        })?;
    Ok(())
}
