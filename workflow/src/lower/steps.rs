//! The steps: the first pass (keys, `action`, `after`), then the second (params, their presence and rules,
//! `when`).

use std::collections::BTreeMap;

use catalog::{ActionSpec, Constraint, Runtime};

use crate::codes;
use crate::condition;
use crate::model::{Condition, Step, StepRead, Value};
use crate::raw::RawStep;
use crate::syntax::{Node, Span, StrSpans, Table, did_you_mean};

use super::values::literal;
use super::{
    COMMON_STEP_KEYS, Context, Defaults, Lowerer, MAX_STEP_ID_LEN, Resolved, Scope, Section,
};

impl Lowerer<'_> {
    pub(super) fn raw_steps<'a, 'i>(
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

    pub(super) fn raw_step<'a, 'i>(
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

    pub(super) fn action(
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

    pub(super) fn check_param_presence(
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

    pub(super) fn step(
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
    pub(super) fn check_holds(&mut self, raw: &RawStep<'_, '_>, params: &BTreeMap<String, Value>) {
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

    pub(super) fn condition(
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
}
