//! `stepback preflight` without the printing: each step's params as far as they are known before a run, and
//! the `check` operation of the step's deployed function, invoked through the Lambda Invoke API for every step
//! at once. The functions look with their own roles and change nothing (`lambdas::read_only`).

use std::collections::BTreeMap;

use aws_sdk_lambda::primitives::Blob;
use catalog::contract::{self, CheckReport, Execution, Finding, Operation, Request, Verdict};
use catalog::{ActionSpec, ErrorName};
use serde_json::{Map, Value as Json};
use workflow::Workflow;
use workflow::model::{Reference, Step};

use crate::aws::{self, AwsError, Call, Session};

pub mod history;

const LAMBDA_INVOKE: Call = Call::new("Lambda", "lambda:InvokeFunction");
const CFN_RESOURCES: Call = Call::new("CloudFormation", "cloudformation:ListStackResources");
const DESCRIBE_RULE: Call = Call::new("EventBridge", "events:DescribeRule");
const ENABLE_RULE: Call = Call::new("EventBridge", "events:EnableRule");

/// The stack's alarm trigger, `[trigger]`'s EventBridge rule, which the template deploys disabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub rule: String,
    pub armed: bool,
}

/// The stack's trigger and whether it is armed; `None` for a workflow without `[trigger]`.
pub async fn trigger(session: &Session, stack: &str) -> Result<Option<Trigger>, AwsError> {
    let rules = resources(session, stack, "AWS::Events::Rule").await?;
    let Some(rule) = rules.get("Trigger") else {
        return Ok(None);
    };
    let described = aws_sdk_eventbridge::Client::new(&session.config)
        .describe_rule()
        .name(rule)
        .send()
        .await
        .map_err(|e| aws::explain(&e, DESCRIBE_RULE))?;
    Ok(Some(Trigger {
        rule: rule.clone(),
        armed: described.state() == Some(&aws_sdk_eventbridge::types::RuleState::Enabled),
    }))
}

/// Arms the trigger (EnableRule) unless it is armed: whether this armed it. A person's own run, which
/// `stepback preflight` is, arms it whenever every step can run, even after someone disabled it by hand.
pub async fn arm(session: &Session, trigger: &Trigger) -> Result<bool, AwsError> {
    if trigger.armed {
        return Ok(false);
    }
    aws_sdk_eventbridge::Client::new(&session.config)
        .enable_rule()
        .name(&trigger.rule)
        .send()
        .await
        .map_err(|e| aws::explain(&e, ENABLE_RULE))?;
    Ok(true)
}

/// What the preflight found for one step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepCheck {
    /// The step id; `guard` for the check that one rollback runs at a time, which every machine has.
    pub step: String,
    pub action: &'static str,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Checked(Vec<Finding>),
    /// The step's `when` is false with this input: it will not run.
    Skipped,
}

impl StepCheck {
    /// Whether the step can run as far as its check can tell: nothing missing, not ready, denied or failed.
    /// What is not yet knowable does not fail it.
    pub fn passes(&self) -> bool {
        match &self.outcome {
            Outcome::Skipped => true,
            Outcome::Checked(findings) => findings.iter().all(|f| f.verdict.lets_run()),
        }
    }
}

/// One step's check request, before it is sent: the params known before the run, `null` for the others.
struct Planned {
    step: String,
    action: &'static ActionSpec,
    params: Map<String, Json>,
    /// Where each unknown param comes from, for its fix.
    sources: BTreeMap<String, Reference>,
}

/// Checks every step of `workflow` (and its `[on_failure]` steps) that runs with `input` (given and defaulted
/// values; the others are not yet knowable) against the functions of `stack`.
pub async fn preflight(
    session: &Session,
    workflow: &Workflow,
    input: &Map<String, Json>,
    stack: &str,
) -> Result<Vec<StepCheck>, AwsError> {
    let functions = functions(session, stack).await?;
    let machine = crate::stack::state_machine_arn(session, stack).await?;
    let known = |name: &str| input.get(name).cloned();
    let mut skipped = Vec::new();
    let mut planned = Vec::new();
    let guard = catalog::ACTIONS
        .iter()
        .find(|a| !a.user_facing && a.name == "guard");
    for step in workflow.steps.iter().chain(&workflow.on_failure) {
        let off = step
            .when
            .as_ref()
            .is_some_and(|when| compiler::timeline::holds(when, &known) == Some(false));
        if off {
            skipped.push(step.id.clone());
        }
        planned.push(plan(step, input));
    }
    if let Some(guard) = guard {
        planned.push(Planned {
            step: guard.name.to_owned(),
            action: guard,
            params: Map::new(),
            sources: BTreeMap::new(),
        });
    }
    let lambda = aws_sdk_lambda::Client::new(&session.config);
    let mut running = tokio::task::JoinSet::new();
    for (index, step) in planned.iter().enumerate() {
        if skipped.contains(&step.step) {
            continue;
        }
        let function = functions
            .get(&compiler::template::function_id(step.action))
            .cloned();
        let request = Request {
            version: contract::VERSION,
            action: step.action.name.to_owned(),
            operation: Operation::Check,
            execution: Execution {
                id: format!("{machine}:preflight"),
                name: "preflight".to_owned(),
                state_machine: machine.clone(),
                step: step.step.clone(),
            },
            params: step.params.clone(),
            state: None,
            task_token: None,
            poll: None,
        };
        let lambda = lambda.clone();
        let stack = stack.to_owned();
        running.spawn(async move {
            let findings = match function {
                Some(function) => invoke(&lambda, &function, &request).await?,
                None => vec![no_function(&stack, &request.action)],
            };
            Ok::<_, AwsError>((index, findings))
        });
    }
    let mut found: BTreeMap<usize, Vec<Finding>> = BTreeMap::new();
    while let Some(joined) = running.join_next().await {
        let (index, findings) = joined.map_err(|e| AwsError::Other {
            action: LAMBDA_INVOKE.action.to_owned(),
            reason: e.to_string(),
        })??;
        found.insert(index, findings);
    }
    Ok(planned
        .into_iter()
        .enumerate()
        .map(|(index, step)| {
            let outcome = match found.remove(&index) {
                Some(findings) => Outcome::Checked(with_fixes(findings, &step.sources)),
                None => Outcome::Skipped,
            };
            StepCheck {
                step: step.step,
                action: step.action.name,
                outcome,
            }
        })
        .collect())
}

