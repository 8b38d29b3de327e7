//! `alb.deregister` and `alb.register`: take targets out of a target group and wait until none is
//! `draining`, and put them back and wait until all are `healthy`. Both calls are idempotent in ELB, and
//! `start` only deregisters targets that are still in service, so a retried `start` changes nothing twice.
//!
//! These are for targets a person registered (hosts, instances). A target group that an ECS service or an Auto
//! Scaling group registers into is theirs: ECS replaces its tasks' targets on every deployment, so the targets
//! drained are gone when they would be put back. The checks say so ([`managed_by`]), `alb.register` never
//! waits for a target that no longer exists, and such a group's traffic is halted at its listener instead
//! (`alb.halt`).

use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealthStateEnum};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known};
use crate::ec2;
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeregisterParams {
    pub target_group: String,
    /// `"i-0abc"`, `"i-0abc:8080"` or `"10.0.0.7:80"`; default: every target registered.
    pub targets: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterParams {
    pub target_group: String,
    pub targets: Vec<String>,
}

/// The output of both actions, and their poll state: `alb.deregister`'s output feeds `alb.register`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Output {
    pub targets: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    target_group: String,
    targets: Vec<String>,
}

/// `start` deregisters the targets still in service; `poll` until none is draining.
pub struct AlbDeregister;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<AlbDeregister>(), Handler::long::<AlbRegister>()];

impl Action for AlbDeregister {
    const NAME: &str = "alb.deregister";
    type Params = DeregisterParams;

    /// The target group exists, has targets in service to drain, and no service or group registers into it.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        target_group_ready(clients, params, true).await
    }
}

impl LongAction for AlbDeregister {
    type State = State;

    async fn start(clients: &Clients, call: &Call<DeregisterParams>) -> Result<State, ActionError> {
        let DeregisterParams {
            target_group,
            targets,
        } = &call.params;
        let health = describe(clients, target_group, targets.as_deref()).await?;
        // Absent targets report `unused`; `draining` ones are on their way out already. A retried default
        // `start` keeps the draining ones, so its output still names every target.
        let targets = targets.clone().unwrap_or_else(|| {
            health
                .iter()
                .filter(|(_, state)| *state != TargetHealthStateEnum::Unused)
                .map(|(t, _)| t.clone())
                .collect()
        });
        let in_service: Vec<_> = health
            .into_iter()
            .filter(|(t, state)| targets.contains(t) && !is_out(state))
            .map(|(t, _)| t)
            .collect();
        if !in_service.is_empty() {
            let deregistered = clients
                .aws(aws_sdk_elasticloadbalancingv2::Client::new)
                .deregister_targets()
                .target_group_arn(target_group)
                .set_targets(Some(descriptions(&in_service)))
                .send()
                .await;
            if let Err(e) = deregistered {
                // An answer lost on the way: the SDK's next attempt is refused (InvalidTarget), since the
                // first one deregistered them. The targets' health says which.
                let still_in = describe(clients, target_group, Some(&in_service))
                    .await?
                    .iter()
                    .any(|(t, state)| in_service.contains(t) && !is_out(state));
                if still_in {
                    let attempted = format!(
                        "deregister {} from target group `{target_group}`",
                        in_service.join(", ")
                    );
                    return Err(ActionError::aws(attempted, e));
                }
            }
        }
        Ok(State {
            target_group: target_group.clone(),
            targets,
        })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<DeregisterParams>,
        state: State,
    ) -> Result<Response, ActionError> {
        let health = describe(clients, &state.target_group, Some(&state.targets)).await?;
        let draining: Vec<_> = health
            .iter()
            .filter(|(_, s)| *s == TargetHealthStateEnum::Draining)
            .map(|(t, _)| t.as_str())
            .collect();
        if draining.is_empty() {
            return done(&Output {
                targets: state.targets,
            });
        }
        let drained = state.targets.len() - draining.len();
        let progress = format!(
            "{drained} of {} targets drained; draining: {}",
            state.targets.len(),
            draining.join(", ")
        );
        running(&state, progress)
    }
}

/// `start` registers the targets; `poll` until all are healthy.
pub struct AlbRegister;

impl Action for AlbRegister {
    const NAME: &str = "alb.register";
    type Params = RegisterParams;

    /// The target group exists and no service or group registers into it; its targets usually come from
    /// `alb.deregister` at run time.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        target_group_ready(clients, params, false).await
    }
}

