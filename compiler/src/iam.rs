//! The catalog's [`catalog::Grant`]s rendered for the steps of one workflow: each function's least-privilege
//! policy, scoped to the resources that its steps name.

use std::collections::{BTreeMap, BTreeSet};

use catalog::names::{self, Derived};
use catalog::{ActionSpec, Grant};
use serde_json::Value as Json;
use workflow::model::{Segment, Step, Value};

/// One policy statement. Resources are `Fn::Sub` strings: `${AWS::Region}`, `${AWS::AccountId}` and
/// `${AWS::Partition}` are filled at deploy time, and `${TaskRoleArns}` and similar name template parameters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Statement {
    pub actions: Vec<&'static str>,
    /// Sorted, once each; `["*"]` for the catalog's unscoped actions.
    pub resources: Vec<String>,
    pub passed_to_service: Option<&'static str>,
    /// `kms:ViaService`, for `<service>.<region>.amazonaws.com` ([`Grant::via_service`]).
    pub via_service: Option<&'static str>,
    /// `kms:GrantIsForAWSResource` ([`Grant::for_aws_resource`]).
    pub for_aws_resource: bool,
    /// `cloudwatch:namespace` ([`Grant::in_namespace`]).
    pub metric_namespace: Option<&'static str>,
}

/// The template parameter that lists the roles an ECS action may pass (`{task_roles}`).
pub const TASK_ROLES_PARAMETER: &str = "TaskRoleArns";

/// The statements of `action`'s function, for every step of the workflow that uses it.
/// A grant whose every ARN names an optional param that no step gives, or that is for steps giving a param that
/// none gives ([`Grant::given`]), is left out: no step makes its calls.
pub fn statements(action: &ActionSpec, steps: &[&Step], state_machine: &str) -> Vec<Statement> {
    let params: Vec<&BTreeMap<String, Value>> = steps.iter().map(|s| &s.params).collect();
    statements_for(action, &params, state_machine)
}

/// The statements of `action`'s function for calls with these params: one map per step, or the params that the
/// compiler gives a function no step names (the guard's `[trigger].topic`).
pub fn statements_for(
    action: &ActionSpec,
    params: &[&BTreeMap<String, Value>],
    state_machine: &str,
) -> Vec<Statement> {
    action
        .grants
        .iter()
        .map(|grant| {
            let making: Vec<_> = params
                .iter()
                .copied()
                .filter(|p| grant.given.is_none_or(|given| p.contains_key(given)))
                .collect();
            let resources = if making.is_empty() && grant.given.is_some() {
                Vec::new()
            } else {
                resources(grant, &making, state_machine)
            };
            Statement {
                actions: grant.actions.to_vec(),
                resources,
                passed_to_service: grant.passed_to_service,
                via_service: grant.via_service,
                for_aws_resource: grant.for_aws_resource,
                metric_namespace: grant.metric_namespace,
            }
        })
        .filter(|statement| !statement.resources.is_empty())
        .collect()
}

fn resources(
    grant: &Grant,
    params: &[&BTreeMap<String, Value>],
    state_machine: &str,
) -> Vec<String> {
    if grant.is_unscoped() {
        return vec!["*".to_owned()];
    }
    let mut out = BTreeSet::new();
    for pattern in grant.resources {
        for params in params {
            out.extend(render(pattern, params, state_machine));
        }
    }
    out.into_iter().collect()
}

/// One pattern for one step: each item of a list param gives its own ARN.
fn render(pattern: &str, params: &BTreeMap<String, Value>, state_machine: &str) -> Vec<String> {
    // (text so far, whether a whole ARN from the step already replaced the pattern)
    let mut partial = vec![(String::new(), false)];
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        // A fallback may hold a slot of its own: `{new_instance|{instance}-rb-*}`.
        let Some(close) = slot_end(&rest[open..]).map(|c| open + c) else {
            break;
        };
        let text = sub_escape(&rest[..open]);
        let slot = &rest[open + 1..close];
        let values = slot_values(slot, params, state_machine, close + 1 == rest.len());
        rest = &rest[close + 1..];
        let text = &text;
        partial = partial
            .iter()
            .flat_map(|(prefix, whole)| {
                values.iter().map(move |value| match value {
                    _ if *whole => (prefix.clone(), true),
                    SlotValue::Arn(arn) => (arn.clone(), true),
                    SlotValue::Text(value) => (format!("{prefix}{text}{value}"), false),
                })
            })
            .collect();
    }
    let tail = sub_escape(rest);
    partial
        .into_iter()
        .map(|(text, whole)| if whole { text } else { text + &tail })
        .collect()
}

