//! Lowering the spanned TOML tree into the typed [`Workflow`], collecting every diagnostic on the way.
//!
//! Two passes over the steps: the first reads each step's keys and `after` lists so the DAG can be built;
//! the second lowers params and conditions, whose references need the DAG's ancestors.

use std::collections::{BTreeMap, BTreeSet};

use catalog::{ActionSpec, Constraint, RetrySpec, Runtime, ValueType, metric};
use toml::de::DeValue;

use crate::condition;
use crate::graph::{self, Ancestors, Dag};
use crate::model::{
    AlarmField, Condition, DEFAULT_COOLDOWN_SECS, ExecutionField, FailureField, Input, Reference,
    Resource, Segment, Step, StepRead, Trigger, Value, Workflow,
};
use crate::raw::RawStep;
use crate::safety;
use crate::syntax::{
    Node, Sink, Span, StrSpans, Table, did_you_mean, duration_secs, is_identifier, json_number,
    kind, number,
};
use crate::template::{self, RawSegment};
use crate::{Diagnostic, codes};

const TOP_LEVEL_KEYS: &[&str] = &[
    "version",
    "name",
    "description",
    "input",
    "resources",
    "trigger",
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

impl<'s> Lowerer<'s> {
    fn version(&mut self, root: &Table<'_, '_>) {
        let Some(node) = root.get("version") else {
            self.sink.push(codes::missing_version());
            return;
        };
        match node.get_ref() {
            DeValue::Integer(i) if i.as_str() == "1" && i.radix() == 10 => {}
            DeValue::Integer(_) => self.sink.push(codes::unsupported_version(node.span())),
            other => self
                .sink
                .push(codes::version_type(node.span(), kind(other))),
        }
    }

    fn name(&mut self, root: &Table<'_, '_>) -> Option<String> {
        let Some((name, span)) = root.string("name", "the workflow", self.sink) else {
            if root.get("name").is_none() {
                self.sink.push(codes::missing_name());
            }
            return None;
        };
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            self.sink
                .push(codes::invalid_name(span, name, MAX_NAME_LEN));
            return None;
        }
        Some(name.to_owned())
    }

    fn identifier(&mut self, name: &str, span: Span, what: &str, max_len: usize) -> bool {
        if is_identifier(name) && name.len() <= max_len {
            return true;
        }
        self.sink
            .push(codes::invalid_identifier(span, what, name, max_len));
        false
    }

    /// The inputs, and the names of those whose declaration has an error.
    fn inputs(&mut self, node: &Node<'_>) -> (Vec<Input>, BTreeSet<String>) {
        let Some(table) = Table::of(node, "[input]", self.sink) else {
            return (Vec::new(), BTreeSet::new());
        };
        let mut inputs = Vec::new();
        let mut broken = BTreeSet::new();
        for (name, name_span, decl) in table.entries() {
            let context = format!("input `{name}`");
            let Some(decl) = Table::of(decl, &context, self.sink) else {
                continue;
            };
            decl.deny_unknown(
                &["type", "default", "description", "max_length"],
                &context,
                self.sink,
            );
            let ok = self.identifier(name, name_span.clone(), "input name", MAX_NAME_LEN);
            let ty = match decl.string("type", &context, self.sink) {
                Some((ty, span)) => match ty {
                    "string" => Some(ValueType::String),
                    "bool" => Some(ValueType::Bool),
                    "number" => Some(ValueType::Number),
                    "list" => Some(ValueType::StringList),
                    other => {
                        let suggestion = did_you_mean(other, ["string", "bool", "number", "list"]);
                        self.sink
                            .push(codes::unknown_input_type(span, other, suggestion));
                        None
                    }
                },
                None => {
                    if decl.get("type").is_none() {
                        self.sink
                            .push(codes::input_without_type(name_span.clone(), name));
                    }
                    None
                }
            };
            let default = match (ty, decl.get("default")) {
                (Some(ty), Some(node)) => self.input_default(node, ty, name),
                _ => None,
            };
            let description = decl
                .string("description", &context, self.sink)
                .map(|(s, _)| s.to_owned());
            let max_length = ty.and_then(|ty| self.max_length(&decl, ty, &context));
            if let (Some(ty), Some(default), Some(node)) = (ty, &default, decl.get("default")) {
                let length = catalog::input_length(default);
                let bound = max_length.or(crate::model::default_max_length(ty));
                if let Some(bound) = bound.filter(|&bound| length > bound) {
                    self.sink
                        .push(codes::default_too_long(node.span(), name, length, bound));
                }
            }
            match (ok, ty) {
                (true, Some(ty)) => inputs.push(Input {
                    name: name.to_owned(),
                    ty,
                    default,
                    description,
                    max_length,
                }),
                _ => {
                    broken.insert(name.to_owned());
                }
            }
        }
        (inputs, broken)
    }

    /// An input's declared `max_length`: only strings and lists have one (a number or a bool has a fixed size).
    fn max_length(&mut self, decl: &Table<'_, '_>, ty: ValueType, context: &str) -> Option<usize> {
        let (n, span) = decl.number("max_length", context, self.sink)?;
        if crate::model::default_max_length(ty).is_none() {
            let allowed = ["type", "default", "description"];
            self.sink.push(codes::unknown_key(
                decl.key_span("max_length").unwrap_or(span),
                "max_length",
                &format!("{context} (a {}, whose length is fixed)", ty.name()),
                None,
                &allowed,
            ));
            return None;
        }
        let n = self.in_range(
            n,
            1.0,
            catalog::MAX_INPUT_LENGTH as f64,
            span,
            "max_length",
            "the most bytes the input's value may take as JSON (a string's without its quotes)",
        )?;
        Some(n as usize)
    }

    fn input_default(
        &mut self,
        node: &Node<'_>,
        ty: ValueType,
        name: &str,
    ) -> Option<serde_json::Value> {
        let value = node.get_ref();
        let default = match (ty, value) {
            (ValueType::String, DeValue::String(s)) => Some(serde_json::Value::from(s.as_ref())),
            (ValueType::Bool, DeValue::Boolean(b)) => Some(serde_json::Value::from(*b)),
            (ValueType::Number, _) => json_number(value),
            (ValueType::StringList, DeValue::Array(items)) => items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::String(s) => Some(serde_json::Value::from(s.as_ref())),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(serde_json::Value::Array),
            _ => None,
        };
        if default.is_none() {
            let found = match value {
                DeValue::Array(_) => "an array with items that are not strings",
                other => kind(other),
            };
            self.sink
                .push(codes::default_type(node.span(), name, found, ty));
        }
        default
    }

    /// `[resources]`: each a string or a list of strings. A name whose entry has an error (reported here) is
    /// in the second set, so that its uses are not reported again.
    fn resources(&mut self, node: &Node<'_>) -> (BTreeMap<String, Resource>, BTreeSet<String>) {
        let mut resources = BTreeMap::new();
        let mut broken = BTreeSet::new();
        let Some(table) = Table::of(node, "[resources]", self.sink) else {
            return (resources, broken);
        };
        for (name, span, value) in table.entries() {
            let resource = match value.get_ref() {
                DeValue::String(text) => Some(Resource::Text(text.to_string())),
                DeValue::Array(_) => table.strings(name, "[resources]", self.sink).map(|items| {
                    Resource::List(items.into_iter().map(|(s, _)| s.to_owned()).collect())
                }),
                other => {
                    self.sink.push(codes::wrong_type(
                        value.span(),
                        &format!("resource `{name}`"),
                        "a string or a list of strings",
                        kind(other),
                    ));
                    None
                }
            };
            match (
                self.identifier(name, span, "resource name", MAX_NAME_LEN),
                resource,
            ) {
                (true, Some(resource)) => {
                    resources.insert(name.to_owned(), resource);
                }
                _ => {
                    broken.insert(name.to_owned());
                }
            }
        }
        (resources, broken)
    }

    fn defaults(&mut self, node: &Node<'_>) -> Defaults {
        let Some(table) = Table::of(node, "[defaults]", self.sink) else {
            return Defaults::default();
        };
        table.deny_unknown(&["timeout", "retry"], "[defaults]", self.sink);
        Defaults {
            retry: table
                .get("retry")
                .map(|n| self.retry(n))
                .unwrap_or_default(),
            timeout_secs: self.duration(&table, "timeout", "[defaults]", 1),
        }
    }

    /// A duration key, at least `min` seconds and at most a year.
    fn duration(
        &mut self,
        table: &Table<'_, '_>,
        key: &str,
        context: &str,
        min: u64,
    ) -> Option<u64> {
        let (text, span) = table.string(key, context, self.sink)?;
        self.duration_literal(text, span, key, min)
    }

    fn duration_literal(&mut self, text: &str, span: Span, key: &str, min: u64) -> Option<u64> {
        match duration_secs(text) {
            Ok(secs) if (min..=MAX_DURATION_SECS).contains(&secs) => Some(secs),
            Ok(secs) => {
                self.sink
                    .push(codes::duration_out_of_range(span, key, secs, min));
                None
            }
            Err(reason) => {
                self.sink.push(codes::invalid_duration(span, text, &reason));
                None
            }
        }
    }

    fn retry(&mut self, node: &Node<'_>) -> RetryPatch {
        let Some(table) = Table::of(node, "`retry`", self.sink) else {
            return RetryPatch::default();
        };
        table.deny_unknown(RETRY_KEYS, "`retry`", self.sink);
        let attempts = table
            .number("attempts", "`retry`", self.sink)
            .and_then(|(n, span)| {
                self.in_range(
                    n,
                    0.0,
                    MAX_ATTEMPTS,
                    span,
                    "attempts",
                    "retries after the first attempt",
                )
                .map(|n| n as u32)
            });
        let backoff = table
            .number("backoff", "`retry`", self.sink)
            .and_then(|(n, span)| {
                self.in_range(
                    n,
                    1.0,
                    MAX_BACKOFF,
                    span,
                    "backoff",
                    "the factor between delays",
                )
            });
        RetryPatch {
            attempts,
            interval_secs: self.duration(&table, "interval", "`retry`", 1),
            backoff,
            max_delay_secs: self.duration(&table, "max_delay", "`retry`", 1),
            jitter: table.bool("jitter", "`retry`", self.sink).map(|(b, _)| b),
        }
    }

    fn in_range(
        &mut self,
        n: f64,
        min: f64,
        max: f64,
        span: Span,
        key: &str,
        meaning: &str,
    ) -> Option<f64> {
        let integral = key != "backoff";
        if (min..=max).contains(&n) && (!integral || n.fract() == 0.0) {
            return Some(n);
        }
        self.sink.push(codes::number_out_of_range(
            span,
            key,
            n,
            (min, max),
            integral,
            meaning,
        ));
        None
    }

    fn raw_steps<'a, 'i>(
        &mut self,
        node: &'a Node<'i>,
        section: Section,
        defaults: &Defaults,
    ) -> Vec<RawStep<'a, 'i>> {
        let Some(table) = Table::of(node, &format!("[{}]", section.name()), self.sink) else {
            return Vec::new();
        };
        table
            .entries()
            .filter_map(|(id, id_span, node)| self.raw_step(id, id_span, node, section, defaults))
            .collect()
    }

    fn raw_step<'a, 'i>(
        &mut self,
        id: &str,
        id_span: Span,
        node: &'a Node<'i>,
        section: Section,
        defaults: &Defaults,
    ) -> Option<RawStep<'a, 'i>> {
        let context = format!("step `{id}`");
        let table = Table::of(node, &context, self.sink)?;
        let id_ok = self.identifier(id, id_span.clone(), "step id", MAX_STEP_ID_LEN);
        let action = self.action(&table, id, &id_span);
        let action_span = table.get("action").map_or(id_span.clone(), |n| n.span());

        let mut params = Vec::new();
        // The params that misspelt keys stand for: the misspelling is the error, not their absence.
        let mut meant = Vec::new();
        for (key, key_span, value) in table.entries() {
            if COMMON_STEP_KEYS.contains(&key) {
                continue;
            }
            let Some(action) = action else { continue };
            if action.param(key).is_some() {
                params.push((key, key_span, value));
            } else {
                let known = action
                    .params
                    .iter()
                    .map(|p| p.name)
                    .chain(COMMON_STEP_KEYS.iter().copied());
                let closest = catalog::closest(key, known);
                meant.extend(closest);
                let suggestion = closest.map(|c| format!("did you mean `{c}`?"));
                self.sink
                    .push(codes::unknown_param(key_span, action, key, suggestion));
            }
        }
        if let Some(action) = action {
            self.check_param_presence(action, &table, &params, &meant, &id_span);
        }

        let after = match (section, table.get("after")) {
            (Section::OnFailure, Some(_)) => {
                let span = table.key_span("after").unwrap_or(id_span.clone());
                self.sink.push(codes::after_in_on_failure(span));
                Vec::new()
            }
            _ => table
                .strings("after", &context, self.sink)
                .unwrap_or_default()
                .into_iter()
                .map(|(s, span)| (s.to_owned(), span))
                .collect(),
        };
        let retry = table
            .get("retry")
            .map(|n| self.retry(n))
            .unwrap_or_default();
        let action_defaults = action.map_or((catalog::ACTIONS[0].default_retry, 0), |a| {
            (a.default_retry, a.default_timeout_secs)
        });
        let own_timeout = self.duration(&table, "timeout", &context, 1);
        let (timeout_secs, timeout_origin) = match (own_timeout, defaults.timeout_secs) {
            (Some(t), _) => (t, "the step's own"),
            (None, Some(t)) => (t, "from [defaults]"),
            (None, None) => (action_defaults.1, "the action's default"),
        };
        let allow_unguarded = table
            .bool("allow_unguarded", &context, self.sink)
            .is_some_and(|(b, _)| b);
        if let (Some(span), Some(action)) = (table.key_span("allow_unguarded"), action)
            && action.guards.is_empty()
        {
            self.sink
                .push(codes::allow_unguarded_without_meaning(span, action.name));
        }
        let step = RawStep {
            id: id.to_owned(),
            id_span: id_span.clone(),
            action,
            action_span,
            after,
            after_span: table.get("after").map(|n| n.span()),
            when: table.string("when", &context, self.sink),
            params,
            retry: retry.then(defaults.retry).over(action_defaults.0),
            timeout_secs,
            timeout_origin,
            timeout_span: table.get("timeout").map_or(id_span, |n| n.span()),
            estimate_secs: self.duration(&table, "estimate", &context, 0),
            description: table
                .string("description", &context, self.sink)
                .map(|(s, _)| s.to_owned()),
            continue_on_error: table
                .bool("continue_on_error", &context, self.sink)
                .and_then(|(b, span)| b.then_some(span)),
            allow_unguarded,
        };
        // A step whose action has an error still exists for the rest of the check, with no outputs known:
        // `after` and reads of it are not reported again.
        id_ok.then_some(step)
    }

    fn action(
        &mut self,
        table: &Table<'_, '_>,
        id: &str,
        id_span: &Span,
    ) -> Option<&'static ActionSpec> {
        let Some((name, span)) = table.string("action", &format!("step `{id}`"), self.sink) else {
            if table.get("action").is_none() {
                self.sink
                    .push(codes::step_without_action(id_span.clone(), id));
            }
            return None;
        };
        match catalog::action(name).filter(|a| a.user_facing) {
            Some(action) => Some(action),
            None => {
                let suggestion = did_you_mean(name, catalog::user_actions().map(|a| a.name));
                self.sink
                    .push(codes::unknown_action(span, name, suggestion));
                None
            }
        }
    }

    fn check_param_presence(
        &mut self,
        action: &ActionSpec,
        table: &Table<'_, '_>,
        given: &[(&str, Span, &Node<'_>)],
        meant: &[&str],
        id_span: &Span,
    ) {
        for param in action.params.iter().filter(|p| p.required) {
            if table.get(param.name).is_none() && !meant.contains(&param.name) {
                self.sink
                    .push(codes::missing_param(id_span.clone(), action, param));
            }
        }
        for group in action.exactly_one_of {
            let present: Vec<_> = given
                .iter()
                .filter(|(key, _, _)| group.contains(key))
                .collect();
            if present.len() == 1 || meant.iter().any(|m| group.contains(m)) {
                continue;
            }
            let span = present
                .get(1)
                .map_or(id_span.clone(), |(_, span, _)| span.clone());
            self.sink.push(codes::exclusive_params(
                span,
                action.name,
                group,
                present.len(),
            ));
        }
    }

    fn step(
        &mut self,
        raw: &RawStep<'_, '_>,
        scope: &Scope<'_, '_, '_>,
        context: Context,
        refs: &mut Vec<StepRead>,
    ) -> Option<Step> {
        let action = raw.action?;
        let mut ok = true;
        let mut params = BTreeMap::new();
        for (key, _, node) in &raw.params {
            let Some(spec) = action.param(key) else {
                continue;
            };
            match self.value(node, spec.ty, key, scope, context, refs) {
                Some(value) => {
                    params.insert((*key).to_owned(), value);
                }
                None => ok = false,
            }
        }
        if ok {
            self.check_holds(raw, &params);
        }
        let when = match raw.when.clone() {
            Some((text, span)) => {
                let condition = self.condition(text, span, scope, context, refs);
                ok &= condition.is_some();
                condition
            }
            None => None,
        };
        // A wait takes its duration; everything else its own estimate, else the action's.
        let estimate_secs =
            raw.estimate_secs
                .unwrap_or_else(|| match (action.runtime, params.get("duration")) {
                    (Runtime::Native, Some(Value::Literal(secs))) => {
                        secs.as_u64().unwrap_or_default()
                    }
                    _ => action.default_estimate_secs,
                });
        if matches!(action.runtime, Runtime::Poll | Runtime::TaskToken)
            && raw.timeout_secs < estimate_secs
        {
            self.sink.push(codes::timeout_below_estimate(
                raw.timeout_span.clone(),
                &raw.id,
                raw.timeout_secs,
                raw.timeout_origin,
                estimate_secs,
            ));
        }
        ok.then(|| Step {
            id: raw.id.clone(),
            id_span: raw.id_span.clone(),
            action,
            action_span: raw.action_span.clone(),
            description: raw.description.clone(),
            params,
            after: raw.after.iter().map(|(id, _)| id.clone()).collect(),
            when,
            retry: raw.retry,
            timeout_secs: raw.timeout_secs,
            estimate_secs,
            continue_on_error: raw.continue_on_error.is_some(),
        })
    }

    /// A duration that must hold a number of periods ([`Constraint::Holds`]), when all three are literals.
    fn check_holds(&mut self, raw: &RawStep<'_, '_>, params: &BTreeMap<String, Value>) {
        let Some(action) = raw.action else { return };
        let whole = |name: &str, default: u64| match params.get(name) {
            None => Some(default),
            Some(value) => literal(value).and_then(serde_json::Value::as_u64),
        };
        for (key, _, node) in &raw.params {
            let Some(Constraint::Holds { period, count }) = action.param(key).map(|p| p.constraint)
            else {
                continue;
            };
            let (Some(secs), Some(period_secs), Some(n)) = (
                whole(key, 0),
                whole(period.0, period.1),
                whole(count.0, count.1),
            ) else {
                continue;
            };
            if secs < period_secs.saturating_mul(n) {
                self.sink.push(codes::window_too_short(
                    node.span(),
                    key,
                    secs,
                    (period.0, period_secs),
                    (count.0, n),
                ));
            }
        }
    }

    fn condition(
        &mut self,
        text: &str,
        span: Span,
        scope: &Scope<'_, '_, '_>,
        context: Context,
        refs: &mut Vec<StepRead>,
    ) -> Option<Condition> {
        let spans = StrSpans::new(self.source, span, text);
        let mut resolve = |path: &[String], range: std::ops::Range<usize>| {
            let span = spans.at(range);
            if !matches!(path.first().map(String::as_str), Some("input" | "steps")) {
                let root = path.first().map_or("", String::as_str);
                self.sink.push(codes::condition_scope(span, root));
                return None;
            }
            match self.resolve(path, span, scope, context, refs)? {
                Resolved::Reference(reference, ty) => Some((reference, ty)),
                Resolved::Text(_) | Resolved::List(_) => None,
            }
        };
        match condition::parse(text, &mut resolve) {
            Ok(condition) => condition,
            Err(error) => {
                self.sink.push(codes::condition(
                    spans.at(error.range),
                    error.message,
                    error.is_type_error,
                    error.help,
                ));
                None
            }
        }
    }

    /// Lowers a param or trigger value of the wanted type.
    fn value(
        &mut self,
        node: &Node<'_>,
        want: ValueType,
        key: &str,
        scope: &Scope<'_, '_, '_>,
        context: Context,
        refs: &mut Vec<StepRead>,
    ) -> Option<Value> {
        let span = node.span();
        let mismatch = |found: &str| codes::param_type(span.clone(), key, want, found);
        match node.get_ref() {
            DeValue::String(text) if want == ValueType::Duration => {
                if text.contains("${") {
                    self.sink.push(codes::duration_reference(span, key));
                    return None;
                }
                let secs = self.duration_literal(text, span.clone(), key, 0)?;
                let constraint = scope_param(key, context, scope).map(|p| p.constraint);
                if constraint == Some(Constraint::Period) && !metric::is_period(secs) {
                    self.sink.push(codes::not_a_period(span, key, secs));
                    return None;
                }
                Some(Value::Literal(secs.into()))
            }
            DeValue::String(text) => {
                let (value, ty) = self.string(text, span.clone(), key, scope, context, refs)?;
                let allowed = scope_param(key, context, scope).map_or(&[][..], |p| p.allowed);
                if let Value::Literal(serde_json::Value::String(literal)) = &value
                    && !allowed.is_empty()
                    && !allowed.contains(&literal.as_str())
                {
                    let suggestion = allowed
                        .iter()
                        .find(|a| a.eq_ignore_ascii_case(literal))
                        .map(|a| format!("did you mean `{a}`?"))
                        .or_else(|| did_you_mean(literal, allowed.iter().copied()));
                    self.sink
                        .push(codes::not_allowed(span, key, literal, allowed, suggestion));
                    return None;
                }
                let constraint = scope_param(key, context, scope).map(|p| p.constraint);
                if constraint == Some(Constraint::Name)
                    && let Some(empty) = empty_name(&value, scope.inputs)
                {
                    self.sink.push(codes::empty_name(span, key, empty));
                    return None;
                }
                if let Value::Literal(serde_json::Value::String(literal)) = &value
                    && constraint == Some(Constraint::Statistic)
                    && !metric::is_statistic(literal)
                {
                    let suggestion = metric::STATISTICS
                        .iter()
                        .find(|s| s.eq_ignore_ascii_case(literal))
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| did_you_mean(literal, metric::STATISTICS));
                    self.sink
                        .push(codes::not_a_statistic(span, key, literal, suggestion));
                    return None;
                }
                if ty.fits(want) {
                    Some(value)
                } else {
                    self.sink.push(mismatch(ty.phrase()));
                    None
                }
            }
            DeValue::Integer(_) | DeValue::Float(_) if want == ValueType::Number => {
                let range = scope_param(key, context, scope).and_then(|p| p.range);
                match (json_number(node.get_ref()), number(node.get_ref())) {
                    (Some(value), Some(n))
                        if range.is_none_or(|(min, max)| (min..=max).contains(&n)) =>
                    {
                        Some(Value::Literal(value))
                    }
                    _ => {
                        self.sink.push(codes::param_out_of_range(span, key, range));
                        None
                    }
                }
            }
            DeValue::Boolean(b) if want == ValueType::Bool => Some(Value::Literal((*b).into())),
            DeValue::Array(items) if matches!(want, ValueType::StringList | ValueType::Targets) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.value(item, ValueType::String, key, scope, context, refs));
                }
                let values: Vec<Value> = values.into_iter().collect::<Option<_>>()?;
                Some(collapse_list(values))
            }
            DeValue::Table(table) if want == ValueType::StringMap => {
                let mut values = BTreeMap::new();
                let mut ok = true;
                for (k, v) in table.iter() {
                    match self.value(v, ValueType::String, key, scope, context, refs) {
                        Some(value) => {
                            values.insert(k.get_ref().to_string(), value);
                        }
                        None => ok = false,
                    }
                }
                ok.then(|| collapse_map(values))
            }
            other => {
                self.sink.push(mismatch(kind(other)));
                None
            }
        }
    }

    /// Lowers a string with references; returns the value and its type.
    fn string(
        &mut self,
        text: &str,
        span: Span,
        key: &str,
        scope: &Scope<'_, '_, '_>,
        context: Context,
        refs: &mut Vec<StepRead>,
    ) -> Option<(Value, ValueType)> {
        let spans = StrSpans::new(self.source, span, text);
        let segments = match template::parse(text) {
            Ok(segments) => segments,
            Err((range, message)) => {
                self.sink
                    .push(codes::reference_syntax(spans.at(range), &message));
                return None;
            }
        };
        if let [RawSegment::Ref(path, range)] = segments.as_slice() {
            return match self.resolve(path, spans.at(range.clone()), scope, context, refs)? {
                Resolved::Reference(reference, ty) => Some((Value::Ref(reference), ty)),
                Resolved::Text(text) => Some((Value::Literal(text.into()), ValueType::String)),
                Resolved::List(items) => {
                    Some((Value::Literal(items.into()), ValueType::StringList))
                }
            };
        }
        let mut lowered: Vec<Segment> = Vec::new();
        let mut ok = true;
        for segment in segments {
            let piece = match segment {
                RawSegment::Text(text) => Segment::Text(text),
                RawSegment::Ref(path, range) => {
                    match self.resolve(&path, spans.at(range.clone()), scope, context, refs) {
                        Some(Resolved::Text(text)) => Segment::Text(text),
                        Some(Resolved::List(_)) => {
                            self.sink.push(codes::not_interpolable(
                                spans.at(range),
                                &path.join("."),
                                ValueType::StringList,
                                key,
                            ));
                            ok = false;
                            continue;
                        }
                        Some(Resolved::Reference(
                            reference,
                            ValueType::String | ValueType::Number | ValueType::Bool,
                        )) => Segment::Ref(reference),
                        Some(Resolved::Reference(reference, ty)) => {
                            self.sink.push(codes::not_interpolable(
                                spans.at(range),
                                &reference.to_string(),
                                ty,
                                key,
                            ));
                            ok = false;
                            continue;
                        }
                        None => {
                            ok = false;
                            continue;
                        }
                    }
                }
            };
            match (lowered.last_mut(), piece) {
                (Some(Segment::Text(previous)), Segment::Text(text)) => previous.push_str(&text),
                (_, piece) => lowered.push(piece),
            }
        }
        if !ok {
            return None;
        }
        let value = match lowered.as_slice() {
            [] => Value::Literal(String::new().into()),
            [Segment::Text(text)] => Value::Literal(text.clone().into()),
            _ => Value::Template(lowered),
        };
        Some((value, ValueType::String))
    }

    fn resolve(
        &mut self,
        path: &[String],
        span: Span,
        scope: &Scope<'_, '_, '_>,
        context: Context,
        refs: &mut Vec<StepRead>,
    ) -> Option<Resolved> {
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let resolved = match parts.as_slice() {
            ["input", name] => match scope.inputs.iter().find(|i| i.name == *name) {
                Some(input) => {
                    self.used_inputs.insert(input.name.clone());
                    Ok(Resolved::Reference(
                        Reference::Input(input.name.clone()),
                        input.ty,
                    ))
                }
                None if scope.broken_inputs.contains(*name)
                    || scope.filled_undeclared.contains(*name) =>
                {
                    return None;
                }
                None => Err(codes::unknown_input(
                    span.clone(),
                    name,
                    did_you_mean(name, scope.inputs.iter().map(|i| i.name.as_str())),
                )),
            },
            ["resources", name] => match scope.resources.get(*name) {
                Some(Resource::Text(text)) => Ok(Resolved::Text(text.clone())),
                Some(Resource::List(items)) => Ok(Resolved::List(items.clone())),
                None if scope.broken_resources.contains(*name) => return None,
                None => Err(codes::unknown_resource(
                    span.clone(),
                    name,
                    did_you_mean(name, scope.resources.keys().map(String::as_str)),
                )),
            },
            ["steps", step, output] => match context {
                // Its action has an error, reported there: its outputs are unknown, not wrong.
                Context::Step(_)
                    if scope
                        .steps
                        .iter()
                        .any(|s| s.id == *step && s.action.is_none()) =>
                {
                    return None;
                }
                Context::Step(from) => {
                    self.step_output(step, output, from, span.clone(), scope, refs)
                }
                Context::OnFailure | Context::Trigger => {
                    Err(codes::steps_out_of_scope(span.clone()))
                }
            },
            [root @ ("execution" | "failure" | "alarm"), field] => {
                let fields = context_fields(root);
                match (context_reference(root, field), context) {
                    (None, _) => Err(codes::unknown_field(
                        span.clone(),
                        root,
                        field,
                        fields,
                        did_you_mean(field, fields.iter().copied()),
                    )),
                    (Some(reference), _) if *root == "execution" => {
                        Ok(Resolved::Reference(reference, ValueType::String))
                    }
                    (Some(reference @ Reference::Failure(_)), Context::OnFailure)
                    | (Some(reference @ Reference::Alarm(_)), Context::Trigger) => {
                        Ok(Resolved::Reference(reference, ValueType::String))
                    }
                    (Some(Reference::Failure(_)), _) => {
                        Err(codes::failure_out_of_scope(span.clone()))
                    }
                    (Some(_), _) => Err(codes::alarm_out_of_scope(span.clone())),
                }
            }
            [root, ..] if ROOTS.contains(root) => {
                let shape = match *root {
                    "steps" => "`steps.<id>.<output>`".to_owned(),
                    other => format!("`{other}.<name>`"),
                };
                Err(codes::malformed_reference(
                    span.clone(),
                    &parts.join("."),
                    &shape,
                ))
            }
            [root, ..] => Err(codes::unknown_root(
                span.clone(),
                &parts.join("."),
                did_you_mean(root, ROOTS),
            )),
            [] => Err(codes::empty_reference(span.clone())),
        };
        match resolved {
            Ok(resolved) => Some(resolved),
            Err(diagnostic) => {
                self.sink.push(diagnostic);
                None
            }
        }
    }

    fn step_output(
        &mut self,
        step: &str,
        output: &str,
        from: usize,
        span: Span,
        scope: &Scope<'_, '_, '_>,
        refs: &mut Vec<StepRead>,
    ) -> Result<Resolved, Diagnostic> {
        let Some(to) = scope.steps.iter().position(|s| s.id == step) else {
            let suggestion = did_you_mean(step, scope.steps.iter().map(|s| s.id.as_str()));
            return Err(codes::unknown_step_reference(span, step, suggestion));
        };
        let target = &scope.steps[to];
        let Some(action) = target.action else {
            // `resolve` does not ask for the outputs of a step without an action.
            return Err(codes::step_without_valid_action(span, step));
        };
        let Some(spec) = action.output(output) else {
            let suggestion = did_you_mean(output, action.outputs.iter().map(|o| o.name));
            return Err(codes::unknown_output(
                span, action, step, output, suggestion,
            ));
        };
        // With a cycle there is no ancestry to check against; the cycle is reported already.
        if let Some(ancestors) = scope.ancestors
            && !ancestors.is_ancestor(to, from)
        {
            return Err(codes::not_an_ancestor(
                span,
                &scope.steps[from].id,
                step,
                output,
                target.id_span.clone(),
                ancestors.is_ancestor(from, to),
            ));
        }
        refs.push(StepRead {
            from,
            to,
            output: output.to_owned(),
            span,
        });
        Ok(Resolved::Reference(
            Reference::StepOutput {
                step: step.to_owned(),
                output: output.to_owned(),
            },
            spec.ty,
        ))
    }

    fn trigger(
        &mut self,
        node: &Node<'_>,
        key_span: Option<Span>,
        scope: &Scope<'_, '_, '_>,
    ) -> Option<Trigger> {
        let table = Table::of(node, "[trigger]", self.sink)?;
        table.deny_unknown(
            &["alarms", "input", "cooldown", "topic"],
            "[trigger]",
            self.sink,
        );
        let header = key_span.unwrap_or(table.span.clone());
        let alarms: Vec<String> = table
            .strings("alarms", "[trigger]", self.sink)
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _)| s.to_owned())
            .collect();
        if alarms.is_empty()
            && !table
                .get("alarms")
                .is_some_and(|n| !matches!(n.get_ref(), DeValue::Array(_)))
        {
            self.sink
                .push(codes::trigger_without_alarms(header.clone()));
        }
        let mut input = BTreeMap::new();
        let mut ok = true;
        if let Some(fills) = table
            .get("input")
            .and_then(|n| Table::of(n, "[trigger].input", self.sink))
        {
            for (name, span, value) in fills.entries() {
                let Some(declared) = scope.inputs.iter().find(|i| i.name == name) else {
                    if scope.broken_inputs.contains(name) {
                        ok = false;
                        continue;
                    }
                    let suggestion =
                        did_you_mean(name, scope.inputs.iter().map(|i| i.name.as_str()));
                    self.sink
                        .push(codes::trigger_unknown_input(span, name, suggestion));
                    ok = false;
                    continue;
                };
                match self.value(
                    value,
                    declared.ty,
                    name,
                    scope,
                    Context::Trigger,
                    &mut Vec::new(),
                ) {
                    Some(value) => {
                        input.insert(name.to_owned(), value);
                    }
                    None => ok = false,
                }
            }
        }
        for required in scope.inputs.iter().filter(|i| i.default.is_none()) {
            if !input.contains_key(&required.name) {
                self.sink
                    .push(codes::trigger_missing_input(header.clone(), &required.name));
                ok = false;
            }
        }
        let cooldown_secs = match table.get("cooldown") {
            Some(_) => match self.duration(&table, "cooldown", "[trigger]", 0) {
                Some(secs) => secs,
                None => {
                    ok = false;
                    0
                }
            },
            None => DEFAULT_COOLDOWN_SECS,
        };
        let topic = match table.string("topic", "[trigger]", self.sink) {
            Some((text, span)) => {
                match self.string(
                    text,
                    span.clone(),
                    "topic",
                    scope,
                    Context::Trigger,
                    &mut Vec::new(),
                ) {
                    Some((Value::Literal(serde_json::Value::String(topic)), _)) => Some(topic),
                    Some(_) => {
                        self.sink.push(codes::trigger_topic_reference(span));
                        ok = false;
                        None
                    }
                    None => {
                        ok = false;
                        None
                    }
                }
            }
            None => None,
        };
        if ok && !alarms.is_empty() && topic.is_none() && cooldown_secs > 0 {
            self.sink
                .push(codes::silent_cooldown(header.clone(), cooldown_secs));
        }
        (ok && !alarms.is_empty()).then_some(Trigger {
            alarms,
            input,
            cooldown_secs,
            topic,
        })
    }
}

