//! `ecs.deploy`: point a service at an earlier image tag or task definition, then poll until the rollout
//! completes.
//!
//! Before the service changes, every ECR image of the revision to deploy is checked to exist, so a tag that
//! nothing holds is `Stepback.NotFound` instead of tasks that never start. For other registries the poll
//! watches the deployment's failed tasks and fails with their `stoppedReason` once tasks cannot start. Done
//! means the PRIMARY deployment runs the revision this step chose, with every desired task running, and a
//! `rolloutState` of COMPLETED where ECS reports one (else the old deployments are gone).
//!
//! Retries are safe: an image tag reuses an ACTIVE revision that already matches instead of registering
//! another, and `previous` recognises its own in-flight deploy (the service's ACTIVE deployment is the
//! revision just above the PRIMARY one) instead of stepping back a second time.

use aws_sdk_ecs::types::{
    DeploymentControllerType, DesiredStatus, Service, TaskDefinition, TaskStopCode,
};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known, Unknown};
use crate::{ActionError, Call, Clients, done, running};

// `build.rs` declares this module by its path, which makes its submodules relative to `actions/`.
#[path = "ecs_deploy/images.rs"]
mod images;
#[path = "ecs_deploy/revisions.rs"]
pub(crate) mod revisions;

use images::{account_of, ensure_images_exist};
use revisions::{previous_revision, revision_with_tag, tag_of, with_tag};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub cluster: String,
    pub service: String,
    pub container: Option<String>,
    pub image_tag: Option<String>,
    pub task_definition: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Output {
    pub image_tag: String,
    pub task_definition_before: String,
    pub task_definition_after: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    cluster: String,
    service: String,
    #[serde(flatten)]
    output: Output,
    /// The images `start` could not check, and why: each poll's progress says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unchecked: Vec<String>,
}

/// `image_tag = "previous"`: the ACTIVE revision of the family just below the running one.
const PREVIOUS: &str = "previous";

/// The revision of `running` with `tag` on `container`: an ACTIVE one that matches, else a new one.
/// `start` resolves the target and updates the service; `poll` until the rollout completes.
pub struct EcsDeploy;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<EcsDeploy>()];

impl Action for EcsDeploy {
    const NAME: &str = "ecs.deploy";
    type Params = Params;

    /// The service is ACTIVE, and what it would be pointed at resolves: the task definition, the revision below
    /// the running one for `previous`, or the container whose image takes the tag.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let (cluster, name) = match (
            params.required::<String>("cluster"),
            params.required::<String>("service"),
        ) {
            (Ok(cluster), Ok(name)) => (cluster, name),
            (Err(unknown), _) | (_, Err(unknown)) => return vec![unknown.finding("ECS service")],
        };
        let resource = format!("ECS service `{name}` in cluster `{cluster}`");
        let service = match describe_service(clients, &cluster, &name).await {
            Ok(service) => service,
            Err(error) => {
                return vec![check::failed(
                    resource,
                    &error,
                    "fix `cluster` or `service`: the service must exist in the stack's region",
                )];
            }
        };
        let running = service.task_definition().unwrap_or_default().to_owned();
        let service_ok = match other_controller(&service) {
            Some((controller, fix)) => check::bad(
                Verdict::NotReady,
                &resource,
                format!(
                    "the {controller} deployment controller refuses UpdateService with a task definition"
                ),
                fix,
            ),
            None => check::ok(&resource, format!("ACTIVE, running `{running}`")),
        };
        let target = match (
            params.optional::<String>("image_tag"),
            params.optional::<String>("task_definition"),
        ) {
            (Err(unknown), _) => unknown.finding("image tag"),
            (_, Err(unknown)) => unknown.finding("task definition"),
            (Ok(None), Ok(Some(given))) => {
                task_definition_finding(
                    clients,
                    &given,
                    "fix `task_definition`: family:revision or ARN",
                )
                .await
            }
            (Ok(Some(tag)), Ok(None)) if tag == PREVIOUS => {
                let resource = format!("the revision below `{running}`");
                match previous_revision(clients, &running).await {
                    Ok(Some(previous)) => check::ok(resource, format!("`{previous}`")),
                    Ok(None) => check::bad(
                        Verdict::Missing,
                        resource,
                        "no ACTIVE revision of the family is older than the running one",
                        "name the image tag or task definition to go back to",
                    ),
                    Err(error) => check::failed(resource, &error, ""),
                }
            }
            (Ok(Some(tag)), Ok(None)) => tag_target(clients, params, &running, &tag).await,
            _ => Unknown::Invalid("give exactly one of `image_tag` and `task_definition`".into())
                .finding("ECS deploy target"),
        };
        vec![service_ok, target]
    }
}

