//! Lowering the spanned TOML tree into the typed [`Workflow`], collecting every diagnostic on the way.
//!
//! Two passes over the steps: the first reads each step's keys and `after` lists so the DAG can be built;
//! the second lowers params and conditions, whose references need the DAG's ancestors.

use std::collections::{BTreeMap, BTreeSet};

use catalog::{RetrySpec, ValueType};
use toml::de::DeValue;

use crate::codes;
use crate::graph::{self, Ancestors, Dag};
use crate::model::{Input, Readiness, Reference, Resource, Step, Workflow};
use crate::raw::RawStep;
use crate::safety;
use crate::syntax::{Sink, Span, Table};

mod sections;
mod steps;
mod values;

const TOP_LEVEL_KEYS: &[&str] = &[
    "version",
    "name",
    "description",
    "input",
    "resources",
    "trigger",
    "readiness",
    "defaults",
    "steps",
    "on_failure",
];
const COMMON_STEP_KEYS: &[&str] = &[
    "action",
    "after",
    "when",
    "retry",
    "timeout",
    "estimate",
    "description",
    "continue_on_error",
    "allow_unguarded",
];
/// What a `${...}` reference may start with.
const ROOTS: [&str; 6] = [
    "input",
    "resources",
    "steps",
    "execution",
    "failure",
    "alarm",
];
const RETRY_KEYS: &[&str] = &["attempts", "interval", "backoff", "max_delay", "jitter"];
const MAX_ATTEMPTS: f64 = 10.0;
const MAX_BACKOFF: f64 = 10.0;
/// A Step Functions standard execution lasts at most a year.
const MAX_DURATION_SECS: u64 = 365 * 24 * 3600;
const MAX_STEP_ID_LEN: usize = 40;
const MAX_NAME_LEN: usize = 64;

pub fn lower(source: &str, sink: &mut Sink) -> Option<Workflow> {
    let (document, errors) = toml::de::DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            sink.push(codes::syntax(span, error.message()));
        }
        return None;
    }
    let root = Table {
        table: document.get_ref(),
        span: document.span(),
    };
    root.deny_unknown(TOP_LEVEL_KEYS, "the workflow", sink);
    let mut cx = Lowerer {
        source,
        sink,
        used_inputs: BTreeSet::new(),
    };
    cx.version(&root);
    let name = cx.name(&root);
    let description = root
        .string("description", "the workflow", cx.sink)
        .map(|(s, _)| s.to_owned());
    let (inputs, broken_inputs) = root.get("input").map(|n| cx.inputs(n)).unwrap_or_default();
    let (resources, broken_resources) = root
        .get("resources")
        .map(|n| cx.resources(n))
        .unwrap_or_default();
    let defaults = root
        .get("defaults")
        .map(|n| cx.defaults(n))
        .unwrap_or_default();

    let steps_node = root.get("steps");
    let raw_steps = steps_node
        .map(|n| cx.raw_steps(n, Section::Steps, &defaults))
        .unwrap_or_default();
    let no_steps = match steps_node.map(|n| n.get_ref()) {
        None => true,
        Some(DeValue::Table(table)) => table.is_empty(),
        Some(_) => false,
    };
    if no_steps {
        let span = root.key_span("steps").unwrap_or(0..0);
        cx.sink.push(codes::no_steps(span));
    }
    let raw_failure_steps = root
        .get("on_failure")
        .map(|n| cx.raw_steps(n, Section::OnFailure, &defaults))
        .unwrap_or_default();
    for failure_step in &raw_failure_steps {
        if let Some(step) = raw_steps.iter().find(|s| s.id == failure_step.id) {
            cx.sink.push(codes::duplicate_step(
                failure_step.id_span.clone(),
                &failure_step.id,
                step.id_span.clone(),
            ));
        }
    }

    let dag = graph::build(&raw_steps, cx.sink);
    let filled_undeclared = trigger_fills(&root)
        .into_iter()
        .filter(|name| !inputs.iter().any(|i| i.name == *name) && !broken_inputs.contains(name))
        .collect();
    let scope = Scope {
        inputs: &inputs,
        broken_inputs: &broken_inputs,
        filled_undeclared: &filled_undeclared,
        broken_resources: &broken_resources,
        resources: &resources,
        steps: &raw_steps,
        ancestors: dag.as_ref().map(Dag::ancestors),
    };

    let mut reads = Vec::new();
    let steps: Vec<Option<Step>> = raw_steps
        .iter()
        .enumerate()
        .map(|(index, raw)| cx.step(raw, &scope, Context::Step(index), &mut reads))
        .collect();
    let on_failure: Vec<Option<Step>> = raw_failure_steps
        .iter()
        .map(|raw| cx.step(raw, &scope, Context::OnFailure, &mut reads))
        .collect();
    let trigger = root
        .get("trigger")
        .and_then(|n| cx.trigger(n, root.key_span("trigger"), &scope));
    let readiness = match root.get("readiness") {
        Some(node) => cx.readiness(node, &scope, trigger.as_ref()),
        None => Ok(Some(Readiness::new(trigger.as_ref()))),
    };

    // While there are errors, an input may look unused only because its reader failed to lower.
    let unused = inputs
        .iter()
        .filter(|i| !cx.used_inputs.contains(&i.name) && !cx.sink.has_errors());
    for input in unused.collect::<Vec<_>>() {
        cx.sink.push(codes::unused_input(
            input_span(&root, &input.name),
            &input.name,
        ));
    }

    let (Some(name), Some(dag)) = (name, dag) else {
        return None;
    };
    if cx.sink.has_errors() {
        return None;
    }
    let steps: Vec<Step> = steps.into_iter().collect::<Option<_>>()?;
    let on_failure: Vec<Step> = on_failure.into_iter().collect::<Option<_>>()?;
    safety::check(&steps, &raw_steps, &dag, &reads, cx.sink);
    safety::check_failure_path(&on_failure, &raw_failure_steps, cx.sink);
    if cx.sink.has_errors() {
        return None;
    }
    Some(Workflow {
        name,
        description,
        inputs,
        resources,
        trigger,
        readiness: readiness.ok()?,
        steps,
        on_failure,
        dag,
        reads,
    })
}

