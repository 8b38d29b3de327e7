//! When each step starts and ends in the compiled machine, for `stepback plan`: every step takes its
//! estimate, a series runs its children one after another, and a `Parallel` starts its branches together and
//! ends with the last one.

use serde_json::Value as Json;
use workflow::Workflow;
use workflow::model::{CompareOp, Condition, Operand, Reference};

use crate::schedule::Tree;

/// One step on the timeline; seconds from the start of the execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    pub step: String,
    pub start_secs: u64,
    pub end_secs: u64,
}

/// Every step's start and end, in start order (ties in tree order).
pub fn timeline(tree: Option<&Tree>, workflow: &Workflow, weights: &[u64]) -> Vec<Timed> {
    let mut placed = Vec::new();
    if let Some(tree) = tree {
        place(tree, 0, weights, &mut placed);
    }
    placed.sort_by_key(|&(_, start, _)| start);
    placed
        .into_iter()
        .filter_map(|(i, start_secs, end_secs)| {
            workflow.steps.get(i).map(|s| Timed {
                step: s.id.clone(),
                start_secs,
                end_secs,
            })
        })
        .collect()
}

/// Places `tree` at `start`; returns when it ends.
fn place(tree: &Tree, start: u64, weights: &[u64], out: &mut Vec<(usize, u64, u64)>) -> u64 {
    match tree {
        Tree::Step(i) => {
            let end = start + weights.get(*i).copied().unwrap_or(0);
            out.push((*i, start, end));
            end
        }
        Tree::Series(children) => children
            .iter()
            .fold(start, |at, child| place(child, at, weights, out)),
        Tree::Parallel(children) => children
            .iter()
            .map(|child| place(child, start, weights, out))
            .max()
            .unwrap_or(start),
    }
}

/// Whether a step's `when` holds for the workflow's default input: `None` when it depends on something the
/// defaults do not give (a required input, a step's output).
pub fn holds_by_default(condition: &Condition, workflow: &Workflow) -> Option<bool> {
    holds(condition, &|name| workflow.input(name)?.default.clone())
}

/// Whether a `when` holds with these input values (`input(name)`, `None` when not known): `None` when it
/// depends on something unknown (an input without a value, a step's output).
pub fn holds(condition: &Condition, input: &dyn Fn(&str) -> Option<Json>) -> Option<bool> {
    match condition {
        Condition::Literal(value) => Some(*value),
        Condition::Not(inner) => holds(inner, input).map(|v| !v),
        Condition::And(a, b) => match (holds(a, input), holds(b, input)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Condition::Or(a, b) => match (holds(a, input), holds(b, input)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Condition::IsTrue(reference) => value_of(reference, input)?.as_bool(),
        Condition::Compare {
            op, left, right, ..
        } => {
            let value = |operand: &Operand| match operand {
                Operand::Literal(value) => Some(value.clone()),
                Operand::Path(reference) => value_of(reference, input),
            };
            compare(*op, &value(left)?, &value(right)?)
        }
    }
}

fn value_of(reference: &Reference, input: &dyn Fn(&str) -> Option<Json>) -> Option<Json> {
    match reference {
        Reference::Input(name) => input(name),
        _ => None,
    }
}

/// The comparison as the Choice rule makes it; operands are of one type, the checker saw to it.
fn compare(op: CompareOp, left: &Json, right: &Json) -> Option<bool> {
    let order = match (left, right) {
        (Json::String(a), Json::String(b)) => a.cmp(b),
        (Json::Number(a), Json::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?)?,
        (Json::Bool(a), Json::Bool(b)) => a.cmp(b),
        _ => return None,
    };
    Some(match op {
        CompareOp::Eq => order.is_eq(),
        CompareOp::Ne => order.is_ne(),
        CompareOp::Lt => order.is_lt(),
        CompareOp::Le => order.is_le(),
        CompareOp::Gt => order.is_gt(),
        CompareOp::Ge => order.is_ge(),
    })
}
