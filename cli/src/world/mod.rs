//! The world a rehearsal runs in: what the workflow's steps touch, created in the emulator from each action's
//! catalog `needs` (`catalog::world`), never from a script per example. Names that the emulator chooses itself
//! (a target group's ARN, instance ids) and URLs (served on loopback by the world's web app) replace the
//! workflow's own, in the workflow that is then compiled.

use std::collections::{BTreeMap, BTreeSet};

use catalog::Need;
use serde_json::{Map, Value as Json};
use workflow::Workflow;
use workflow::model::{Segment, Value};

use crate::aws::{AwsError, Session};
use crate::readiness;

mod autoscaling;
mod cloudwatch;
mod ec2;
mod ecs;
mod eks;
mod elb;
mod logs;
mod rds;
mod sns;
mod ssm;
mod web_app;

pub use ecs::{IMAGE_TAGS, SERVICE_TASKS};
pub(crate) use eks::access_entries;

/// The port a seeded container listens on, and its target group's.
const CONTAINER_PORT: i32 = 80;

/// What was made, to report the world's state at the end.
#[derive(Debug, Default)]
pub struct World {
    /// Lines saying what was created, in order.
    pub created: Vec<String>,
    db_instances: BTreeSet<String>,
    db_clusters: BTreeSet<String>,
    services: BTreeSet<(String, String)>,
    /// The Kubernetes Deployments made in EKS clusters.
    deployments: BTreeSet<eks::Deployment>,
    /// The task definition families registered, so that a service and a task of one family share revisions.
    families: BTreeSet<String>,
    target_groups: BTreeMap<String, String>,
    /// Load balancer name → its listener's ARN.
    /// The ARNs of the target groups an ECS service of the world registers its tasks in (`ip`).
    service_target_groups: BTreeSet<String>,
    listeners: BTreeMap<String, String>,
    /// The VPC, subnet and security group that the world's tasks and load balancers share, once made.
    network: Option<Network>,
    auto_scaling_groups: BTreeSet<String>,
    instances: bool,
    /// The workflow's names → the emulator's.
    renames: BTreeMap<String, String>,
    /// Each SNS topic's name → the URL of the SQS queue subscribed to it.
    inboxes: BTreeMap<String, String>,
}

/// A VPC (with DNS hostnames, which moto needs to give an awsvpc task its interface), a subnet and a security
/// group.
#[derive(Clone, Debug)]
struct Network {
    vpc: String,
    subnet: String,
    security_group: String,
}

/// The world's state that matters after a rollback, one line per resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateLine {
    pub resource: String,
    pub state: String,
}

/// What seeding a need reads beyond its step's params.
struct Seeding<'a> {
    session: &'a Session,
    input: &'a Map<String, Json>,
    /// Whether an ECS service of the world registers its tasks in the target groups (`ip` targets).
    has_service: bool,
    /// The targets the workflow names, per target group ARN.
    named_targets: BTreeMap<String, Vec<String>>,
    /// The web apps served, by the origin each stands for: their port.
    apps: BTreeMap<String, u16>,
}

/// A step's params as far as the input knows them ([`readiness::known_params`]).
struct KnownParams<'a>(&'a Map<String, Json>);

impl KnownParams<'_> {
    fn get(&self, name: &str) -> Option<&Json> {
        self.0.get(name)
    }

    /// A string param's value, when known and not empty.
    fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .filter(|s| !s.is_empty())
    }

    /// A list param's items (a string is one item).
    fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn failed(action: &str, error: impl std::fmt::Display) -> AwsError {
    AwsError::Other {
        action: action.to_owned(),
        reason: error.to_string(),
    }
}

