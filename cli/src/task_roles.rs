//! The roles that a workflow's ECS functions pass to ECS (`iam:PassRole` on the template's `TaskRoleArns`): the
//! task and execution roles of the task definitions that its services run (DescribeServices) and its tasks start
//! (DescribeTaskDefinition), so that `stepback deploy` needs `--task-role` only for a role it cannot read.
//!
//! Which steps name a service or a task definition is the catalog's `needs`; only names known before the run
//! (literals and input defaults) can be read.

use catalog::world::Need;
use serde_json::{Map, Value as Json};
use workflow::Workflow;

use crate::aws::{self, AwsError, Call, Session};
use crate::readiness;

/// A role found, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundRole {
    pub arn: String,
    /// e.g. "task role of webapp:2, which service prod/webapp runs".
    pub from: String,
}

/// What the workflow's ECS steps name: each service and task definition read once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskRoles {
    pub found: Vec<FoundRole>,
    /// Services or task definitions that could not be read, each with the reason.
    pub unread: Vec<String>,
}

impl TaskRoles {
    /// The roles to pass: those found, then `extra` (`--task-role`), each once.
    pub fn with(&self, extra: &[String]) -> Vec<String> {
        let mut roles: Vec<String> = Vec::new();
        for arn in self.found.iter().map(|f| &f.arn).chain(extra) {
            if !roles.contains(arn) {
                roles.push(arn.clone());
            }
        }
        roles
    }
}

/// Reads the roles of every service and task definition that the workflow's steps name with values known
/// before the run (the input's defaults filled in).
pub async fn task_roles(session: &Session, workflow: &Workflow) -> TaskRoles {
    let ecs = aws_sdk_ecs::Client::new(&session.config);
    let defaults: Map<String, Json> = workflow
        .inputs
        .iter()
        .filter_map(|input| Some((input.name.clone(), input.default.clone()?)))
        .collect();
    let text = |params: &Map<String, Json>, name: &str| {
        params
            .get(name)
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut roles = TaskRoles::default();
    let mut read: Vec<(String, String)> = Vec::new();
    for step in workflow.steps.iter().chain(&workflow.on_failure) {
        let params = readiness::known_params(step, &defaults);
        for need in step.action.needs {
            let (cluster, named) = match *need {
                Need::EcsService {
                    cluster, service, ..
                } => (
                    text(&params, cluster),
                    text(&params, service).map(Named::Service),
                ),
                Need::EcsTask {
                    cluster,
                    task_definition,
                    ..
                } => (
                    text(&params, cluster),
                    text(&params, task_definition).map(Named::TaskDefinition),
                ),
                _ => continue,
            };
            let (Some(cluster), Some(named)) = (cluster, named) else {
                continue;
            };
            let key = (cluster.clone(), named.to_string());
            if read.contains(&key) {
                continue;
            }
            read.push(key);
            match named.roles(&ecs, &cluster).await {
                Ok(found) => {
                    for role in found {
                        if !roles.found.iter().any(|f| f.arn == role.arn) {
                            roles.found.push(role);
                        }
                    }
                }
                Err(error) => roles.unread.push(format!("{named} ({cluster}): {error}")),
            }
        }
    }
    roles
}

enum Named {
    Service(String),
    TaskDefinition(String),
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Named::Service(service) => write!(f, "service {service}"),
            Named::TaskDefinition(family) => write!(f, "task definition {family}"),
        }
    }
}

impl Named {
    async fn roles(
        &self,
        ecs: &aws_sdk_ecs::Client,
        cluster: &str,
    ) -> Result<Vec<FoundRole>, AwsError> {
        let (task_definition, runner) = match self {
            Named::Service(service) => {
                let described = ecs
                    .describe_services()
                    .cluster(cluster)
                    .services(service)
                    .send()
                    .await
                    .map_err(|e| aws::explain(&e, Call::new("ECS", "ecs:DescribeServices")))?;
                let task_definition = described
                    .services()
                    .iter()
                    .find(|s| s.service_name() == Some(service.as_str()))
                    .and_then(|s| s.task_definition())
                    .ok_or_else(|| AwsError::Other {
                        action: "ecs:DescribeServices".to_owned(),
                        reason: format!("no service {service} in cluster {cluster}"),
                    })?
                    .to_owned();
                (
                    task_definition,
                    format!(", which service {cluster}/{service} runs"),
                )
            }
            Named::TaskDefinition(family) => (family.clone(), String::new()),
        };
        let described = ecs
            .describe_task_definition()
            .task_definition(&task_definition)
            .send()
            .await
            .map_err(|e| aws::explain(&e, Call::new("ECS", "ecs:DescribeTaskDefinition")))?;
        let Some(definition) = described.task_definition() else {
            return Ok(Vec::new());
        };
        let revision = format!(
            "{}:{}",
            definition.family().unwrap_or_default(),
            definition.revision()
        );
        let role = |arn: Option<&str>, kind: &str| {
            arn.filter(|a| !a.is_empty()).map(|arn| FoundRole {
                arn: arn.to_owned(),
                from: format!("{kind} of {revision}{runner}"),
            })
        };
        Ok([
            role(definition.task_role_arn(), "task role"),
            role(definition.execution_role_arn(), "execution role"),
        ]
        .into_iter()
        .flatten()
        .collect())
    }
}