/// The `target_group` param's group answers DescribeTargetHealth; with `needs_targets`, some target is in
/// service; and no ECS service or Auto Scaling group registers into it.
async fn target_group_ready(
    clients: &Clients,
    params: &Known,
    needs_targets: bool,
) -> Vec<Finding> {
    let target_group: String = match params.required("target_group") {
        Ok(group) => group,
        Err(unknown) => return vec![unknown.finding("target group")],
    };
    let resource = format!("target group `{target_group}`");
    let health = match describe(clients, &target_group, None).await {
        Ok(health) => health,
        Err(error) => {
            return vec![check::failed(
                resource,
                &error,
                "fix `target_group`: the ARN of an existing target group in the stack's region",
            )];
        }
    };
    let in_service = health.iter().filter(|(_, state)| !is_out(state)).count();
    let ready = if needs_targets && in_service == 0 {
        check::bad(
            Verdict::NotReady,
            resource.clone(),
            format!("no target in service ({} registered)", health.len()),
            "register the service's targets, or point `target_group` at the group that serves it",
        )
    } else {
        check::ok(
            resource.clone(),
            format!("{in_service} target(s) in service"),
        )
    };
    let owner = match managed_by(clients, &target_group).await {
        Ok(None) => check::ok(
            resource,
            "no ECS service or Auto Scaling group registers into it",
        ),
        Ok(Some(owner)) => check::bad(
            Verdict::NotReady,
            resource,
            format!("{owner} registers its targets into it and replaces them on its own"),
            "halt its traffic at the listener with `alb.halt` (and `alb.resume` afterwards) instead of alb.deregister/alb.register: `stepback explain W008`",
        ),
        Err(error) => check::failed(resource, &error, ""),
    };
    vec![ready, owner]
}

/// The ECS service (DescribeServices' `loadBalancers`) or Auto Scaling group (`TargetGroupARNs`) of the
/// account and region that registers into `target_group`, if any.
async fn managed_by(clients: &Clients, target_group: &str) -> Result<Option<String>, ActionError> {
    let ecs = clients.aws(aws_sdk_ecs::Client::new);
    let looked = "find the ECS services behind target group";
    let mut clusters = ecs.list_clusters().into_paginator().items().send();
    while let Some(cluster) = clusters.next().await {
        let cluster = cluster.map_err(|e| ActionError::aws(looked, e))?;
        let mut services = ecs
            .list_services()
            .cluster(&cluster)
            .into_paginator()
            .items()
            .send();
        let mut arns = Vec::new();
        while let Some(service) = services.next().await {
            arns.push(service.map_err(|e| ActionError::aws(looked, e))?);
        }
        // DescribeServices takes at most 10 services a call (ECS API reference).
        for chunk in arns.chunks(10) {
            let described = ecs
                .describe_services()
                .cluster(&cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| ActionError::aws(looked, e))?;
            if let Some(service) = described.services().iter().find(|s| {
                s.load_balancers()
                    .iter()
                    .any(|l| l.target_group_arn() == Some(target_group))
            }) {
                return Ok(Some(format!(
                    "ECS service `{}` of cluster `{}`",
                    service.service_name().unwrap_or_default(),
                    cluster.rsplit('/').next().unwrap_or(&cluster)
                )));
            }
        }
    }
    let mut groups = clients
        .aws(aws_sdk_autoscaling::Client::new)
        .describe_auto_scaling_groups()
        .into_paginator()
        .items()
        .send();
    while let Some(group) = groups.next().await {
        let group = group
            .map_err(|e| ActionError::aws("find the Auto Scaling groups behind target group", e))?;
        if group
            .target_group_arns()
            .iter()
            .any(|arn| arn == target_group)
        {
            return Ok(Some(format!(
                "Auto Scaling group `{}`",
                group.auto_scaling_group_name().unwrap_or_default()
            )));
        }
    }
    Ok(None)
}

/// Of `targets`, those that no longer exist: an instance id that EC2 does not know or that is terminated, an
/// IP address that no network interface holds (a stopped task's, on awsvpc). ELB would register them and
/// wait for health checks that never pass.
async fn gone(clients: &Clients, targets: &[String]) -> Result<Vec<String>, ActionError> {
    let ids: Vec<(&String, &str)> = targets
        .iter()
        .map(|t| {
            let id = t
                .rsplit_once(':')
                .filter(|(_, port)| port.parse::<u16>().is_ok())
                .map_or(t.as_str(), |(id, _)| id);
            (t, id)
        })
        .collect();
    let instances: Vec<&str> = ids
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| id.starts_with("i-"))
        .collect();
    let addresses: Vec<&str> = ids
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| id.parse::<std::net::IpAddr>().is_ok())
        .collect();
    let ec2 = clients.aws(ec2::Client::new);
    fn filter(name: &'static str, values: &[&str]) -> ec2::Filter {
        ec2::Filter {
            name,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }
    let mut present: Vec<String> = Vec::new();
    if !instances.is_empty() {
        let described = ec2
            .describe_instances(&[], &[filter("instance-id", &instances)])
            .await
            .map_err(|e| ActionError::aws("describe the targets' instances", e))?;
        present.extend(
            described
                .into_iter()
                .filter(|i| !matches!(i.state.as_str(), "terminated" | "shutting-down"))
                .map(|i| i.instance_id),
        );
    }
    if !addresses.is_empty() {
        let described = ec2
            .describe_network_interfaces(&[filter("addresses.private-ip-address", &addresses)])
            .await
            .map_err(|e| {
                ActionError::aws(
                    "describe the network interfaces of the targets' addresses",
                    e,
                )
            })?;
        present.extend(described.into_iter().flat_map(|n| n.private_ip_addresses));
    }
    Ok(ids
        .into_iter()
        .filter(|(_, id)| {
            (id.starts_with("i-") || id.parse::<std::net::IpAddr>().is_ok())
                && !present.iter().any(|p| p == id)
        })
        .map(|(target, _)| target.clone())
        .collect())
}