/// Creates what every step of `workflow` needs (its `[on_failure]` steps too), with the params known from
/// `input`, and rewrites the workflow's names that the emulator chose differently.
pub async fn seed(
    session: &Session,
    workflow: &mut Workflow,
    input: &Map<String, Json>,
) -> Result<World, AwsError> {
    let mut world = World::default();
    let steps: Vec<_> = workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .map(|s| (s.action, readiness::known_params(s, input)))
        .collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // Instances and clusters first: a snapshot needs its DB instance or cluster.
    let mut needs: Vec<(Need, &Map<String, Json>)> = steps
        .iter()
        .flat_map(|(action, params)| action.needs.iter().map(move |n| (*n, params)))
        .collect();
    // The web app reads the services it reports, so it comes last; a metric's dimensions may name instances.
    // A service registers in the target groups made before it; a task of a service's family runs the service's
    // revisions.
    needs.sort_by_key(|(need, _)| match need {
        Need::DbSnapshot { .. }
        | Need::DbClusterSnapshot { .. }
        | Need::Metric { .. }
        | Need::EcsService { .. } => 1,
        Need::EcsTask { .. } => 2,
        Need::Url { .. } => 3,
        _ => 0,
    });
    let mut seeding = Seeding {
        session,
        input,
        has_service: needs
            .iter()
            .any(|(need, _)| matches!(need, Need::EcsService { .. })),
        named_targets: BTreeMap::new(),
        apps: BTreeMap::new(),
    };
    // The targets the workflow names, per target group: one step may name them (a drain) and another read them
    // from its output (the undrain).
    for (need, params) in &needs {
        if let Need::TargetGroup {
            target_group,
            targets,
        } = need
            && let Some(arn) = KnownParams(params).text(target_group)
        {
            let named = seeding.named_targets.entry(arn).or_default();
            for target in KnownParams(params).list(targets) {
                if !named.contains(&target) {
                    named.push(target);
                }
            }
        }
    }
    for (need, params) in needs {
        let key = format!(
            "{need:?}{:?}",
            need.params()
                .iter()
                .map(|p| params.get(*p))
                .collect::<Vec<_>>()
        );
        if !seen.insert(key) {
            continue;
        }
        // One resource named by several steps (or by an input's default that several steps read) is made once.
        let params = KnownParams(params);
        match need {
            Need::Topic { topic } => sns::topic(&mut world, &mut seeding, &params, topic).await?,
            Need::DbInstance { instance } => {
                rds::instance(&mut world, &mut seeding, &params, instance).await?
            }
            Need::DbSnapshot { snapshot, instance } => {
                rds::snapshot(&mut world, &mut seeding, &params, snapshot, instance).await?
            }
            Need::DbCluster { cluster } => {
                rds::cluster(&mut world, &mut seeding, &params, cluster).await?
            }
            Need::DbClusterSnapshot { snapshot, cluster } => {
                rds::cluster_snapshot(&mut world, &mut seeding, &params, snapshot, cluster).await?
            }
            Need::EcsService {
                cluster,
                service,
                container,
            } => {
                ecs::service(
                    &mut world,
                    &mut seeding,
                    &params,
                    cluster,
                    service,
                    container,
                )
                .await?
            }
            Need::KubernetesDeployment {
                cluster,
                namespace,
                deployment,
                container,
            } => {
                eks::deployment(
                    &mut world,
                    &mut seeding,
                    &params,
                    (cluster, namespace, deployment),
                    container,
                )
                .await?
            }
            Need::EcsTask {
                cluster,
                task_definition,
                container,
            } => {
                ecs::task(
                    &mut world,
                    &mut seeding,
                    &params,
                    cluster,
                    task_definition,
                    container,
                )
                .await?
            }
            Need::TargetGroup { target_group, .. } => {
                elb::target_group(&mut world, &mut seeding, &params, target_group).await?
            }
            Need::Listener { listener } => {
                elb::listener(&mut world, &mut seeding, &params, listener).await?
            }
            Need::Alarms { alarms } => {
                cloudwatch::alarms(&mut world, &mut seeding, &params, alarms).await?
            }
            Need::Metric {
                namespace,
                metric,
                dimensions,
                period,
                periods,
                window,
                comparison,
                threshold,
            } => {
                cloudwatch::metric(
                    &mut world,
                    &mut seeding,
                    &params,
                    namespace,
                    metric,
                    dimensions,
                    period,
                    periods,
                    window,
                    comparison,
                    threshold,
                )
                .await?
            }
            Need::Instances { instances } => {
                ec2::instances(&mut world, &mut seeding, &params, instances).await?
            }
            Need::Network {
                subnets,
                security_groups,
            } => ec2::network(&mut world, &mut seeding, &params, subnets, security_groups).await?,
            Need::AutoScalingGroup { group } => {
                autoscaling::group(&mut world, &mut seeding, &params, group).await?
            }
            Need::LogGroups { log_groups } => {
                logs::log_groups(&mut world, &mut seeding, &params, log_groups).await?
            }
            Need::Url { url, status } => {
                web_app::url(&mut world, &mut seeding, &params, url, status).await?
            }
        }
    }
    world.apply(workflow);
    Ok(world)
}

/// The actions whose steps `stepback rehearse --breach` can make fail: what they look for, put in the world.
pub const BREACHABLE: [&str; 2] = ["check.logs", "check.alarms"];

