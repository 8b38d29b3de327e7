//! `alb.halt` and `alb.resume`: halt a load balancer's traffic at its listener, and let it through again.
//!
//! How traffic is halted for a target group that an ECS service or an Auto Scaling group manages: their
//! targets are not ours to take out (ECS registers each deployment's tasks and deregisters the old ones by
//! itself, the ECS `LoadBalancer` API reference), so the listener answers instead. `alb.halt` adds a rule at
//! priority 1, the first one evaluated, whose condition matches every path (`/*`) and whose action is a fixed
//! response (503 and a maintenance message by default); `alb.resume` deletes it, and the listener's own rules
//! and default action apply again, to whatever targets the service registered meanwhile. Chosen over the
//! listener's forward weights, which would need a second target group to send the traffic to and would
//! rewrite the user's own default action (to be restored exactly afterwards); a rule of our own leaves every
//! rule of the user's untouched, and its removal is the whole undo.
//!
//! A retried `alb.halt` finds its rule (priority 1, with the same response) instead of adding another; a
//! retried `alb.resume` whose rule is gone already is done.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    ActionTypeEnum, FixedResponseActionConfig, Rule, RuleCondition,
};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, Invoke};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaltParams {
    pub listener: String,
    pub status: Option<u16>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeParams {
    pub listener: String,
    pub rule: String,
}

/// The output of both: the rule added, or deleted.
#[derive(Debug, Serialize)]
pub struct Output {
    pub rule: String,
}

/// The rule evaluated first: ELB evaluates rules "in priority order, from the lowest value to the highest
/// value" (ELB user guide, "Listener rules for your Application Load Balancer").
const FIRST: &str = "1";
const DEFAULT_STATUS: u16 = 503;
const DEFAULT_MESSAGE: &str = "Down for maintenance; back shortly.";
/// Every path: the halt rule's one condition.
const EVERY_PATH: &str = "/*";

/// Adds the halt rule, or finds the one an earlier attempt added.
pub struct AlbHalt;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::invoke::<AlbHalt>(), Handler::invoke::<AlbResume>()];

impl Action for AlbHalt {
    const NAME: &str = "alb.halt";
    type Params = HaltParams;

    /// The listener exists, and priority 1 is free (or holds this step's rule already).
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let listener: String = match params.required("listener") {
            Ok(listener) => listener,
            Err(unknown) => return vec![unknown.finding("listener")],
        };
        let resource = format!("listener `{listener}`");
        let rules = match rules(clients, &listener).await {
            Ok(rules) => rules,
            Err(error) => {
                return vec![check::failed(
                    resource,
                    &error,
                    "fix `listener`: the ARN of an application load balancer's listener in the stack's region",
                )];
            }
        };
        vec![match rules.iter().find(|r| r.priority() == Some(FIRST)) {
            Some(first) if !is_halt(first) => check::bad(
                Verdict::NotReady,
                resource,
                format!(
                    "rule `{}` holds priority 1, so a halt rule could not come first",
                    first.rule_arn().unwrap_or_default()
                ),
                "move that rule to another priority (SetRulePriorities), so that the halt rule can be evaluated first",
            ),
            _ => check::ok(
                resource,
                format!("{} rule(s); priority 1 is free", rules.len()),
            ),
        }]
    }
}