/// The fields of the context roots, for "did you mean".
fn context_fields(root: &str) -> &'static [&'static str] {
    match root {
        "execution" => &["name", "id"],
        "failure" => &["step", "error", "cause"],
        _ => &["name", "state", "reason", "time"],
    }
}

fn context_reference(root: &str, field: &str) -> Option<Reference> {
    Some(match (root, field) {
        ("execution", "name") => Reference::Execution(ExecutionField::Name),
        ("execution", "id") => Reference::Execution(ExecutionField::Id),
        ("failure", "step") => Reference::Failure(FailureField::Step),
        ("failure", "error") => Reference::Failure(FailureField::Error),
        ("failure", "cause") => Reference::Failure(FailureField::Cause),
        ("alarm", "name") => Reference::Alarm(AlarmField::Name),
        ("alarm", "state") => Reference::Alarm(AlarmField::State),
        ("alarm", "reason") => Reference::Alarm(AlarmField::Reason),
        ("alarm", "time") => Reference::Alarm(AlarmField::Time),
        _ => return None,
    })
}

/// The catalog's spec of a param of the step being lowered: its range or allowed values.
fn scope_param(
    key: &str,
    context: Context,
    scope: &Scope<'_, '_, '_>,
) -> Option<&'static catalog::ParamSpec> {
    let Context::Step(index) = context else {
        return None;
    };
    scope.steps.get(index)?.action?.param(key)
}