/// The image `tag` would replace: the running task definition has the container. Whether the registry holds
/// the tag is the registry's to say; ECS pulls it when the step runs.
async fn tag_target(clients: &Clients, params: &Known, running: &str, tag: &str) -> Finding {
    let container: String = match params.required("container") {
        Ok(container) => container,
        Err(unknown) => return unknown.finding("container"),
    };
    let resource = format!("container `{container}` of `{running}`");
    match describe_task_definition(clients, running).await {
        Ok(current) => match current
            .container_definitions()
            .iter()
            .find(|c| c.name() == Some(container.as_str()))
        {
            Some(found) => check::ok(
                resource,
                format!(
                    "would run `{}`",
                    with_tag(found.image().unwrap_or_default(), tag)
                ),
            ),
            None => check::bad(
                Verdict::Missing,
                resource,
                "the running task definition has no such container",
                "fix `container`",
            ),
        },
        Err(error) => check::failed(resource, &error, ""),
    }
}

impl LongAction for EcsDeploy {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let Params {
            cluster,
            service: name,
            container,
            image_tag,
            task_definition,
        } = &call.params;
        let service = describe_service(clients, cluster, name).await?;
        let running = service.task_definition().unwrap_or_default().to_owned();
        // During a deploy, the deployment being replaced is ACTIVE and the new one PRIMARY.
        let replaced = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("ACTIVE"))
            .and_then(|d| d.task_definition())
            .map(str::to_owned);
        let after = match (image_tag.as_deref(), task_definition.as_deref()) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(ActionError::invalid_input(format!(
                    "deploy ECS service `{name}`: give exactly one of `image_tag` and `task_definition`"
                )));
            }
            (None, Some(given)) => describe_task_definition(clients, given).await?.task_definition_arn.unwrap_or_default(),
            (Some(PREVIOUS), None) => match &replaced {
                Some(replaced) if previous_revision(clients, replaced).await?.as_deref() == Some(running.as_str()) => {
                    running.clone()
                }
                _ => previous_revision(clients, &running).await?.ok_or_else(|| {
                    ActionError::new(
                        ErrorName::Precondition,
                        format!("deploy the previous revision to ECS service `{name}`: no ACTIVE revision below `{running}`"),
                    )
                })?,
            },
            (Some(tag), None) => {
                let container = container.as_deref().ok_or_else(|| {
                    ActionError::invalid_input(format!("deploy image tag `{tag}` to ECS service `{name}`: `container` is needed"))
                })?;
                revision_with_tag(clients, &running, container, tag).await?
            }
        };
        let before = if running == after {
            replaced.unwrap_or_else(|| running.clone())
        } else {
            running.clone()
        };
        let deployed = describe_task_definition(clients, &after).await?;
        let mut unchecked = Vec::new();
        if running != after {
            refuse_other_controllers(&service)?;
            unchecked = ensure_images_exist(
                clients,
                deployed.container_definitions(),
                account_of(&call.execution.id),
            )
            .await?;
            for line in &unchecked {
                lambda_runtime::tracing::warn!("image not checked: {line}");
            }
            let updated = clients
                .aws(aws_sdk_ecs::Client::new)
                .update_service()
                .cluster(cluster)
                .service(name)
                .task_definition(&after)
                .send()
                .await;
            // An answer lost on the way may hide an update that happened, and a retried `start` that finds
            // the service on `after` with the rollout over would take `previous` from there: look now.
            if let Err(e) = updated
                && describe_service(clients, cluster, name)
                    .await?
                    .task_definition()
                    != Some(after.as_str())
            {
                return Err(ActionError::aws(
                    format!("update ECS service `{name}` to `{after}`"),
                    e,
                ));
            }
        }
        let image_tag = deployed
            .container_definitions()
            .iter()
            .find(|c| container.is_none() || c.name() == container.as_deref())
            .and_then(|c| c.image())
            .map(|image| tag_of(image).to_owned())
            .unwrap_or_default();
        Ok(State {
            cluster: cluster.clone(),
            service: name.clone(),
            output: Output {
                image_tag,
                task_definition_before: before,
                task_definition_after: after,
            },
            unchecked,
        })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let service = describe_service(clients, &state.cluster, &state.service).await?;
        let after = &state.output.task_definition_after;
        if service.task_definition() != Some(after) {
            let now = service.task_definition().unwrap_or("nothing");
            // A deployment circuit breaker with rollback puts the previous task definition back by itself
            // ("Amazon ECS rolls back to the last deployment that completed successfully", ECS developer guide,
            // "How the Amazon ECS deployment circuit breaker detects failures"): the reason is the failed
            // deployment's, and its tasks'.
            let failed = service
                .deployments()
                .iter()
                .find(|d| d.task_definition() == Some(after.as_str()))
                .filter(|d| d.rollout_state().map(|r| r.as_str()) == Some("FAILED"));
            let rolls_back = service
                .deployment_configuration()
                .and_then(|c| c.deployment_circuit_breaker())
                .is_some_and(|b| b.rollback());
            let stopped = if failed.is_some() || rolls_back {
                stopped_reason(clients, &state, after, false).await?
            } else {
                None
            };
            if failed.is_some() || stopped.is_some() {
                let mut reason = failed
                    .and_then(|d| d.rollout_state_reason())
                    .unwrap_or("ECS deployment circuit breaker")
                    .to_owned();
                if let Some(stopped) = stopped {
                    reason.push_str(&format!("; its tasks stopped: {stopped}"));
                }
                return Err(ActionError::new(
                    ErrorName::Failed,
                    format!(
                        "deploy of `{after}` to ECS service `{}` failed and ECS rolled the service back to `{now}`: {reason}",
                        state.service
                    ),
                ));
            }
            return Err(ActionError::new(
                ErrorName::Precondition,
                format!(
                    "ECS service `{}` now runs `{now}`, not `{after}`: another deploy replaced this one",
                    state.service,
                ),
            ));
        }
        let deployments = service.deployments();
        let Some(primary) = deployments.iter().find(|d| d.status() == Some("PRIMARY")) else {
            return running(
                &state,
                format!(
                    "ECS service `{}` has no PRIMARY deployment yet",
                    state.service
                ),
            );
        };
        if primary.task_definition() != Some(after) {
            return running(
                &state,
                format!(
                    "ECS service `{}`: the PRIMARY deployment still runs `{}`, not `{after}`",
                    state.service,
                    primary.task_definition().unwrap_or("nothing")
                ),
            );
        }
        let rollout = primary.rollout_state().map(|r| r.as_str());
        if rollout == Some("FAILED") {
            return Err(ActionError::new(
                ErrorName::Failed,
                format!(
                    "deploy of `{after}` to ECS service `{}` failed: {}",
                    state.service,
                    primary.rollout_state_reason().unwrap_or("no reason given")
                ),
            ));
        }
        if primary.failed_tasks > 0
            && let Some(reason) = stopped_reason(clients, &state, after, true).await?
        {
            return Err(ActionError::new(
                ErrorName::Failed,
                format!(
                    "deploy of `{after}` to ECS service `{}` failed: its tasks cannot start: {reason}",
                    state.service
                ),
            ));
        }
        // Without a rollout state (other deployment controllers), the old deployments must be gone.
        let settled = rollout.map_or(deployments.len() == 1, |r| r == "COMPLETED");
        if settled && primary.running_count == primary.desired_count {
            return done(&state.output);
        }
        let mut progress = format!(
            "ECS service `{}`: {} of {} tasks running, rollout {}",
            state.service,
            primary.running_count,
            primary.desired_count,
            rollout.unwrap_or("not reported")
        );
        for line in &state.unchecked {
            progress.push_str(&format!("; image not checked: {line}"));
        }
        running(&state, progress)
    }
}

