//! The world a rehearsal runs in: what the workflow's steps touch, created in the emulator from each action's
//! catalog `needs` (`catalog::world`), never from a script per example. Names that the emulator chooses itself
//! (a target group's ARN, instance ids) and URLs (served on loopback by the world's web app) replace the
//! workflow's own, in the workflow that is then compiled.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    LoadBalancer, NetworkConfiguration, NetworkMode, PortMapping,
};
use aws_sdk_elasticloadbalancingv2::types::{
    ActionTypeEnum, ProtocolEnum, TargetDescription, TargetTypeEnum,
};
use catalog::Need;
use catalog::metric::{self, Comparison};
use rehearsal_front::loopback;
use serde_json::{Map, Value as Json};
use workflow::Workflow;
use workflow::model::{Segment, Value};

use crate::aws::{AwsError, Session};
use crate::readiness;

/// The image tags of a seeded service's two task-definition revisions, oldest first.
pub const IMAGE_TAGS: [&str; 2] = ["v1", "v2"];
/// How many tasks a seeded service runs; the emulator is started to report as many running.
pub const SERVICE_TASKS: i32 = 2;
/// The port a seeded container listens on, and its target group's.
const CONTAINER_PORT: i32 = 80;
/// A seeded Aurora cluster's engine.
const AURORA_ENGINE: &str = "aurora-postgresql";
const AURORA_ENGINE_VERSION: &str = "15.4";