/// The stack's function of each action, by the template's logical id.
async fn functions(session: &Session, stack: &str) -> Result<BTreeMap<String, String>, AwsError> {
    resources(session, stack, "AWS::Lambda::Function").await
}

/// The stack's resources of one type: physical id by logical id, from every page of ListStackResources
/// (DescribeStackResources answers at most 100, and moto answers it 500 once the stack holds a resource type its
/// CloudFormation skipped, `AWS::CloudWatch::Alarm`).
pub(crate) async fn resources(
    session: &Session,
    stack: &str,
    resource_type: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let pages = aws_sdk_cloudformation::Client::new(&session.config)
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut found = BTreeMap::new();
    for summary in pages {
        let summary = summary.map_err(|e| aws::explain(&e, CFN_RESOURCES))?;
        if summary.resource_type() != Some(resource_type) {
            continue;
        }
        if let (Some(logical), Some(physical)) = (
            summary.logical_resource_id().filter(|id| !id.is_empty()),
            summary.physical_resource_id(),
        ) {
            found.insert(logical.to_owned(), physical.to_owned());
        }
    }
    Ok(found)
}

/// The step's params with what is known before the run; a value that holds a reference to anything but a known
/// input is `null`.
fn plan(step: &Step, input: &Map<String, Json>) -> Planned {
    let mut params = Map::new();
    let mut sources = BTreeMap::new();
    for (name, value) in &step.params {
        match compiler::readiness::known_value(value, input) {
            Ok(json) => {
                params.insert(name.clone(), json);
            }
            Err(reference) => {
                params.insert(name.clone(), Json::Null);
                sources.insert(name.clone(), reference);
            }
        }
    }
    Planned {
        step: step.id.clone(),
        action: step.action,
        params,
        sources,
    }
}

/// A step's params known before the run: literals, and what known inputs fill; the others are absent.
pub fn known_params(step: &Step, input: &Map<String, Json>) -> Map<String, Json> {
    step.params
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.clone(),
                compiler::readiness::known_value(value, input).ok()?,
            ))
        })
        .collect()
}

/// The fix of a finding that is not yet knowable, from where its param's value comes.
fn with_fixes(mut findings: Vec<Finding>, sources: &BTreeMap<String, Reference>) -> Vec<Finding> {
    for finding in &mut findings {
        let source = finding.param.as_ref().and_then(|p| sources.get(p));
        if finding.verdict != Verdict::Unknowable {
            continue;
        }
        finding.fix = match source {
            Some(Reference::Input(name)) => {
                format!("pass --input {name}=... to check it now; it is checked when the step runs")
            }
            Some(Reference::StepOutput { step, output }) => format!(
                "it is step `{step}`'s `{output}`, made during the run; checked when the step runs"
            ),
            _ => "known only during the run; checked when the step runs".to_owned(),
        };
    }
    findings
}

async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    request: &Request,
) -> Result<Vec<Finding>, AwsError> {
    let payload = serde_json::to_vec(request).map_err(|e| AwsError::Other {
        action: LAMBDA_INVOKE.action.to_owned(),
        reason: e.to_string(),
    })?;
    let answer = lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| aws::explain(&e, LAMBDA_INVOKE))?;
    let body: Json = answer
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .unwrap_or(Json::Null);
    let resource = format!("function `{function}`");
    if answer.function_error().is_some() {
        let error = body["errorType"].as_str().unwrap_or("an unnamed error");
        let message = body["errorMessage"].as_str().unwrap_or_default();
        // A function built before `check` existed refuses the operation as a payload off the contract.
        let fix = if error == ErrorName::InvalidInput.as_str() {
            "deploy the stack again (`stepback deploy`) so its functions have the check"
        } else {
            "read the function's logs"
        };
        return Ok(vec![failure(resource, format!("{error}: {message}"), fix)]);
    }
    let report = serde_json::from_value::<contract::Response>(body)
        .ok()
        .and_then(|r| serde_json::from_value::<CheckReport>(Json::Object(r.output)).ok());
    Ok(match report {
        Some(report) => report.findings,
        None => vec![failure(
            resource,
            "its answer is not a check report".to_owned(),
            "deploy the stack again (`stepback deploy`) so its functions have the check",
        )],
    })
}

fn no_function(stack: &str, action: &str) -> Finding {
    failure(
        format!("stack `{stack}`"),
        format!("has no function for `{action}`"),
        "deploy this workflow (`stepback deploy`): the stack was made from another",
    )
}

fn failure(resource: String, detail: String, fix: &str) -> Finding {
    Finding {
        resource,
        verdict: Verdict::Error,
        detail,
        fix: fix.to_owned(),
        param: None,
    }
}