impl Invoke for AlbHalt {
    async fn invoke(clients: &Clients, call: Call<HaltParams>) -> Result<Response, ActionError> {
        let HaltParams {
            listener,
            status,
            message,
        } = &call.params;
        let status = status.unwrap_or(DEFAULT_STATUS).to_string();
        let message = message.as_deref().unwrap_or(DEFAULT_MESSAGE);
        let attempted = format!("halt the traffic of listener `{listener}`");
        if let Some(rule) = halt_rule(clients, listener).await? {
            return done(&Output { rule });
        }
        let created = clients
            .aws(Client::new)
            .create_rule()
            .listener_arn(listener)
            .priority(1)
            .conditions(
                RuleCondition::builder()
                    .field("path-pattern")
                    .values(EVERY_PATH)
                    .build(),
            )
            .actions(
                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                    .r#type(ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        FixedResponseActionConfig::builder()
                            .status_code(&status)
                            .content_type("text/plain")
                            .message_body(message)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await;
        match created {
            Ok(output) => done(&Output {
                rule: output
                    .rules()
                    .first()
                    .and_then(Rule::rule_arn)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            Err(e) => {
                // An answer lost on the way: the SDK's next attempt finds priority 1 in use, by our rule.
                if let Some(rule) = halt_rule(clients, listener).await? {
                    return done(&Output { rule });
                }
                let taken = e
                    .as_service_error()
                    .is_some_and(|e| e.is_priority_in_use_exception());
                let mut error = ActionError::aws(&attempted, e);
                if taken {
                    error.name = ErrorName::Precondition;
                    error.message.push_str(
                        "; another rule holds priority 1: move it, so that the halt rule can come first",
                    );
                }
                Err(error)
            }
        }
    }
}

/// Deletes the halt rule.
pub struct AlbResume;

impl Action for AlbResume {
    const NAME: &str = "alb.resume";
    type Params = ResumeParams;

    /// The listener exists; the rule is known only once `alb.halt` ran.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let listener: String = match params.required("listener") {
            Ok(listener) => listener,
            Err(unknown) => return vec![unknown.finding("listener")],
        };
        let resource = format!("listener `{listener}`");
        vec![match rules(clients, &listener).await {
            Ok(rules) => check::ok(resource, format!("{} rule(s)", rules.len())),
            Err(error) => check::failed(resource, &error, "fix `listener`"),
        }]
    }
}

impl Invoke for AlbResume {
    async fn invoke(clients: &Clients, call: Call<ResumeParams>) -> Result<Response, ActionError> {
        let ResumeParams { listener, rule } = &call.params;
        let rules = rules(clients, listener).await?;
        let present = rules.iter().find(|r| r.rule_arn() == Some(rule.as_str()));
        // Only the rule a halt added: a rule of the user's is never deleted.
        if let Some(found) = present
            && !(found.priority() == Some(FIRST) && is_halt(found))
        {
            return Err(ActionError::new(
                ErrorName::Precondition,
                format!(
                    "resume listener `{listener}`: rule `{rule}` is not a halt rule (priority 1, a fixed response to every path); it is left alone"
                ),
            ));
        }
        if present.is_some() {
            let deleted = clients
                .aws(Client::new)
                .delete_rule()
                .rule_arn(rule)
                .send()
                .await;
            if let Err(e) = deleted
                && !e
                    .as_service_error()
                    .is_some_and(|e| e.is_rule_not_found_exception())
            {
                return Err(ActionError::aws(
                    format!("delete rule `{rule}` of listener `{listener}`"),
                    e,
                ));
            }
        }
        done(&Output { rule: rule.clone() })
    }
}

/// The halt rule at priority 1, if there is one.
async fn halt_rule(clients: &Clients, listener: &str) -> Result<Option<String>, ActionError> {
    Ok(rules(clients, listener)
        .await?
        .iter()
        .find(|r| r.priority() == Some(FIRST) && is_halt(r))
        .and_then(Rule::rule_arn)
        .map(str::to_owned))
}

/// A rule that answers every path with a fixed response.
fn is_halt(rule: &Rule) -> bool {
    let every_path = rule.conditions().iter().any(|c| {
        c.field() == Some("path-pattern")
            && (c.values() == [EVERY_PATH]
                || c.path_pattern_config()
                    .is_some_and(|p| p.values() == [EVERY_PATH]))
    });
    let fixed = rule
        .actions()
        .iter()
        .any(|a| a.r#type() == Some(&ActionTypeEnum::FixedResponse));
    every_path && fixed
}

/// Every rule of the listener (DescribeRules pages by marker).
async fn rules(clients: &Clients, listener: &str) -> Result<Vec<Rule>, ActionError> {
    let client = clients.aws(Client::new);
    let mut all = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .describe_rules()
            .listener_arn(listener)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                let not_found = e
                    .as_service_error()
                    .is_some_and(|e| e.is_listener_not_found_exception());
                let mut error =
                    ActionError::aws(format!("describe the rules of listener `{listener}`"), e);
                if not_found {
                    error.name = ErrorName::NotFound;
                }
                error
            })?;
        all.extend(page.rules().iter().cloned());
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            return Ok(all);
        }
    }
}