impl LongAction for AlbRegister {
    type State = State;

    async fn start(clients: &Clients, call: &Call<RegisterParams>) -> Result<State, ActionError> {
        let RegisterParams {
            target_group,
            targets,
        } = &call.params;
        // The group first: a missing group is NotFound, whatever its targets.
        describe(clients, target_group, None).await?;
        // A deregister that found nothing to drain hands over no targets: nothing to put back.
        let gone = gone(clients, targets).await?;
        let present: Vec<String> = targets
            .iter()
            .filter(|t| !gone.contains(t))
            .cloned()
            .collect();
        if !present.is_empty() {
            clients
                .aws(aws_sdk_elasticloadbalancingv2::Client::new)
                .register_targets()
                .target_group_arn(target_group)
                .set_targets(Some(descriptions(&present)))
                .send()
                .await
                .map_err(|e| {
                    ActionError::aws(
                        format!(
                            "register {} in target group `{target_group}`",
                            present.join(", ")
                        ),
                        e,
                    )
                })?;
        }
        if !gone.is_empty() {
            return Err(ActionError::new(
                ErrorName::Precondition,
                format!(
                    "register in target group `{target_group}`: {} no longer exist{}; registered: {}. A target group that an ECS service or an Auto Scaling group registers into gets new targets on each deployment: halt its traffic with alb.halt instead",
                    gone.join(", "),
                    if gone.len() == 1 { "s" } else { "" },
                    if present.is_empty() {
                        "none".to_owned()
                    } else {
                        present.join(", ")
                    },
                ),
            ));
        }
        Ok(State {
            target_group: target_group.clone(),
            targets: targets.clone(),
        })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<RegisterParams>,
        state: State,
    ) -> Result<Response, ActionError> {
        if state.targets.is_empty() {
            return done(&Output {
                targets: state.targets,
            });
        }
        let health = describe(clients, &state.target_group, Some(&state.targets)).await?;
        let waiting: Vec<_> = health
            .iter()
            .filter(|(_, s)| *s != TargetHealthStateEnum::Healthy)
            .map(|(t, s)| format!("{t} ({})", s.as_str()))
            .collect();
        if waiting.is_empty() {
            return done(&Output {
                targets: state.targets,
            });
        }
        let healthy = state.targets.len() - waiting.len();
        let progress = format!(
            "{healthy} of {} targets healthy; waiting for {}",
            state.targets.len(),
            waiting.join(", ")
        );
        running(&state, progress)
    }
}

/// Out of service already: leaving, or not registered at all.
fn is_out(state: &TargetHealthStateEnum) -> bool {
    matches!(
        state,
        TargetHealthStateEnum::Draining
            | TargetHealthStateEnum::Unused
            | TargetHealthStateEnum::Unavailable
    )
}

/// Each target's health state, as `id` or `id:port` strings in the form the params use.
async fn describe(
    clients: &Clients,
    target_group: &str,
    targets: Option<&[String]>,
) -> Result<Vec<(String, TargetHealthStateEnum)>, ActionError> {
    let output = clients
        .aws(aws_sdk_elasticloadbalancingv2::Client::new)
        .describe_target_health()
        .target_group_arn(target_group)
        .set_targets(targets.map(descriptions))
        .send()
        .await
        .map_err(|e| {
            ActionError::aws(
                format!("describe target health of target group `{target_group}`"),
                e,
            )
        })?;
    let named = |d: &TargetDescription, given: Option<&[String]>| {
        let id = d.id().unwrap_or_default();
        let with_port = d
            .port()
            .map_or_else(|| id.to_owned(), |port| format!("{id}:{port}"));
        // Keep the caller's spelling (`i-0abc` rather than `i-0abc:80`) so outputs match inputs.
        given
            .and_then(|g| g.iter().find(|t| **t == with_port || **t == id))
            .cloned()
            .unwrap_or(with_port)
    };
    Ok(output
        .target_health_descriptions()
        .iter()
        .filter_map(|h| {
            let state = h.target_health()?.state()?.clone();
            Some((named(h.target()?, targets), state))
        })
        .collect())
}

/// `"i-0abc:8080"` → id `i-0abc`, port 8080. Lambda ARNs contain colons but end in no port.
fn descriptions(targets: &[String]) -> Vec<TargetDescription> {
    targets
        .iter()
        .map(|target| {
            let (id, port) = match target.rsplit_once(':') {
                Some((id, port)) if port.parse::<i32>().is_ok() => (id, port.parse().ok()),
                _ => (target.as_str(), None),
            };
            TargetDescription::builder().id(id).set_port(port).build()
        })
        .collect()
}
