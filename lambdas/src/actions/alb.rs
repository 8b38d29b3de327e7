//! `alb.deregister` and `alb.register`: take targets out of a target group and wait until none is
//! `draining`, and put them back and wait until all are `healthy`. Both calls are idempotent in ELB, and
//! `start` only deregisters targets that are still in service, so a retried `start` changes nothing twice.

use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealthStateEnum};
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, LongAction};
use crate::check::{self, Known};
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

impl Action for AlbDeregister {
    const NAME: &str = "alb.deregister";
    type Params = DeregisterParams;

    /// The target group exists and has targets in service to drain.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        vec![target_group_ready(clients, params, true).await]
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

    /// The target group exists; its targets usually come from `alb.deregister` at run time.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        vec![target_group_ready(clients, params, false).await]
    }
}

/// The `target_group` param's group answers DescribeTargetHealth; with `needs_targets`, some target is in
/// service.
async fn target_group_ready(clients: &Clients, params: &Known, needs_targets: bool) -> Finding {
    let target_group: String = match params.required("target_group") {
        Ok(group) => group,
        Err(unknown) => return unknown.finding("target group"),
    };
    let resource = format!("target group `{target_group}`");
    let health = match describe(clients, &target_group, None).await {
        Ok(health) => health,
        Err(error) => {
            return check::failed(
                resource,
                &error,
                "fix `target_group`: the ARN of an existing target group in the stack's region",
            );
        }
    };
    let in_service = health.iter().filter(|(_, state)| !is_out(state)).count();
    if needs_targets && in_service == 0 {
        return check::bad(
            Verdict::NotReady,
            resource,
            format!("no target in service ({} registered)", health.len()),
            "register the service's targets, or point `target_group` at the group that serves it",
        );
    }
    check::ok(resource, format!("{in_service} target(s) in service"))
}

impl LongAction for AlbRegister {
    type State = State;

    async fn start(clients: &Clients, call: &Call<RegisterParams>) -> Result<State, ActionError> {
        let RegisterParams {
            target_group,
            targets,
        } = &call.params;
        // A deregister that found nothing to drain hands over no targets: nothing to put back.
        if !targets.is_empty() {
            clients
                .aws(aws_sdk_elasticloadbalancingv2::Client::new)
                .register_targets()
                .target_group_arn(target_group)
                .set_targets(Some(descriptions(targets)))
                .send()
                .await
                .map_err(|e| {
                    ActionError::aws(
                        format!(
                            "register {} in target group `{target_group}`",
                            targets.join(", ")
                        ),
                        e,
                    )
                })?;
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
