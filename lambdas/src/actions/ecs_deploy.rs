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

use aws_sdk_ecr::types::ImageIdentifier;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, DeploymentControllerType, DesiredStatus, EphemeralStorage,
    IpcMode, NetworkMode, PidMode, ProxyConfiguration, RuntimePlatform, Service, TaskDefinition,
    TaskDefinitionPlacementConstraint, TaskDefinitionStatus, TaskStopCode, Volume,
};
use aws_smithy_types::retry::RetryConfig;
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, LongAction};
use crate::check::{self, Known, Unknown};
use crate::{ActionError, Call, Clients, done, running};

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

/// How many recent ACTIVE revisions are compared when looking for one that already has the wanted image.
const REVISIONS_COMPARED: usize = 20;

/// The revision of `running` with `tag` on `container`: an ACTIVE one that matches, else a new one.
/// `start` resolves the target and updates the service; `poll` until the rollout completes.
pub struct EcsDeploy;

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

/// Every image of `containers` that lives in ECR must exist there: `Stepback.NotFound` names the repository
/// and the tag (or digest) that does not. What cannot be checked is said and let through, since ECS may well
/// pull it, and the poll's failed-task reason remains the guard: an image of another registry (no
/// credentials), of another account's ECR (by default only the owner may describe a repository), one the
/// function's role may not describe (a registry policy may grant the execution role only), and one in a
/// pull-through cache repository (ECR fetches it from the upstream registry on its first pull). Returns a
/// line per image that was not checked, and why.
async fn ensure_images_exist(
    clients: &Clients,
    containers: &[ContainerDefinition],
    account: Option<&str>,
) -> Result<Vec<String>, ActionError> {
    let mut unchecked = Vec::new();
    for image in containers.iter().filter_map(|c| c.image()) {
        let Some(ecr) = EcrImage::parse(image) else {
            continue;
        };
        if account.is_some_and(|account| account != ecr.registry) {
            unchecked.push(format!(
                "`{image}` is in account {}'s ECR, which only that account may describe by default",
                ecr.registry
            ));
            continue;
        }
        let id = match ecr.reference {
            Reference::Tag(tag) => ImageIdentifier::builder().image_tag(tag).build(),
            Reference::Digest(digest) => ImageIdentifier::builder().image_digest(digest).build(),
        };
        let attempted = format!("find image `{image}` in ECR");
        let client = ecr_client(clients, ecr.region);
        let answer = client
            .describe_images()
            .registry_id(ecr.registry)
            .repository_name(ecr.repository)
            .image_ids(id)
            .send()
            .await;
        let missing = match &answer {
            Ok(found) if found.image_details().is_empty() => true,
            Ok(_) => false,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.meta().code() == Some("AccessDeniedException")) =>
            {
                unchecked.push(format!(
                    "`{image}`: this function's role may not describe repository `{}`",
                    ecr.repository
                ));
                continue;
            }
            Err(e) => e.as_service_error().is_some_and(|e| {
                e.is_image_not_found_exception() || e.is_repository_not_found_exception()
            }),
        };
        if missing {
            if let Some(prefix) = pull_through_prefix(&client, ecr.registry, ecr.repository).await {
                unchecked.push(format!(
                    "`{image}` is in pull-through cache `{prefix}`, which fetches an image on its first pull"
                ));
                continue;
            }
            return Err(ActionError::new(
                ErrorName::NotFound,
                format!(
                    "{attempted}: ECR repository `{}` has no image `{}`",
                    ecr.repository,
                    ecr.reference.as_str()
                ),
            ));
        }
        answer.map_err(|e| ActionError::aws(&attempted, e))?;
    }
    Ok(unchecked)
}