/// What was made, to report the world's state at the end.
#[derive(Debug, Default)]
pub struct World {
    /// Lines saying what was created, in order.
    pub created: Vec<String>,
    db_instances: BTreeSet<String>,
    db_clusters: BTreeSet<String>,
    services: BTreeSet<(String, String)>,
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
    let config = &session.config;
    let mut apps: BTreeMap<String, u16> = BTreeMap::new();
    let steps: Vec<_> = workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .map(|s| (s.action, readiness::known_params(s, input)))
        .collect();
    let text = |params: &Map<String, Json>, name: &str| -> Option<String> {
        params
            .get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .filter(|s| !s.is_empty())
    };
    let list = |params: &Map<String, Json>, name: &str| -> Vec<String> {
        match params.get(name) {
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
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
    let has_service = needs
        .iter()
        .any(|(need, _)| matches!(need, Need::EcsService { .. }));
    // The targets the workflow names, per target group: one step may name them (a drain) and another read them
    // from its output (the undrain).
    let mut named_targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (need, params) in &needs {
        if let Need::TargetGroup {
            target_group,
            targets,
        } = need
            && let Some(arn) = text(params, target_group)
        {
            let named = named_targets.entry(arn).or_default();
            for target in list(params, targets) {
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
        match need {
            Need::Topic { topic } => {
                let Some(arn) = text(params, topic) else {
                    continue;
                };
                let name = arn.rsplit(':').next().unwrap_or(&arn).to_owned();
                let made = aws_sdk_sns::Client::new(config)
                    .create_topic()
                    .name(&name)
                    .send()
                    .await
                    .map_err(|e| failed("sns:CreateTopic", e))?;
                world.rename(&arn, made.topic_arn().unwrap_or_default());
                world.created.push(format!("SNS topic {name}"));
            }
            Need::DbInstance { instance } => {
                let Some(id) = text(params, instance) else {
                    continue;
                };
                // Production-like, so that a rehearsed restore shows what it copies (`state`), and encrypted
                // under a customer-managed key, which preflight checks.
                let key = aws_sdk_kms::Client::new(config)
                    .create_key()
                    .description(format!("rehearsal: {id}"))
                    .send()
                    .await
                    .map_err(|e| failed("kms:CreateKey", e))?
                    .key_metadata
                    .and_then(|k| k.arn);
                aws_sdk_rds::Client::new(config)
                    .create_db_instance()
                    .db_instance_identifier(&id)
                    .db_instance_class("db.t3.micro")
                    .engine("postgres")
                    .allocated_storage(20)
                    .master_username("rehearsal")
                    .master_user_password("rehearsal-only")
                    .multi_az(true)
                    .storage_encrypted(true)
                    .set_kms_key_id(key)
                    .deletion_protection(true)
                    .backup_retention_period(7)
                    .enable_cloudwatch_logs_exports("postgresql")
                    .enable_iam_database_authentication(true)
                    .copy_tags_to_snapshot(true)
                    .tags(
                        aws_sdk_rds::types::Tag::builder()
                            .key("backup-plan")
                            .value("daily")
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| failed("rds:CreateDBInstance", e))?;
                world.created.push(format!("RDS instance {id}"));
                world.db_instances.insert(id);
            }
            Need::DbSnapshot { snapshot, instance } => {
                let (Some(snapshot), Some(instance)) =
                    (text(params, snapshot), text(params, instance))
                else {
                    continue;
                };
                aws_sdk_rds::Client::new(config)
                    .create_db_snapshot()
                    .db_snapshot_identifier(&snapshot)
                    .db_instance_identifier(&instance)
                    .send()
                    .await
                    .map_err(|e| failed("rds:CreateDBSnapshot", e))?;
                world
                    .created
                    .push(format!("RDS snapshot {snapshot} of {instance}"));
            }
            Need::DbCluster { cluster } => {
                let Some(id) = text(params, cluster) else {
                    continue;
                };
                let rds = aws_sdk_rds::Client::new(config);
                rds.create_db_cluster()
                    .db_cluster_identifier(&id)
                    .engine(AURORA_ENGINE)
                    .engine_version(AURORA_ENGINE_VERSION)
                    .master_username("rehearsal")
                    .master_user_password("rehearsal-only")
                    .send()
                    .await
                    .map_err(|e| failed("rds:CreateDBCluster", e))?;
                let writer = format!("{id}-writer");
                rds.create_db_instance()
                    .db_instance_identifier(&writer)
                    .db_cluster_identifier(&id)
                    .db_instance_class("db.r6g.large")
                    .engine(AURORA_ENGINE)
                    .send()
                    .await
                    .map_err(|e| failed("rds:CreateDBInstance", e))?;
                world
                    .created
                    .push(format!("Aurora cluster {id} with writer {writer}"));
                world.db_clusters.insert(id);
            }
            Need::DbClusterSnapshot { snapshot, cluster } => {
                let (Some(snapshot), Some(cluster)) =
                    (text(params, snapshot), text(params, cluster))
                else {
                    continue;
                };
                aws_sdk_rds::Client::new(config)
                    .create_db_cluster_snapshot()
                    .db_cluster_snapshot_identifier(&snapshot)
                    .db_cluster_identifier(&cluster)
                    .send()
                    .await
                    .map_err(|e| failed("rds:CreateDBClusterSnapshot", e))?;
                world
                    .created
                    .push(format!("RDS cluster snapshot {snapshot} of {cluster}"));
            }
            Need::EcsService {
                cluster,
                service,
                container,
            } => {
                let (Some(cluster), Some(service)) = (text(params, cluster), text(params, service))
                else {
                    continue;
                };
                let container = text(params, container).unwrap_or_else(|| "app".to_owned());
                let ecs = aws_sdk_ecs::Client::new(config);
                ecs.create_cluster()
                    .cluster_name(&cluster)
                    .send()
                    .await
                    .map_err(|e| failed("ecs:CreateCluster", e))?;
                let mut latest = String::new();
                world.families.insert(service.clone());
                for tag in IMAGE_TAGS {
                    latest = register(
                        &ecs,
                        &service,
                        &container,
                        &format!("registry.rehearsal/{service}:{tag}"),
                    )
                    .await?;
                }
                let network = world.network(config).await?;
                // The service registers its tasks in the workflow's target groups, as ECS does for a service
                // with `loadBalancers` (the emulator's front plays ECS's part: `rehearsal_front::moto_gaps`).
                let load_balancers: Vec<_> = world
                    .service_target_groups
                    .iter()
                    .map(|arn| {
                        LoadBalancer::builder()
                            .target_group_arn(arn)
                            .container_name(&container)
                            .container_port(CONTAINER_PORT)
                            .build()
                    })
                    .collect();
                let made = ecs
                    .create_service()
                    .cluster(&cluster)
                    .service_name(&service)
                    .task_definition(&latest)
                    .desired_count(SERVICE_TASKS)
                    // moto keeps no capacity provider strategy: it would answer the EC2 launch type.
                    .launch_type(LaunchType::Fargate)
                    .network_configuration(network.awsvpc()?)
                    .set_load_balancers(Some(load_balancers.clone()).filter(|l| !l.is_empty()))
                    .send()
                    .await
                    .map_err(|e| failed("ecs:CreateService", e))?;
                // moto's services run the tasks its environment says, whatever they ask for: with none running,
                // no deployment ever completes.
                let running = made.service().map_or(0, |s| s.running_count());
                if running != SERVICE_TASKS {
                    return Err(failed(
                        "ecs:CreateService",
                        format!(
                            "the emulator runs {running} of a service's {SERVICE_TASKS} tasks, so no deployment \
                             would complete: start moto with MOTO_ECS_SERVICE_RUNNING={SERVICE_TASKS}"
                        ),
                    ));
                }
                world.created.push(format!(
                    "ECS cluster {cluster}, service {service} on {} (image tags {}) on Fargate{}",
                    latest.rsplit('/').next().unwrap_or(&latest),
                    IMAGE_TAGS.join(", "),
                    if load_balancers.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", its {SERVICE_TASKS} tasks registered in {} target group(s)",
                            load_balancers.len()
                        )
                    }
                ));
                world.services.insert((cluster, service));
            }
            Need::EcsTask {
                cluster,
                task_definition,
                container,
            } => {
                let (Some(cluster), Some(family)) =
                    (text(params, cluster), text(params, task_definition))
                else {
                    continue;
                };
                let family = family
                    .rsplit('/')
                    .next()
                    .unwrap_or(&family)
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let container = text(params, container).unwrap_or_else(|| "app".to_owned());
                let ecs = aws_sdk_ecs::Client::new(config);
                ecs.create_cluster()
                    .cluster_name(&cluster)
                    .send()
                    .await
                    .map_err(|e| failed("ecs:CreateCluster", e))?;
                // A task of a service's family (a migration on the web image) runs what the service runs.
                if !world.families.insert(family.clone()) {
                    world.created.push(format!(
                        "ECS task definition {family} (the service's) in cluster {cluster}"
                    ));
                    continue;
                }
                register(
                    &ecs,
                    &family,
                    &container,
                    &format!("registry.rehearsal/{family}:{}", IMAGE_TAGS[1]),
                )
                .await?;
                world
                    .created
                    .push(format!("ECS task definition {family} in cluster {cluster}"));
            }
            Need::TargetGroup { target_group, .. } => {
                let Some(arn) = text(params, target_group) else {
                    continue;
                };
                if world.renames.contains_key(&arn) {
                    continue;
                }
                let name = arn
                    .split_once("targetgroup/")
                    .map_or(arn.as_str(), |(_, rest)| rest)
                    .split('/')
                    .next()
                    .unwrap_or("rehearsal")
                    .to_owned();
                let named = named_targets.get(&arn).cloned().unwrap_or_default();
                let new_arn = world
                    .target_group(config, &name, has_service, &named)
                    .await?;
                world.rename(&arn, &new_arn);
            }
            Need::Listener { listener } => {
                let Some(arn) = text(params, listener) else {
                    continue;
                };
                // `…:listener/app/<load balancer>/<id>/<id>`
                let name = arn
                    .split_once("listener/app/")
                    .map_or("rehearsal", |(_, rest)| {
                        rest.split('/').next().unwrap_or("rehearsal")
                    })
                    .to_owned();
                let network = world.network(config).await?;
                let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
                let balancer = elb
                    .create_load_balancer()
                    .name(&name)
                    .subnets(&network.subnet)
                    .security_groups(&network.security_group)
                    .send()
                    .await
                    .map_err(|e| failed("elasticloadbalancing:CreateLoadBalancer", e))?;
                let balancer = balancer
                    .load_balancers()
                    .first()
                    .and_then(|b| b.load_balancer_arn())
                    .unwrap_or_default()
                    .to_owned();
                let group = world.target_group(config, &name, has_service, &[]).await?;
                let made = elb
                    .create_listener()
                    .load_balancer_arn(&balancer)
                    .protocol(ProtocolEnum::Http)
                    .port(80)
                    .default_actions(
                        aws_sdk_elasticloadbalancingv2::types::Action::builder()
                            .r#type(ActionTypeEnum::Forward)
                            .target_group_arn(&group)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| failed("elasticloadbalancing:CreateListener", e))?;
                let new_arn = made
                    .listeners()
                    .first()
                    .and_then(|l| l.listener_arn())
                    .unwrap_or_default()
                    .to_owned();
                world.rename(&arn, &new_arn);
                world.created.push(format!(
                    "load balancer {name} with a listener forwarding to target group {name}"
                ));
                world.listeners.insert(name, new_arn);
            }
            Need::Alarms { alarms } => {
                let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
                for alarm in list(params, alarms) {
                    cloudwatch
                        .put_metric_alarm()
                        .alarm_name(&alarm)
                        .namespace("Rehearsal")
                        .metric_name("Errors")
                        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
                        .period(60)
                        .evaluation_periods(1)
                        .threshold(1.0)
                        .comparison_operator(
                            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
                        )
                        .send()
                        .await
                        .map_err(|e| failed("cloudwatch:PutMetricAlarm", e))?;
                    world.created.push(format!("CloudWatch alarm {alarm} (OK)"));
                }
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
                let (Some(namespace), Some(name), Some(comparison), Some(threshold)) = (
                    text(params, namespace),
                    text(params, metric),
                    text(params, comparison).and_then(|c| Comparison::from_symbol(&c)),
                    params.get(threshold).and_then(Json::as_f64),
                ) else {
                    continue;
                };
                let seconds = |name: &str, default: u64| {
                    params.get(name).and_then(Json::as_u64).unwrap_or(default)
                };
                let period = seconds(period, metric::DEFAULT_PERIOD_SECS);
                let window = metric::window_secs(
                    params.get(window).and_then(Json::as_u64),
                    period,
                    seconds(periods, metric::DEFAULT_PERIODS),
                );
                let dimensions: Vec<_> = params
                    .get(dimensions)
                    .and_then(Json::as_object)
                    .into_iter()
                    .flatten()
                    // A dimension may name what the world created under another name (an instance).
                    .filter_map(|(name, value)| {
                        let value = world.renamed(value.as_str()?);
                        Some(Dimension::builder().name(name).value(value).build())
                    })
                    .collect();
                let value = comparison.good_value(threshold);
                put_good_datapoints(
                    config,
                    &namespace,
                    &name,
                    &dimensions,
                    value,
                    period,
                    window,
                )
                .await?;
                world.created.push(format!(
                    "CloudWatch metric {namespace} {name}: {value} every {}, from {} ago to {} ahead",
                    workflow::duration::format(period),
                    workflow::duration::format(window),
                    workflow::duration::format(METRIC_AHEAD_SECS),
                ));
            }
            Need::Instances { instances } => {
                world.instances(config, &list(params, instances)).await?;
            }
            Need::Network {
                subnets,
                security_groups,
            } => {
                world
                    .named_network(
                        config,
                        &list(params, subnets),
                        &list(params, security_groups),
                    )
                    .await?;
            }
            Need::AutoScalingGroup { group } => {
                let Some(group) = text(params, group) else {
                    continue;
                };
                let asg = aws_sdk_autoscaling::Client::new(config);
                asg.create_launch_configuration()
                    .launch_configuration_name(&group)
                    .image_id(IMAGE)
                    .instance_type("t3.micro")
                    .send()
                    .await
                    .map_err(|e| failed("autoscaling:CreateLaunchConfiguration", e))?;
                asg.create_auto_scaling_group()
                    .auto_scaling_group_name(&group)
                    .launch_configuration_name(&group)
                    .min_size(0)
                    .max_size(2)
                    .desired_capacity(0)
                    .availability_zones(format!("{}a", region(session)))
                    .send()
                    .await
                    .map_err(|e| failed("autoscaling:CreateAutoScalingGroup", e))?;
                world.created.push(format!("Auto Scaling group {group}"));
                world.auto_scaling_groups.insert(group);
            }
            Need::LogGroups { log_groups } => {
                let logs = aws_sdk_cloudwatchlogs::Client::new(config);
                for group in list(params, log_groups) {
                    logs.create_log_group()
                        .log_group_name(&group)
                        .send()
                        .await
                        .map_err(|e| failed("logs:CreateLogGroup", e))?;
                    world.created.push(format!("log group {group}"));
                }
            }
            Need::Url { url, status } => {
                let Some(url) = text(params, url) else {
                    continue;
                };
                let Some(origin) = origin(&url) else { continue };
                let status = params.get(status).and_then(Json::as_u64).unwrap_or(200);
                if apps.contains_key(&origin) {
                    continue;
                }
                let port = web_app(session, &world, input, status)
                    .await
                    .map_err(|e| failed("listen on loopback", e))?;
                apps.insert(origin.clone(), port);
                world.rename(&origin, &format!("http://127.0.0.1:{port}"));
                world.created.push(format!(
                    "web app {origin} on http://127.0.0.1:{port}, answering {status}"
                ));
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
    let strings = |name: &str| -> Vec<String> {
        params
            .get(name)
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .map(str::to_owned)
            .collect()
    };
    let refused = |reason: String| failed(&format!("--breach {}", step.id), reason);
    match step.action.name {
        "check.logs" => {
            let pattern = params
                .get("pattern")
                .and_then(Json::as_str)
                .unwrap_or_default();
            if pattern.trim_start().starts_with(['{', '[']) {
                return Err(refused(format!(
                    "its pattern `{pattern}` is not terms; the rehearsal writes lines for term patterns only"
                )));
            }
            let line = pattern
                .split_whitespace()
                .filter(|term| !term.starts_with('-'))
                .map(|term| term.trim_start_matches('?').trim_matches('"'))
                .collect::<Vec<_>>()
                .join(" ");
            let line = format!("{line} (written by stepback rehearse --breach {})", step.id);
            let count = params.get("threshold").and_then(Json::as_u64).unwrap_or(0) + 1;
            let logs = aws_sdk_cloudwatchlogs::Client::new(config);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or_default());
            for group in strings("log_groups") {
                let stream = "stepback-rehearse-breach";
                logs.create_log_stream()
                    .log_group_name(&group)
                    .log_stream_name(stream)
                    .send()
                    .await
                    .map_err(|e| failed("logs:CreateLogStream", e))?;
                let events = (0..count).map(|_| {
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(now)
                        .message(&line)
                        .build()
                });
                logs.put_log_events()
                    .log_group_name(&group)
                    .log_stream_name(stream)
                    .set_log_events(events.collect::<Result<Vec<_>, _>>().ok())
                    .send()
                    .await
                    .map_err(|e| failed("logs:PutLogEvents", e))?;
                world.created.push(format!(
                    "log group {group}: {count} line(s) `{line}`, for --breach {}",
                    step.id
                ));
            }
        }
        "check.alarms" => {
            let expected = params.get("state").and_then(Json::as_str).unwrap_or("OK");
            let state = if expected == "ALARM" {
                aws_sdk_cloudwatch::types::StateValue::Ok
            } else {
                aws_sdk_cloudwatch::types::StateValue::Alarm
            };
            let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
            for alarm in strings("alarms") {
                cloudwatch
                    .set_alarm_state()
                    .alarm_name(&alarm)
                    .state_value(state.clone())
                    .state_reason(format!("set by stepback rehearse --breach {}", step.id))
                    .send()
                    .await
                    .map_err(|e| failed("cloudwatch:SetAlarmState", e))?;
                world.created.push(format!(
                    "CloudWatch alarm {alarm} set to {}, for --breach {}",
                    state.as_str(),
                    step.id
                ));
            }
        }
        other => {
            return Err(refused(format!(
                "`{other}` is not one of {}",
                BREACHABLE.join(", ")
            )));
        }
    }
    Ok(())
}

/// How far ahead of now a seeded metric has datapoints: a rehearsal's check reads whole periods up to its own
/// now, which is later than the seeding.
const METRIC_AHEAD_SECS: u64 = 60 * 60;
/// PutMetricData takes at most 1,000 datapoints a call (CloudWatch API reference).
const DATAPOINTS_PER_PUT: usize = 1000;

/// One datapoint of `value` at every period boundary from `window` ago to [`METRIC_AHEAD_SECS`] ahead: one
/// sample a period, so every statistic but `SampleCount` (1) reads `value`.
async fn put_good_datapoints(
    config: &aws_config::SdkConfig,
    namespace: &str,
    name: &str,
    dimensions: &[Dimension],
    value: f64,
    period: u64,
    window: u64,
) -> Result<(), AwsError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let first = (now - now % period).saturating_sub(window);
    let datapoints: Vec<MetricDatum> = (first..now + METRIC_AHEAD_SECS)
        .step_by(usize::try_from(period.max(1)).unwrap_or(usize::MAX))
        .map(|at| {
            MetricDatum::builder()
                .metric_name(name)
                .set_dimensions(Some(dimensions.to_vec()))
                .timestamp(aws_smithy_types::DateTime::from_secs(
                    i64::try_from(at).unwrap_or_default(),
                ))
                .value(value)
                // CloudWatch keeps periods under a minute only for high-resolution metrics.
                .storage_resolution(if period < 60 { 1 } else { 60 })
                .build()
        })
        .collect();
    // The emulator's bridge (`rehearsal_front::moto_gaps`) reads CBOR, not gzip: PutMetricData compresses a body over
    // 10 KB.
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(config)
            .disable_request_compression(true)
            .build(),
    );
    for chunk in datapoints.chunks(DATAPOINTS_PER_PUT) {
        cloudwatch
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| failed("cloudwatch:PutMetricData", e))?;
    }
    Ok(())
}

/// The image moto's EC2 and Auto Scaling accept.
const IMAGE: &str = "ami-12c6146b";

fn region(session: &Session) -> String {
    session
        .config
        .region()
        .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string())
}

