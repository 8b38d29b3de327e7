//! The task-definition revision to deploy: the one with the tag asked for (registered when none is), or the
//! one before the running one.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, EphemeralStorage, IpcMode, NetworkMode, PidMode,
    ProxyConfiguration, RuntimePlatform, TaskDefinition, TaskDefinitionPlacementConstraint,
    TaskDefinitionStatus, Volume,
};
use aws_smithy_types::retry::RetryConfig;
use catalog::ErrorName;

use super::describe_task_definition;
use super::images::ensure_images_exist;
use crate::{ActionError, Clients};

/// How many recent ACTIVE revisions are compared when looking for one that already has the wanted image.
const REVISIONS_COMPARED: usize = 20;

pub(super) async fn revision_with_tag(
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
pub(super) async fn previous_revision(
    clients: &Clients,
    arn: &str,
) -> Result<Option<String>, ActionError> {
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
pub(crate) fn with_tag(image: &str, tag: &str) -> String {
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

pub(super) fn tag_of(image: &str) -> &str {
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
}