/// The prefix of the pull-through cache rule that `repository` falls under, if any. A rule that cannot be
/// read counts as none: the image is then refused as missing, which is what it is without a cache.
async fn pull_through_prefix(
    client: &aws_sdk_ecr::Client,
    registry: &str,
    repository: &str,
) -> Option<String> {
    let rules = client
        .describe_pull_through_cache_rules()
        .registry_id(registry)
        .send()
        .await
        .ok()?;
    rules
        .pull_through_cache_rules()
        .iter()
        .filter_map(|r| r.ecr_repository_prefix())
        .find(|prefix| {
            repository
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
        })
        .map(str::to_owned)
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

/// The account of an execution ARN (`arn:aws:states:region:account:execution:…`).
fn account_of(execution: &str) -> Option<&str> {
    execution.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The ECR client for `region`: a repository is only found through its own region's endpoint.
fn ecr_client(clients: &Clients, region: &str) -> aws_sdk_ecr::Client {
    let client = clients.aws(aws_sdk_ecr::Client::new);
    if client
        .config()
        .region()
        .is_some_and(|r| r.as_ref() == region)
    {
        return client;
    }
    let config = client
        .config()
        .to_builder()
        .region(aws_sdk_ecr::config::Region::new(region.to_owned()))
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

/// An image in ECR: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>(:<tag>|@<digest>)`.
#[derive(Debug, PartialEq)]
struct EcrImage<'a> {
    registry: &'a str,
    region: &'a str,
    repository: &'a str,
    reference: Reference<'a>,
}

#[derive(Debug, PartialEq)]
enum Reference<'a> {
    Tag(&'a str),
    Digest(&'a str),
}

impl Reference<'_> {
    fn as_str(&self) -> &str {
        match self {
            Reference::Tag(tag) => tag,
            Reference::Digest(digest) => digest,
        }
    }
}

impl<'a> EcrImage<'a> {
    fn parse(image: &'a str) -> Option<EcrImage<'a>> {
        let (host, path) = image.split_once('/')?;
        let mut labels = host.split('.');
        let registry = labels.next()?;
        let is_ecr = labels.next() == Some("dkr")
            && labels.next()?.starts_with("ecr")
            && host.contains(".amazonaws.com");
        let region = labels.next()?;
        if !is_ecr || registry.is_empty() || !registry.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (repository, reference) = match path.split_once('@') {
            Some((repository, digest)) => (repository, Reference::Digest(digest)),
            None => match path.rsplit_once(':') {
                Some((repository, tag)) if !tag.contains('/') => (repository, Reference::Tag(tag)),
                _ => (path, Reference::Tag("latest")),
            },
        };
        Some(EcrImage {
            registry,
            region,
            repository,
            reference,
        })
    }
}

async fn revision_with_tag(
    clients: &Clients,
    running: &str,
    container: &str,
    tag: &str,
) -> Result<String, ActionError> {
    let current = describe_task_definition(clients, running).await?;
    let mut wanted = Registration::of(&current);
    let definition = wanted
        .container_definitions
        .iter_mut()
        .find(|c| c.name() == Some(container))
        .ok_or_else(|| {
            ActionError::new(
                ErrorName::NotFound,
                format!("task definition `{running}` has no container `{container}`"),
            )
        })?;
    definition.image = definition
        .image
        .as_deref()
        .map(|image| with_tag(image, tag));
    for (_, arn) in active_revisions(clients, &wanted.family)
        .await?
        .into_iter()
        .take(REVISIONS_COMPARED)
    {
        let candidate = describe_task_definition(clients, &arn).await?;
        if Registration::of(&candidate) == wanted {
            return Ok(arn);
        }
    }
    // No revision for an image that does not exist; `start` checks the revision's images again and says what
    // it could not check.
    ensure_images_exist(clients, &wanted.container_definitions, None).await?;
    wanted.register(clients).await
}

/// The ACTIVE revision of the family just below `arn`, if any.
async fn previous_revision(clients: &Clients, arn: &str) -> Result<Option<String>, ActionError> {
    let current = describe_task_definition(clients, arn).await?;
    let family = current.family().unwrap_or_default();
    let below = active_revisions(clients, family)
        .await?
        .into_iter()
        .find(|(revision, _)| *revision < current.revision);
    Ok(below.map(|(_, arn)| arn))
}

/// ACTIVE revisions of exactly `family` (ListTaskDefinitions matches a prefix), newest first. Sorted here:
/// every page is read anyway, and moto ignores the `sort` parameter.
async fn active_revisions(
    clients: &Clients,
    family: &str,
) -> Result<Vec<(i32, String)>, ActionError> {
    let mut pages = clients
        .aws(aws_sdk_ecs::Client::new)
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send();
    let mut arns = Vec::new();
    while let Some(arn) = pages.next().await {
        let arn = arn.map_err(|e| {
            ActionError::aws(
                format!("list ACTIVE revisions of task family `{family}`"),
                e,
            )
        })?;
        if family_of(&arn) == Some(family)
            && let Some(revision) = revision_of(&arn)
        {
            arns.push((revision, arn));
        }
    }
    arns.sort_unstable_by(|a, b| b.cmp(a));
    Ok(arns)
}

/// `arn:aws:ecs:region:account:task-definition/family:revision` → `family`.
fn family_of(arn: &str) -> Option<&str> {
    arn.rsplit_once('/')?
        .1
        .rsplit_once(':')
        .map(|(family, _)| family)
}

fn revision_of(arn: &str) -> Option<i32> {
    arn.rsplit_once(':')?.1.parse().ok()
}

/// `registry:5000/app:v2` or `app@sha256:…` with `tag` → `registry:5000/app:tag`.
fn with_tag(image: &str, tag: &str) -> String {
    let (path, name) = image
        .rsplit_once('/')
        .map_or(("", image), |(path, name)| (path, name));
    let name = name.split(['@', ':']).next().unwrap_or(name);
    if path.is_empty() {
        format!("{name}:{tag}")
    } else {
        format!("{path}/{name}:{tag}")
    }
}

fn tag_of(image: &str) -> &str {
    let name = image.rsplit_once('/').map_or(image, |(_, name)| name);
    name.split_once('@')
        .map(|(_, digest)| digest)
        .or_else(|| name.split_once(':').map(|(_, tag)| tag))
        .unwrap_or("latest")
}

/// What RegisterTaskDefinition takes from a task definition: two revisions with equal registrations run
/// the same thing.
#[derive(Debug, PartialEq)]
struct Registration {
    family: String,
    container_definitions: Vec<ContainerDefinition>,
    task_role_arn: Option<String>,
    execution_role_arn: Option<String>,
    network_mode: Option<NetworkMode>,
    volumes: Option<Vec<Volume>>,
    placement_constraints: Option<Vec<TaskDefinitionPlacementConstraint>>,
    requires_compatibilities: Option<Vec<Compatibility>>,
    cpu: Option<String>,
    memory: Option<String>,
    pid_mode: Option<PidMode>,
    ipc_mode: Option<IpcMode>,
    proxy_configuration: Option<ProxyConfiguration>,
    ephemeral_storage: Option<EphemeralStorage>,
    runtime_platform: Option<RuntimePlatform>,
}

impl Registration {
    fn of(definition: &TaskDefinition) -> Registration {
        let d = definition.clone();
        Registration {
            family: d.family.unwrap_or_default(),
            container_definitions: d.container_definitions.unwrap_or_default(),
            task_role_arn: d.task_role_arn,
            execution_role_arn: d.execution_role_arn,
            network_mode: d.network_mode,
            volumes: d.volumes,
            placement_constraints: d.placement_constraints,
            requires_compatibilities: d.requires_compatibilities,
            cpu: d.cpu,
            memory: d.memory,
            pid_mode: d.pid_mode,
            ipc_mode: d.ipc_mode,
            proxy_configuration: d.proxy_configuration,
            ephemeral_storage: d.ephemeral_storage,
            runtime_platform: d.runtime_platform,
        }
    }

    async fn register(self, clients: &Clients) -> Result<String, ActionError> {
        let family = self.family.clone();
        let output = clients
            .aws(aws_sdk_ecs::Client::new)
            .register_task_definition()
            .family(self.family)
            .set_container_definitions(Some(self.container_definitions))
            .set_task_role_arn(self.task_role_arn)
            .set_execution_role_arn(self.execution_role_arn)
            .set_network_mode(self.network_mode)
            .set_volumes(self.volumes)
            .set_placement_constraints(self.placement_constraints)
            .set_requires_compatibilities(self.requires_compatibilities)
            .set_cpu(self.cpu)
            .set_memory(self.memory)
            .set_pid_mode(self.pid_mode)
            .set_ipc_mode(self.ipc_mode)
            .set_proxy_configuration(self.proxy_configuration)
            .set_ephemeral_storage(self.ephemeral_storage)
            .set_runtime_platform(self.runtime_platform)
            // Each attempt registers a revision, and a lost answer would leave one more: no attempt is
            // repeated here; the step's retry looks for the registered revision before registering.
            .customize()
            .config_override(
                aws_sdk_ecs::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| {
                ActionError::aws(
                    format!("register a new revision of task family `{family}`"),
                    e,
                )
            })?;
        output
            .task_definition
            .and_then(|d| d.task_definition_arn)
            .ok_or_else(|| {
                ActionError::new(
                    ErrorName::Failed,
                    format!("register a revision of `{family}`: AWS returned no ARN"),
                )
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_replace_the_tag_or_digest_and_keep_the_registry_port() {
        assert_eq!(
            with_tag("registry:5000/team/app:v2", "v1"),
            "registry:5000/team/app:v1"
        );
        assert_eq!(with_tag("app@sha256:abc", "v1"), "app:v1");
        assert_eq!(with_tag("app", "v1"), "app:v1");
        assert_eq!(tag_of("registry:5000/team/app:v2"), "v2");
        assert_eq!(tag_of("registry:5000/team/app"), "latest");
    }

    #[test]
    fn ecr_images_are_told_from_other_registries() {
        let ecr = |image| EcrImage::parse(image);
        assert_eq!(
            ecr("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v2"),
            Some(EcrImage {
                registry: "123456789012",
                region: "eu-west-1",
                repository: "team/app",
                reference: Reference::Tag("v2"),
            })
        );
        assert_eq!(
            ecr("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app@sha256:abc"),
            Some(EcrImage {
                registry: "123456789012",
                region: "cn-north-1",
                repository: "app",
                reference: Reference::Digest("sha256:abc"),
            })
        );
        assert_eq!(
            ecr("123456789012.dkr.ecr.us-east-1.amazonaws.com/app").map(|i| i.reference),
            Some(Reference::Tag("latest"))
        );
        assert_eq!(ecr("registry.local:5000/app:v2"), None);
        assert_eq!(ecr("public.ecr.aws/nginx/nginx:1"), None);
        assert_eq!(ecr("nginx:1"), None);
    }
}
