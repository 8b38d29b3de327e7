//! `ecs.run_task`: RunTask with a command override, then poll until STOPPED. The task is marked with a
//! `startedBy` derived from the execution and step, so a retried `start` finds it (ListTasks) instead of
//! running it twice; the same value is RunTask's idempotency client token.
//!
//! Where the task runs ([`Placement`]): in the network of the service the step names (its subnets, security
//! groups and public IP setting) or in the step's `subnets`, on the step's launch type, else the service's
//! capacity provider strategy or launch type, else a Fargate-only task definition's FARGATE, else the
//! cluster's default. An `awsvpc` task definition with no network found fails before RunTask, which ECS
//! would refuse: the network configuration "is required for task definitions that use the awsvpc network
//! mode" (ECS API reference, RunTask).

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, CapacityProviderStrategyItem, Compatibility, ContainerOverride,
    DesiredStatus, LaunchType, NetworkConfiguration, NetworkMode, Service, Task, TaskDefinition,
    TaskOverride,
};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::ecs_deploy::{describe_service, describe_task_definition};
use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known};
use crate::shell::{self, ShellLine};
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub cluster: String,
    pub task_definition: String,
    pub container: Option<String>,
    /// An argv; an item that `sh -c` runs may arrive as text and values apart ([`crate::shell`]).
    pub command: Option<Vec<ShellLine>>,
    pub service: Option<String>,
    pub subnets: Option<Vec<String>>,
    pub security_groups: Option<Vec<String>>,
    pub launch_type: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub task_arn: String,
    pub exit_code: i32,
    pub stopped_reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    cluster: String,
    task_arn: String,
    /// The container whose exit code decides; the first essential one otherwise.
    container: Option<String>,
}

/// `start` runs the task; `poll` until it stopped.
pub struct EcsRunTask;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<EcsRunTask>()];

impl Action for EcsRunTask {
    const NAME: &str = "ecs.run_task";
    type Params = Params;

    /// The cluster exists, the task definition resolves, and a service named for its network is ACTIVE.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let cluster: String = match params.required("cluster") {
            Ok(cluster) => cluster,
            Err(unknown) => return vec![unknown.finding("ECS cluster")],
        };
        let mut findings = Vec::new();
        let resource = format!("ECS cluster `{cluster}`");
        // ListTasks, which the function may call on its cluster, fails on a cluster that does not exist.
        let listed = clients
            .aws(aws_sdk_ecs::Client::new)
            .list_tasks()
            .cluster(&cluster)
            .max_results(1)
            .send()
            .await;
        findings.push(match listed {
            Ok(_) => check::ok(resource, "exists"),
            Err(e) => check::failed(
                resource,
                &ActionError::aws(format!("list tasks of ECS cluster `{cluster}`"), e),
                "fix `cluster`: it must exist in the stack's region",
            ),
        });
        let service = match params.optional::<String>("service") {
            Ok(None) => None,
            Ok(Some(service)) => {
                let resource = format!("ECS service `{service}` in cluster `{cluster}`");
                match describe_service(clients, &cluster, &service).await {
                    Ok(found) => {
                        findings.push(check::ok(resource, "ACTIVE; the task runs in its network"));
                        Some(found)
                    }
                    Err(error) => {
                        findings.push(check::failed(resource, &error, "fix `service`"));
                        return findings;
                    }
                }
            }
            Err(unknown) => {
                findings.push(unknown.finding("ECS service"));
                return findings;
            }
        };
        let given = match params.required::<String>("task_definition") {
            Ok(given) => given,
            Err(unknown) => {
                findings.push(unknown.finding("task definition"));
                return findings;
            }
        };
        let resource = format!("task definition `{given}`");
        let definition = match describe_task_definition(clients, &given).await {
            Ok(found) => found,
            Err(error) => {
                findings.push(check::failed(
                    resource,
                    &error,
                    "register it, or fix `task_definition`: family, family:revision or ARN",
                ));
                return findings;
            }
        };
        let arn = definition.task_definition_arn().unwrap_or_default();
        let subnets = match params.optional::<Vec<String>>("subnets") {
            Ok(subnets) => subnets,
            Err(unknown) => {
                findings.push(unknown.finding("awsvpc subnets"));
                return findings;
            }
        };
        let given_network = StepNetwork {
            subnets,
            security_groups: params.optional("security_groups").ok().flatten(),
            launch_type: params.optional("launch_type").ok().flatten(),
        };
        findings.push(
            match Placement::of(&given_network, service.as_ref(), &definition) {
                Ok(_) => check::ok(resource, format!("resolves to `{arn}`")),
                Err(no_network) => check::bad(
                    Verdict::NotReady,
                    resource,
                    format!("`{arn}`: {no_network}"),
                    NO_NETWORK_FIX,
                ),
            },
        );
        findings
    }
}