/// The names `[trigger].input` fills, whatever their values.
fn trigger_fills(root: &Table<'_, '_>) -> Vec<String> {
    let fills = root
        .get("trigger")
        .and_then(|trigger| match trigger.get_ref() {
            DeValue::Table(t) => t.get("input"),
            _ => None,
        });
    match fills.map(|f| f.get_ref()) {
        Some(DeValue::Table(t)) => t.iter().map(|(k, _)| k.get_ref().to_string()).collect(),
        _ => Vec::new(),
    }
}

fn input_span(root: &Table<'_, '_>, name: &str) -> Span {
    root.get("input")
        .and_then(|n| match n.get_ref() {
            DeValue::Table(t) => t.get_key_value(name).map(|(k, _)| k.span()),
            _ => None,
        })
        .unwrap_or(0..0)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Steps,
    OnFailure,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Section::Steps => "steps",
            Section::OnFailure => "on_failure",
        }
    }
}

/// Where a value is lowered, which decides the references it may use.
#[derive(Clone, Copy)]
enum Context {
    Step(usize),
    OnFailure,
    Trigger,
}

#[derive(Default)]
struct Defaults {
    retry: RetryPatch,
    timeout_secs: Option<u64>,
}

#[derive(Clone, Copy, Default)]
struct RetryPatch {
    attempts: Option<u32>,
    interval_secs: Option<u64>,
    backoff: Option<f64>,
    max_delay_secs: Option<u64>,
    jitter: Option<bool>,
}

impl RetryPatch {
    fn over(self, base: RetrySpec) -> RetrySpec {
        RetrySpec {
            attempts: self.attempts.unwrap_or(base.attempts),
            interval_secs: self.interval_secs.unwrap_or(base.interval_secs),
            backoff: self.backoff.unwrap_or(base.backoff),
            max_delay_secs: self.max_delay_secs.unwrap_or(base.max_delay_secs),
            jitter: self.jitter.unwrap_or(base.jitter),
        }
    }

    fn then(self, fallback: RetryPatch) -> RetryPatch {
        RetryPatch {
            attempts: self.attempts.or(fallback.attempts),
            interval_secs: self.interval_secs.or(fallback.interval_secs),
            backoff: self.backoff.or(fallback.backoff),
            max_delay_secs: self.max_delay_secs.or(fallback.max_delay_secs),
            jitter: self.jitter.or(fallback.jitter),
        }
    }
}

struct Scope<'s, 'a, 'i> {
    inputs: &'s [Input],
    /// Inputs whose declaration has an error (reported there): declared, of no known type. Nothing that reads
    /// or fills them is reported again.
    broken_inputs: &'s BTreeSet<String>,
    /// Undeclared inputs that `[trigger].input` fills: one defect, reported there (E027) with the declaration
    /// to add, and not again at each reference.
    filled_undeclared: &'s BTreeSet<String>,
    resources: &'s BTreeMap<String, Resource>,
    /// Resources whose entry has an error (reported there): their uses are not reported again.
    broken_resources: &'s BTreeSet<String>,
    steps: &'s [RawStep<'a, 'i>],
    ancestors: Option<&'s Ancestors>,
}

/// A resolved `${...}`: a reference the state machine reads, or a resource's text or list.
enum Resolved {
    Reference(Reference, ValueType),
    Text(String),
    List(Vec<String>),
}

struct Lowerer<'s> {
    source: &'s str,
    sink: &'s mut Sink,
    used_inputs: BTreeSet<String>,
}