async fn register(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    container: &str,
    image: &str,
) -> Result<String, AwsError> {
    let made = ecs
        .register_task_definition()
        .family(family)
        // Fargate, as most ECS services run today: its tasks always use the awsvpc network mode.
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name(container)
                .image(image)
                .essential(true)
                .memory(512)
                .port_mappings(
                    PortMapping::builder()
                        .container_port(CONTAINER_PORT)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("ecs:RegisterTaskDefinition", e))?;
    Ok(made
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap_or_default()
        .to_owned())
}

async fn run_instances(
    config: &aws_config::SdkConfig,
    count: usize,
) -> Result<Vec<String>, AwsError> {
    let count = i32::try_from(count).unwrap_or(1);
    let made = aws_sdk_ec2::Client::new(config)
        .run_instances()
        .image_id(IMAGE)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(count)
        .max_count(count)
        .send()
        .await
        .map_err(|e| failed("ec2:RunInstances", e))?;
    Ok(made
        .instances()
        .iter()
        .filter_map(|i| i.instance_id())
        .map(str::to_owned)
        .collect())
}

/// `https://host:port` of a URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{host}"))
}

/// The world's web app on a loopback port: every path answers `status`, with a body that names the version it
/// runs: the image tag each seeded ECS service runs now, read from the emulator at each request, and the input's
/// values (an app on a host that `ssm.command` changes: moto runs no command).
async fn web_app(
    session: &Session,
    world: &World,
    input: &Map<String, Json>,
    status: u64,
) -> std::io::Result<u16> {
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let ecs = aws_sdk_ecs::Client::new(&session.config);
    let services = world.services.clone();
    let inputs: Vec<String> = input
        .values()
        .filter_map(Json::as_str)
        .map(str::to_owned)
        .collect();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (ecs, services, inputs) = (ecs.clone(), services.clone(), inputs.clone());
            tokio::spawn(async move {
                // Every request gets the same answer; one that cannot be read gets none.
                if loopback::read_request(&mut stream).await.is_err() {
                    return;
                }
                let mut versions = Vec::new();
                for (cluster, service) in &services {
                    versions.extend(
                        running_image(&ecs, cluster, service)
                            .await
                            .map(|(_, image)| image),
                    );
                }
                versions.extend(inputs);
                let body = format!("running {}\n", versions.join(" "));
                let status = format!("{status} Rehearsal");
                let _ = loopback::respond(&mut stream, &status, &[], "text/plain", body.as_bytes())
                    .await;
            });
        }
    });
    Ok(port)
}