impl LongAction for EcsRunTask {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let p = &call.params;
        let marker = format!("stepback-{}", call.attempt_key());
        let attempted = format!(
            "run task `{}` on ECS cluster `{}`",
            p.task_definition, p.cluster
        );
        if p.command.is_some() && p.container.is_none() {
            return Err(ActionError::invalid_input(format!(
                "{attempted}: `command` needs `container`"
            )));
        }
        if let Some(task_arn) = find_started(clients, &p.cluster, &marker).await? {
            return Ok(State {
                cluster: p.cluster.clone(),
                task_arn,
                container: p.container.clone(),
            });
        }
        let service = match &p.service {
            Some(service) => Some(describe_service(clients, &p.cluster, service).await?),
            None => None,
        };
        let definition = describe_task_definition(clients, &p.task_definition).await?;
        let given = StepNetwork {
            subnets: p.subnets.clone(),
            security_groups: p.security_groups.clone(),
            launch_type: p.launch_type.clone(),
        };
        let placement =
            Placement::of(&given, service.as_ref(), &definition).map_err(|no_network| {
                ActionError::new(
                    ErrorName::Precondition,
                    format!("{attempted}: {no_network}; {NO_NETWORK_FIX}"),
                )
            })?;
        let command = p
            .command
            .as_ref()
            .map(|argv| {
                argv.iter()
                    .map(shell::argv_item)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let overrides = p.container.as_ref().map(|name| {
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(name)
                        .set_command(command)
                        .build(),
                )
                .build()
        });
        let output = clients
            .aws(aws_sdk_ecs::Client::new)
            .run_task()
            .cluster(&p.cluster)
            .task_definition(&p.task_definition)
            .count(1)
            .started_by(&marker)
            .client_token(&marker)
            .set_launch_type(placement.launch_type)
            .set_capacity_provider_strategy(placement.strategy)
            .set_network_configuration(placement.network)
            .set_overrides(overrides)
            .send()
            .await
            .map_err(|e| ActionError::aws(&attempted, e))?;
        if let Some(failure) = output.failures().first() {
            let reason = failure.reason().unwrap_or("no reason");
            let name = if reason == "MISSING" {
                ErrorName::NotFound
            } else {
                ErrorName::Failed
            };
            return Err(ActionError::new(
                name,
                format!("{attempted}: ECS answered {reason}"),
            ));
        }
        let task_arn = output
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .ok_or_else(|| {
                ActionError::new(
                    ErrorName::Failed,
                    format!("{attempted}: ECS started no task"),
                )
            })?;
        Ok(State {
            cluster: p.cluster.clone(),
            task_arn: task_arn.to_owned(),
            container: p.container.clone(),
        })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let described = clients
            .aws(aws_sdk_ecs::Client::new)
            .describe_tasks()
            .cluster(&state.cluster)
            .tasks(&state.task_arn)
            .send()
            .await
            .map_err(|e| ActionError::aws(format!("describe ECS task `{}`", state.task_arn), e))?;
        let task = described
            .tasks
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| {
                ActionError::new(
                    ErrorName::NotFound,
                    format!("ECS task `{}` not found", state.task_arn),
                )
            })?;
        report(&task, state)
    }
}

/// What the step gives of the task's network and launch type.
struct StepNetwork {
    subnets: Option<Vec<String>>,
    security_groups: Option<Vec<String>>,
    launch_type: Option<String>,
}

const NO_NETWORK_FIX: &str =
    "name the `service` whose network the task shares, or give `subnets` and `security_groups`";