/// Whether a value that names a resource may be empty: `Some(None)` for an empty literal, `Some(Some(input))`
/// for an input that defaults to `""`.
fn empty_name<'i>(value: &Value, inputs: &'i [Input]) -> Option<Option<&'i str>> {
    match value {
        Value::Literal(serde_json::Value::String(text)) if text.is_empty() => Some(None),
        Value::Ref(Reference::Input(name)) => inputs
            .iter()
            .find(|i| i.name == *name && i.default == Some(serde_json::Value::from("")))
            .map(|i| Some(i.name.as_str())),
        _ => None,
    }
}

fn literal(value: &Value) -> Option<&serde_json::Value> {
    match value {
        Value::Literal(v) => Some(v),
        _ => None,
    }
}

fn collapse_list(values: Vec<Value>) -> Value {
    match values.iter().map(literal).collect::<Option<Vec<_>>>() {
        Some(literals) => Value::Literal(literals.into_iter().cloned().collect()),
        None => Value::List(values),
    }
}

fn collapse_map(values: BTreeMap<String, Value>) -> Value {
    match values
        .iter()
        .map(|(k, v)| literal(v).map(|v| (k.clone(), v.clone())))
        .collect::<Option<serde_json::Map<_, _>>>()
    {
        Some(map) => Value::Literal(map.into()),
        None => Value::Map(values),
    }
}