/// The task definition a service runs and its first container's image.
async fn running_image(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Option<(String, String)> {
    let described = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .ok()?;
    let task_definition = described.services().first()?.task_definition()?.to_owned();
    let definition = ecs
        .describe_task_definition()
        .task_definition(&task_definition)
        .send()
        .await
        .ok()?;
    let image = definition
        .task_definition()?
        .container_definitions()
        .first()?
        .image()?
        .to_owned();
    let short = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(&task_definition)
        .to_owned();
    Some((short, image))
}

impl Network {
    fn awsvpc(&self) -> Result<NetworkConfiguration, AwsError> {
        Ok(NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets(&self.subnet)
                    .security_groups(&self.security_group)
                    .assign_public_ip(AssignPublicIp::Disabled)
                    .build()
                    .map_err(|e| failed("ecs network configuration", e))?,
            )
            .build())
    }
}

impl World {
    /// The world's network, made on first use.
    async fn network(&mut self, config: &aws_config::SdkConfig) -> Result<Network, AwsError> {
        if let Some(network) = &self.network {
            return Ok(network.clone());
        }
        let ec2 = aws_sdk_ec2::Client::new(config);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .map_err(|e| failed("ec2:CreateVpc", e))?
            .vpc
            .and_then(|v| v.vpc_id)
            .unwrap_or_default();
        ec2.modify_vpc_attribute()
            .vpc_id(&vpc)
            .enable_dns_hostnames(
                aws_sdk_ec2::types::AttributeBooleanValue::builder()
                    .value(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failed("ec2:ModifyVpcAttribute", e))?;
        let subnet = create_subnet(&ec2, &vpc, "10.0.1.0/24").await?;
        let security_group = create_security_group(
            &ec2,
            &vpc,
            "rehearsal",
            "the rehearsal's tasks and load balancers",
        )
        .await?;
        self.created.push(format!(
            "VPC {vpc} with subnet {subnet} and security group {security_group}"
        ));
        let network = Network {
            vpc,
            subnet,
            security_group,
        };
        self.network = Some(network.clone());
        Ok(network)
    }

    /// A target group named `name`: of addresses when an ECS service of the world registers its tasks in it
    /// (`ip`), else of instances: the world's for the workflow's `named` targets, or two, as a person registers
    /// hosts.
    async fn target_group(
        &mut self,
        config: &aws_config::SdkConfig,
        name: &str,
        for_service: bool,
        named: &[String],
    ) -> Result<String, AwsError> {
        let network = self.network(config).await?;
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
        let mut group = elb
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(CONTAINER_PORT)
            .vpc_id(&network.vpc);
        let for_service = for_service && named.is_empty();
        if for_service {
            group = group.target_type(TargetTypeEnum::Ip);
        }
        let made = group
            .send()
            .await
            .map_err(|e| failed("elasticloadbalancing:CreateTargetGroup", e))?;
        let arn = made
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .unwrap_or_default()
            .to_owned();
        if for_service {
            // The ECS service, made after it, registers its tasks here.
            self.created
                .push(format!("target group {name} (ip targets)"));
            self.service_target_groups.insert(arn.clone());
        } else {
            let targets = if named.is_empty() {
                run_instances(config, 2).await?
            } else {
                self.instances(config, named).await?
            };
            let mut register = elb.register_targets().target_group_arn(&arn);
            for id in &targets {
                register = register.targets(
                    TargetDescription::builder()
                        .id(id)
                        .port(CONTAINER_PORT)
                        .build(),
                );
            }
            register
                .send()
                .await
                .map_err(|e| failed("elasticloadbalancing:RegisterTargets", e))?;
            self.created.push(format!(
                "target group {name} with {} targets registered",
                targets.len()
            ));
        }
        self.target_groups.insert(name.to_owned(), arn.clone());
        Ok(arn)
    }

    /// The world's instances for the workflow's instance `ids`, in order: each id that names no instance of the
    /// world yet gets one; any other target (an IP address) stays as written.
    async fn instances(
        &mut self,
        config: &aws_config::SdkConfig,
        ids: &[String],
    ) -> Result<Vec<String>, AwsError> {
        let new: Vec<&String> = ids
            .iter()
            .filter(|id| id.starts_with("i-") && !self.renames.contains_key(*id))
            .collect();
        if !new.is_empty() {
            let made = run_instances(config, new.len()).await?;
            for (old, id) in new.into_iter().zip(&made) {
                self.rename(old, id);
                self.created.push(format!("EC2 instance {id} (for {old})"));
            }
            self.instances = true;
        }
        Ok(ids.iter().map(|id| self.renamed(id)).collect())
    }

    /// The subnets and security groups a workflow names, each made once in the world's VPC (with DNS hostnames,
    /// which moto needs to give an awsvpc task its interface) under the emulator's id.
    async fn named_network(
        &mut self,
        config: &aws_config::SdkConfig,
        subnets: &[String],
        security_groups: &[String],
    ) -> Result<(), AwsError> {
        let new = |ids: &[String], prefix: &str| -> Vec<String> {
            ids.iter()
                .filter(|id| id.starts_with(prefix) && !self.renames.contains_key(*id))
                .cloned()
                .collect()
        };
        let (subnets, security_groups) = (new(subnets, "subnet-"), new(security_groups, "sg-"));
        if subnets.is_empty() && security_groups.is_empty() {
            return Ok(());
        }
        let vpc = self.network(config).await?.vpc;
        let ec2 = aws_sdk_ec2::Client::new(config);
        for named in subnets {
            // 10.0.1.0/24 is the world's own subnet.
            let made = self
                .renames
                .keys()
                .filter(|k| k.starts_with("subnet-"))
                .count();
            let subnet = create_subnet(&ec2, &vpc, &format!("10.0.{}.0/24", made + 2)).await?;
            self.created
                .push(format!("subnet {subnet} (for {named}) in VPC {vpc}"));
            self.rename(&named, &subnet);
        }
        for named in security_groups {
            let group = create_security_group(
                &ec2,
                &vpc,
                &format!("rehearsal-{named}"),
                &format!("stands for {named} in the rehearsal"),
            )
            .await?;
            self.created
                .push(format!("security group {group} (for {named}) in VPC {vpc}"));
            self.rename(&named, &group);
        }
        Ok(())
    }

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

    /// `text` with the renamed names replaced.
    fn renamed(&self, text: &str) -> String {
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
    pub async fn state(&self, session: &Session) -> Vec<StateLine> {
        let config = &session.config;
        let mut lines = Vec::new();
        let line = |resource: String, state: String| StateLine { resource, state };
        if !self.db_instances.is_empty() {
            let rds = aws_sdk_rds::Client::new(config);
            if let Ok(described) = rds.describe_db_instances().send().await {
                for instance in described.db_instances() {
                    let id = instance.db_instance_identifier().unwrap_or_default();
                    lines.push(line(format!("RDS instance {id}"), settings(instance)));
                }
            }
            for id in &self.db_instances {
                let snapshots = rds
                    .describe_db_snapshots()
                    .db_instance_identifier(id)
                    .send()
                    .await
                    .map(|s| {
                        s.db_snapshots()
                            .iter()
                            // The emulator's automated backups are not the rollback's.
                            .filter(|s| s.snapshot_type() == Some("manual"))
                            .filter_map(|s| s.db_snapshot_identifier())
                            .map(str::to_owned)
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                lines.push(line(format!("RDS snapshots of {id}"), counted(&snapshots)));
            }
        }
        if !self.db_clusters.is_empty() {
            lines.extend(self.cluster_state(session).await);
        }
        let ecs = aws_sdk_ecs::Client::new(config);
        for (cluster, service) in &self.services {
            let state = running_image(&ecs, cluster, service).await.map_or_else(
                || "unknown".to_owned(),
                |(definition, image)| format!("runs {definition} ({image})"),
            );
            lines.push(line(format!("ECS service {cluster}/{service}"), state));
        }
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
        for (name, arn) in &self.target_groups {
            let targets: Vec<String> = elb
                .describe_target_health()
                .target_group_arn(arn)
                .send()
                .await
                .map(|h| {
                    h.target_health_descriptions()
                        .iter()
                        .filter_map(|d| d.target().and_then(|t| t.id()))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            lines.push(line(
                format!("target group {name}"),
                if targets.is_empty() {
                    "no target registered".to_owned()
                } else {
                    format!("{} registered: {}", targets.len(), targets.join(", "))
                },
            ));
        }
        for (name, arn) in &self.listeners {
            let rules = elb
                .describe_rules()
                .listener_arn(arn)
                .send()
                .await
                .map(|r| {
                    r.rules()
                        .iter()
                        .filter(|r| r.is_default() != Some(true))
                        .count()
                })
                .unwrap_or_default();
            lines.push(line(
                format!("listener of {name}"),
                if rules == 0 {
                    "forwards to its target group".to_owned()
                } else {
                    format!("{rules} rule(s) before forwarding to its target group")
                },
            ));
        }
        if !self.auto_scaling_groups.is_empty() {
            let described = aws_sdk_autoscaling::Client::new(config)
                .describe_auto_scaling_groups()
                .set_auto_scaling_group_names(Some(
                    self.auto_scaling_groups.iter().cloned().collect(),
                ))
                .send()
                .await;
            for group in described.iter().flat_map(|d| d.auto_scaling_groups()) {
                let suspended: Vec<&str> = group
                    .suspended_processes()
                    .iter()
                    .filter_map(|p| p.process_name())
                    .collect();
                lines.push(line(
                    format!(
                        "Auto Scaling group {}",
                        group.auto_scaling_group_name().unwrap_or_default()
                    ),
                    if suspended.is_empty() {
                        "no process suspended".to_owned()
                    } else {
                        format!("suspended: {}", suspended.join(", "))
                    },
                ));
            }
        }
        if self.instances {
            let images = aws_sdk_ec2::Client::new(config)
                .describe_images()
                .owners("self")
                .send()
                .await
                .map(|i| {
                    i.images()
                        .iter()
                        .filter_map(|i| i.image_id())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            lines.push(line("EC2 images".to_owned(), counted(&images)));
            lines.extend(ssm_scripts(config).await);
        }
        lines
    }
}

impl World {
    /// Each Aurora cluster, and the cluster snapshots of those the world made (a swapped-out cluster keeps its
    /// snapshots under its new name, so they are listed by the snapshot's own cluster).
    async fn cluster_state(&self, session: &Session) -> Vec<StateLine> {
        let rds = aws_sdk_rds::Client::new(&session.config);
        let mut lines = Vec::new();
        if let Ok(described) = rds.describe_db_clusters().send().await {
            for cluster in described.db_clusters() {
                lines.push(StateLine {
                    resource: format!(
                        "RDS cluster {}",
                        cluster.db_cluster_identifier().unwrap_or_default()
                    ),
                    state: cluster.status().unwrap_or("unknown").to_owned(),
                });
            }
        }
        let snapshots = rds
            .describe_db_cluster_snapshots()
            .snapshot_type("manual")
            .send()
            .await
            .map(|s| s.db_cluster_snapshots().to_vec())
            .unwrap_or_default();
        for id in &self.db_clusters {
            let of: Vec<&str> = snapshots
                .iter()
                .filter(|s| s.db_cluster_identifier() == Some(id.as_str()))
                .filter_map(|s| s.db_cluster_snapshot_identifier())
                .collect();
            lines.push(StateLine {
                resource: format!("RDS cluster snapshots of {id}"),
                state: counted(&of),
            });
        }
        lines
    }
}

/// `none`, or how many and which.
/// A subnet of `vpc`; its id.
async fn create_subnet(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    cidr: &str,
) -> Result<String, AwsError> {
    Ok(ec2
        .create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .send()
        .await
        .map_err(|e| failed("ec2:CreateSubnet", e))?
        .subnet
        .and_then(|s| s.subnet_id)
        .unwrap_or_default())
}

/// A security group of `vpc`; its id.
async fn create_security_group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
    description: &str,
) -> Result<String, AwsError> {
    Ok(ec2
        .create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc)
        .send()
        .await
        .map_err(|e| failed("ec2:CreateSecurityGroup", e))?
        .group_id
        .unwrap_or_default())
}

fn counted(items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    let names: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("{}: {}", items.len(), names.join(", "))
}

/// Each command that SSM received, oldest first, with the script as SSM would run it on its instances (what the
/// handler sent, values and all), so that a person can read what would have run: the emulator runs nothing.
async fn ssm_scripts(config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let Ok(listed) = aws_sdk_ssm::Client::new(config)
        .list_commands()
        .send()
        .await
    else {
        return vec![StateLine {
            resource: "SSM commands".to_owned(),
            state: "unknown: ListCommands failed".to_owned(),
        }];
    };
    let mut commands = listed.commands().to_vec();
    commands.sort_by_key(|c| {
        c.requested_date_time()
            .map(|t| (t.secs(), t.subsec_nanos()))
    });
    if commands.is_empty() {
        return vec![StateLine {
            resource: "SSM commands".to_owned(),
            state: "none".to_owned(),
        }];
    }
    commands
        .iter()
        .map(|command| {
            let script = command
                .parameters()
                .and_then(|p| p.get("commands"))
                .map(|lines| lines.join("\n"))
                .unwrap_or_default();
            let directory = command
                .parameters()
                .and_then(|p| p.get("workingDirectory"))
                .and_then(|d| d.first())
                .map(|d| format!("in {d}\n"))
                .unwrap_or_default();
            // The handler's comment ends with the step's id; the emulator's instance list is not what was asked
            // (moto 5.2.5 adds every instance it knows to a command sent to instance ids).
            let step = command
                .comment()
                .filter(|c| c.starts_with("stepback "))
                .and_then(|c| c.rsplit(' ').next())
                .map_or_else(
                    || command.command_id().unwrap_or_default().to_owned(),
                    |step| format!("from {step}"),
                );
            StateLine {
                resource: format!("SSM command {step}"),
                state: format!("{directory}{script}"),
            }
        })
        .collect()
}

fn rewrite_json(json: &mut Json, replace: &impl Fn(&mut String)) {
    match json {
        Json::String(text) => replace(text),
        Json::Array(items) => items.iter_mut().for_each(|v| rewrite_json(v, replace)),
        Json::Object(entries) => entries.values_mut().for_each(|v| rewrite_json(v, replace)),
        _ => {}
    }
}

/// An instance's status and the settings a restore copies, so that a rehearsal shows the restored one kept them:
/// `available; Multi-AZ, deletion protection, 7 days of backups, IAM auth, logs postgresql, encrypted, tags
/// backup-plan=daily`.
fn settings(instance: &aws_sdk_rds::types::DbInstance) -> String {
    let mut kept = Vec::new();
    if instance.multi_az() == Some(true) {
        kept.push("Multi-AZ".to_owned());
    }
    if instance.deletion_protection() == Some(true) {
        kept.push("deletion protection".to_owned());
    }
    if let Some(days) = instance.backup_retention_period().filter(|d| *d > 0) {
        kept.push(format!("{days} days of backups"));
    }
    if instance.iam_database_authentication_enabled() == Some(true) {
        kept.push("IAM auth".to_owned());
    }
    let logs = instance.enabled_cloudwatch_logs_exports();
    if !logs.is_empty() {
        kept.push(format!("logs {}", logs.join(" ")));
    }
    if instance.storage_encrypted() == Some(true) {
        kept.push("encrypted".to_owned());
    }
    let tags: Vec<String> = instance
        .tag_list()
        .iter()
        .filter(|t| !t.key().is_some_and(|k| k.starts_with("stepback:")))
        .map(|t| {
            format!(
                "{}={}",
                t.key().unwrap_or_default(),
                t.value().unwrap_or_default()
            )
        })
        .collect();
    if !tags.is_empty() {
        kept.push(format!("tags {}", tags.join(" ")));
    }
    let status = instance.db_instance_status().unwrap_or("unknown");
    if kept.is_empty() {
        status.to_owned()
    } else {
        format!("{status}; {}", kept.join(", "))
    }
}