/// Why the service's stopped tasks of `revision` stopped, if one did; with `failed_to_start`, only a task
/// that could not start (ECS stop code `TaskFailedToStart`, e.g. an image it cannot pull), which ECS keeps
/// replacing, so that waiting would only run out the step's timeout.
async fn stopped_reason(
    clients: &Clients,
    state: &State,
    revision: &str,
    failed_to_start: bool,
) -> Result<Option<String>, ActionError> {
    let attempted = format!(
        "look at the stopped tasks of ECS service `{}`",
        state.service
    );
    let ecs = clients.aws(aws_sdk_ecs::Client::new);
    let listed = ecs
        .list_tasks()
        .cluster(&state.cluster)
        .service_name(&state.service)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .map_err(|e| ActionError::aws(&attempted, e))?;
    if listed.task_arns().is_empty() {
        return Ok(None);
    }
    let described = ecs
        .describe_tasks()
        .cluster(&state.cluster)
        .set_tasks(listed.task_arns)
        .send()
        .await
        .map_err(|e| ActionError::aws(&attempted, e))?;
    let failed = described.tasks().iter().find(|t| {
        t.task_definition_arn() == Some(revision)
            && (!failed_to_start || t.stop_code() == Some(&TaskStopCode::TaskFailedToStart))
    });
    Ok(failed.map(|task| {
        let mut reason = task
            .stopped_reason()
            .unwrap_or("no reason given")
            .to_owned();
        for container in task.containers() {
            if let Some(why) = container.reason() {
                reason.push_str(&format!(
                    "; container `{}`: {why}",
                    container.name().unwrap_or("?")
                ));
            }
        }
        reason
    }))
}