/// Where RunTask puts the task. ECS takes a launch type or a capacity provider strategy, never both ("If a
/// capacityProviderStrategy is specified, the launchType parameter must be omitted. If no
/// capacityProviderStrategy or launchType is specified, the defaultCapacityProviderStrategy for the cluster is
/// used", RunTask API reference).
#[derive(Debug, PartialEq)]
struct Placement {
    launch_type: Option<LaunchType>,
    strategy: Option<Vec<CapacityProviderStrategyItem>>,
    network: Option<NetworkConfiguration>,
}

impl Placement {
    /// The step's choices first, then the service's; an error when the task definition is `awsvpc` (Fargate
    /// tasks always are) and no network is found.
    fn of(
        given: &StepNetwork,
        service: Option<&Service>,
        definition: &TaskDefinition,
    ) -> Result<Placement, String> {
        let network = match (&given.subnets, service) {
            (Some(subnets), _) => Some(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .set_subnets(Some(subnets.clone()))
                            .set_security_groups(given.security_groups.clone())
                            .set_assign_public_ip(
                                service
                                    .and_then(|s| s.network_configuration())
                                    .and_then(|n| n.awsvpc_configuration())
                                    .and_then(|a| a.assign_public_ip().cloned()),
                            )
                            .build()
                            .map_err(|e| e.to_string())?,
                    )
                    .build(),
            ),
            (None, Some(service)) => service.network_configuration().cloned(),
            (None, None) => None,
        };
        let strategy = service
            .map(|s| s.capacity_provider_strategy().to_vec())
            .filter(|s| !s.is_empty() && given.launch_type.is_none());
        let only_fargate = definition.requires_compatibilities() == [Compatibility::Fargate];
        let launch_type = match (&given.launch_type, service, &strategy) {
            (Some(given), _, _) => Some(LaunchType::from(given.as_str())),
            (None, _, Some(_)) => None,
            (None, Some(service), None) => service.launch_type().cloned(),
            (None, None, None) => only_fargate.then_some(LaunchType::Fargate),
        };
        let awsvpc = definition.network_mode() == Some(&NetworkMode::Awsvpc)
            || launch_type == Some(LaunchType::Fargate);
        if awsvpc && network.is_none() {
            return Err(match service {
                Some(service) => format!(
                    "the task runs in the awsvpc network mode and ECS service `{}` has no network configuration",
                    service.service_name().unwrap_or_default()
                ),
                None => {
                    "the task runs in the awsvpc network mode, which needs a network configuration"
                        .to_owned()
                }
            });
        }
        Ok(Placement {
            launch_type,
            strategy,
            network,
        })
    }
}

async fn find_started(
    clients: &Clients,
    cluster: &str,
    marker: &str,
) -> Result<Option<String>, ActionError> {
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let listed = clients
            .aws(aws_sdk_ecs::Client::new)
            .list_tasks()
            .cluster(cluster)
            .started_by(marker)
            .desired_status(status)
            .send()
            .await
            .map_err(|e| {
                ActionError::aws(
                    format!("list tasks started by `{marker}` on ECS cluster `{cluster}`"),
                    e,
                )
            })?;
        if let Some(arn) = listed.task_arns.unwrap_or_default().into_iter().next() {
            return Ok(Some(arn));
        }
    }
    Ok(None)
}

fn report(task: &Task, state: State) -> Result<Response, ActionError> {
    let last_status = task.last_status().unwrap_or("unknown");
    if last_status != "STOPPED" {
        return running(
            &state,
            format!("ECS task `{}` is {last_status}", state.task_arn),
        );
    }
    let container = task.containers().iter().find(|c| match &state.container {
        Some(name) => c.name() == Some(name),
        None => c.exit_code.is_some(),
    });
    let exit_code = container.and_then(|c| c.exit_code());
    let stopped_reason = task
        .stopped_reason()
        .unwrap_or("no reason given")
        .to_owned();
    let stop_code = task.stop_code().map_or("none", |c| c.as_str());
    // ECS always reports a stop code; only an emulator leaves it out.
    match exit_code {
        Some(0) if matches!(stop_code, "EssentialContainerExited" | "none") => done(&Output {
            task_arn: state.task_arn,
            exit_code: 0,
            stopped_reason,
        }),
        _ => Err(ActionError::new(
            ErrorName::Failed,
            format!(
                "ECS task `{}` stopped ({stop_code}: {stopped_reason}) with exit code {}",
                state.task_arn,
                exit_code.map_or("none".to_owned(), |c| c.to_string())
            ),
        )),
    }
}