/// Makes the check `step` find what it must not, so that its failure and the failure path can be rehearsed:
/// for `check.logs`, one line more than its threshold in each of its log groups, holding every term of its
/// pattern (so that `A B`, `?A ?B` and `"A B"` all match it); for `check.alarms`, its alarms in the state it
/// does not wait for. An error for any other action, or a pattern that is not terms (JSON or space-delimited).
pub async fn breach(
    session: &Session,
    world: &mut World,
    step: &workflow::model::Step,
    input: &Map<String, Json>,
) -> Result<(), AwsError> {
    let params = readiness::known_params(step, input);
    let config = &session.config;
    match step.action.name {
        "check.logs" => logs::breach(world, config, &step.id, &params).await,
        "check.alarms" => cloudwatch::breach(world, config, &step.id, &params).await,
        other => Err(failed(
            &format!("--breach {}", step.id),
            format!("`{other}` is not one of {}", BREACHABLE.join(", ")),
        )),
    }
}

/// A list param's items, when the param is a list.
fn strings(params: &Map<String, Json>, name: &str) -> Vec<String> {
    params
        .get(name)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(str::to_owned)
        .collect()
}

impl World {
    fn rename(&mut self, from: &str, to: &str) {
        if from != to && !to.is_empty() {
            self.renames.insert(from.to_owned(), to.to_owned());
        }
    }

    /// The workflow's names that the emulator chose otherwise, and what they became.
    pub fn renames(&self) -> &BTreeMap<String, String> {
        &self.renames
    }

    /// Replaces the renamed names in every step's params and every input's default.
    fn apply(&self, workflow: &mut Workflow) {
        for step in workflow
            .steps
            .iter_mut()
            .chain(workflow.on_failure.iter_mut())
        {
            for value in step.params.values_mut() {
                self.rewrite(value);
            }
        }
        for default in workflow
            .inputs
            .iter_mut()
            .filter_map(|i| i.default.as_mut())
        {
            self.rename_in(default);
        }
    }

    /// Replaces the renamed names in `json`'s strings: an execution input, which may name a resource the world
    /// made under another name (`instance_id = "i-0123…"`).
    pub fn rename_in(&self, json: &mut Json) {
        rewrite_json(json, &|text: &mut String| *text = self.renamed(text));
    }

    /// `text` with the renamed names replaced: a param's, or the workflow's TOML that the stack keeps.
    pub fn renamed(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (from, to) in &self.renames {
            if text.contains(from.as_str()) {
                text = text.replace(from.as_str(), to);
            }
        }
        text
    }

    fn rewrite(&self, value: &mut Value) {
        let replace = |text: &mut String| *text = self.renamed(text);
        match value {
            Value::Literal(json) => rewrite_json(json, &replace),
            Value::Ref(_) => {}
            Value::Template(segments) => {
                for segment in segments {
                    if let Segment::Text(text) = segment {
                        replace(text);
                    }
                }
            }
            Value::List(items) => items.iter_mut().for_each(|v| self.rewrite(v)),
            Value::Map(entries) => entries.values_mut().for_each(|v| self.rewrite(v)),
        }
    }

    /// The state that matters after a rollback: each DB instance (its status and the settings a restore must
    /// keep) and its snapshots, what each service runs,
    /// each target group's registered targets, the images and commands made.
    /// The state that matters after a rollback: each DB instance (its status and the settings a restore must
    /// keep) and its snapshots, what each service runs, each target group's registered targets, the images and
    /// commands made.
    pub async fn state(&self, session: &Session) -> Vec<StateLine> {
        let config = &session.config;
        let mut lines = rds::state(self, config).await;
        lines.extend(ecs::state(self, config).await);
        lines.extend(eks::state(self, config).await);
        lines.extend(elb::state(self, config).await);
        lines.extend(autoscaling::state(self, config).await);
        if self.instances {
            lines.push(ec2::images(config).await);
            lines.extend(ssm::scripts(config).await);
        }
        lines.extend(sns::messages(self, config).await);
        lines
    }
}

impl World {}

fn counted(items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    let names: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("{}: {}", items.len(), names.join(", "))
}

fn rewrite_json(json: &mut Json, replace: &impl Fn(&mut String)) {
    match json {
        Json::String(text) => replace(text),
        Json::Array(items) => items.iter_mut().for_each(|v| rewrite_json(v, replace)),
        Json::Object(entries) => entries.values_mut().for_each(|v| rewrite_json(v, replace)),
        _ => {}
    }
}