/// ECS refuses UpdateService with a task definition on a service whose deployment controller is not ECS:
/// "If your service uses the CODE_DEPLOY deployment controller, ... If the network configuration, platform
/// version, task definition, or load balancer need to be updated, create a new CodeDeploy deployment", and
/// with EXTERNAL a deployment is a task set (UpdateService API reference).
fn refuse_other_controllers(service: &Service) -> Result<(), ActionError> {
    match other_controller(service) {
        Some((controller, fix)) => Err(ActionError::new(
            ErrorName::Precondition,
            format!(
                "ECS service `{}` has the {controller} deployment controller, which refuses UpdateService with a task definition: {fix}",
                service.service_name().unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}

/// The deployment controller of a service that ecs.deploy cannot deploy, and what to do instead.
fn other_controller(service: &Service) -> Option<(&'static str, &'static str)> {
    match service.deployment_controller().map(|c| c.r#type()) {
        Some(DeploymentControllerType::CodeDeploy) => Some((
            "CODE_DEPLOY",
            "roll back with a CodeDeploy deployment of the previous revision (or stop the failed deployment with rollback), or move the service to the ECS controller",
        )),
        Some(DeploymentControllerType::External) => Some((
            "EXTERNAL",
            "roll back with a task set of the previous revision (CreateTaskSet, UpdateServicePrimaryTaskSet) in the tool that deploys it, or move the service to the ECS controller",
        )),
        _ => None,
    }
}

pub async fn describe_service(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Service, ActionError> {
    let attempted = format!("describe ECS service `{service}` in cluster `{cluster}`");
    let output = clients
        .aws(aws_sdk_ecs::Client::new)
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| ActionError::aws(&attempted, e))?;
    let reason = output
        .failures()
        .first()
        .and_then(|f| f.reason())
        .unwrap_or("no such service")
        .to_owned();
    match output.services.unwrap_or_default().into_iter().next() {
        Some(found) if found.status() == Some("ACTIVE") => Ok(found),
        Some(found) => Err(ActionError::new(
            ErrorName::Precondition,
            format!(
                "{attempted}: it is {}",
                found.status().unwrap_or("in an unknown state")
            ),
        )),
        None => Err(ActionError::new(
            ErrorName::NotFound,
            format!("{attempted}: ECS answered {reason}"),
        )),
    }
}

/// The preflight finding for a task definition the step names: whether it resolves, and to which ARN.
pub async fn task_definition_finding(
    clients: &Clients,
    given: &str,
    fix: &str,
) -> catalog::contract::Finding {
    let resource = format!("task definition `{given}`");
    match describe_task_definition(clients, given).await {
        Ok(found) => check::ok(
            resource,
            format!(
                "resolves to `{}`",
                found.task_definition_arn().unwrap_or_default()
            ),
        ),
        Err(error) => check::failed(resource, &error, fix),
    }
}

pub async fn describe_task_definition(
    clients: &Clients,
    name: &str,
) -> Result<TaskDefinition, ActionError> {
    let attempted = format!("describe ECS task definition `{name}`");
    let answer = clients
        .aws(aws_sdk_ecs::Client::new)
        .describe_task_definition()
        .task_definition(name)
        .send()
        .await;
    match answer {
        Ok(output) => output.task_definition.ok_or_else(|| {
            ActionError::new(
                ErrorName::NotFound,
                format!("{attempted}: AWS returned none"),
            )
        }),
        // ECS answers a missing task definition with a generic ClientException.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_client_exception()) =>
        {
            let mut error = ActionError::aws(&attempted, e);
            error.name = ErrorName::NotFound;
            Err(error)
        }
        Err(e) => Err(ActionError::aws(attempted, e)),
    }
}