enum SlotValue {
    /// A whole ARN from the step, which replaces the pattern.
    Arn(String),
    /// An `Fn::Sub` expression: text from the step, escaped, or a deploy-time variable.
    Text(String),
}

fn slot_values(
    slot: &str,
    params: &BTreeMap<String, Value>,
    state_machine: &str,
    whole_tail: bool,
) -> Vec<SlotValue> {
    match slot {
        "partition" => return vec![SlotValue::Text("${AWS::Partition}".to_owned())],
        "region" => return vec![SlotValue::Text("${AWS::Region}".to_owned())],
        "account" => return vec![SlotValue::Text("${AWS::AccountId}".to_owned())],
        "state_machine" => return vec![SlotValue::Text(state_machine.to_owned())],
        "task_roles" => return vec![SlotValue::Text(format!("${{{TASK_ROLES_PARAMETER}}}"))],
        _ => {}
    }
    let (param, fallback) = match slot.split_once('|') {
        Some((param, fallback)) => (param, Some(fallback)),
        None => (slot, None),
    };
    let (param, when_given) = match param.strip_suffix('?') {
        Some(param) => (param, true),
        None => (param, false),
    };
    let (param, modifier) = match param.split_once('@') {
        Some((param, modifier)) => (param, Some(modifier)),
        None => (param, None),
    };
    let Some(value) = params.get(param) else {
        return match fallback {
            Some(fallback) => render_fallback(fallback, params, state_machine),
            None if when_given => Vec::new(),
            None => vec![SlotValue::Text("*".to_owned())],
        };
    };
    let texts = match value {
        Value::Literal(Json::Array(items)) => items.iter().map(literal_text).collect(),
        Value::List(items) => items.iter().map(value_text).collect(),
        other => vec![value_text(other)],
    };
    texts
        .into_iter()
        .map(|text| match text {
            Some(text) if text.starts_with("arn:") && whole_tail && modifier.is_none() => {
                SlotValue::Arn(sub_escape(&text))
            }
            Some(text) => {
                let name = if text.starts_with("arn:") {
                    text.rsplit('/').next().unwrap_or_default().to_owned()
                } else {
                    text
                };
                SlotValue::Text(sub_escape(&modified(&name, modifier)))
            }
            None => SlotValue::Text(match modifier.and_then(Derived::from_modifier) {
                Some(derived) => derived.pattern("*"),
                None => "*".to_owned(),
            }),
        })
        .collect()
}

/// A name as a slot's modifier ([`catalog::Grant::resources`]) turns it into an ARN's part.
fn modified(name: &str, modifier: Option<&str>) -> String {
    match modifier {
        None => name.to_owned(),
        Some("family") => strip_revision(name),
        Some("rds") => names::rds_id(name),
        Some(other) => match Derived::from_modifier(other) {
            Some(derived) => derived.pattern(name),
            None => name.to_owned(),
        },
    }
}

/// A fallback renders like a pattern tail of its own, its slots from the same step.
fn render_fallback(
    fallback: &str,
    params: &BTreeMap<String, Value>,
    state_machine: &str,
) -> Vec<SlotValue> {
    render(fallback, params, state_machine)
        .into_iter()
        .map(SlotValue::Text)
        .collect()
}

/// The text a value has when the workflow is compiled; a reference known only at run time becomes `*`, and text
/// around it stays, so `webapp-${input.env}` gives `webapp-*`. `None` when nothing of it is known.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Literal(literal) => literal_text(literal),
        Value::Template(segments) => {
            let text: String = segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.as_str(),
                    Segment::Ref(_) => "*",
                })
                .collect();
            Some(text)
        }
        Value::Ref(_) | Value::List(_) | Value::Map(_) => None,
    }
}

fn literal_text(literal: &Json) -> Option<String> {
    match literal {
        Json::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// `web:3` → `web`.
fn strip_revision(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((family, revision)) if revision.chars().all(|c| c.is_ascii_digit()) => {
            family.to_owned()
        }
        _ => name.to_owned(),
    }
}

/// The index of the `}` that closes the slot opening at 0, counting nested slots.
fn slot_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `Fn::Sub` reads `${X}` as a variable; `${!X}` writes a literal `${X}`.
fn sub_escape(text: &str) -> String {
    text.replace("${", "${!")
}
