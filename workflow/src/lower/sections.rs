//! The workflow's tables besides its steps: `version`, `name`, `[input]`, `[resources]`, `[defaults]`, a
//! `retry` table, `[trigger]` and `[readiness]`.

use std::collections::{BTreeMap, BTreeSet};

use catalog::ValueType;
use toml::de::DeValue;

use crate::codes;
use crate::model::{DEFAULT_COOLDOWN_SECS, Input, Readiness, Resource, Trigger, Value};
use crate::syntax::{
    Node, Span, Table, did_you_mean, duration_secs, is_identifier, json_number, kind,
};

use super::{
    Context, Defaults, Lowerer, MAX_ATTEMPTS, MAX_BACKOFF, MAX_DURATION_SECS, MAX_NAME_LEN,
    RETRY_KEYS, RetryPatch, Scope,
};

impl Lowerer<'_> {
    pub(super) fn version(&mut self, root: &Table<'_, '_>) {
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

    pub(super) fn name(&mut self, root: &Table<'_, '_>) -> Option<String> {
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

    pub(super) fn identifier(
        &mut self,
        name: &str,
        span: Span,
        what: &str,
        max_len: usize,
    ) -> bool {
        if is_identifier(name) && name.len() <= max_len {
            return true;
        }
        self.sink
            .push(codes::invalid_identifier(span, what, name, max_len));
        false
    }

    /// The inputs, and the names of those whose declaration has an error.
    pub(super) fn inputs(&mut self, node: &Node<'_>) -> (Vec<Input>, BTreeSet<String>) {
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
    pub(super) fn max_length(
        &mut self,
        decl: &Table<'_, '_>,
        ty: ValueType,
        context: &str,
    ) -> Option<usize> {
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

    pub(super) fn input_default(
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
    pub(super) fn resources(
        &mut self,
        node: &Node<'_>,
    ) -> (BTreeMap<String, Resource>, BTreeSet<String>) {
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

    pub(super) fn defaults(&mut self, node: &Node<'_>) -> Defaults {
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
    pub(super) fn duration(
        &mut self,
        table: &Table<'_, '_>,
        key: &str,
        context: &str,
        min: u64,
    ) -> Option<u64> {
        let (text, span) = table.string(key, context, self.sink)?;
        self.duration_literal(text, span, key, min)
    }

    pub(super) fn duration_literal(
        &mut self,
        text: &str,
        span: Span,
        key: &str,
        min: u64,
    ) -> Option<u64> {
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

    pub(super) fn retry(&mut self, node: &Node<'_>) -> RetryPatch {
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

    pub(super) fn in_range(
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

    pub(super) fn trigger(
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
        let topic = self.topic(&table, "[trigger]", scope).unwrap_or_else(|()| {
            ok = false;
            None
        });
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

    /// A table's `topic`: an SNS topic ARN, literal or from `${resources.*}`; `Err` once reported.
    fn topic(
        &mut self,
        table: &Table<'_, '_>,
        context: &str,
        scope: &Scope<'_, '_, '_>,
    ) -> Result<Option<String>, ()> {
        let Some((text, span)) = table.string("topic", context, self.sink) else {
            return Ok(None);
        };
        match self.string(
            text,
            span.clone(),
            "topic",
            scope,
            Context::Trigger,
            &mut Vec::new(),
        ) {
            Some((Value::Literal(serde_json::Value::String(topic)), _)) => Ok(Some(topic)),
            Some(_) => {
                self.sink.push(codes::topic_reference(span, context));
                Err(())
            }
            None => Err(()),
        }
    }

    /// `[readiness]`: `Ok(None)` when `enabled = false`; `Err` once reported.
    pub(super) fn readiness(
        &mut self,
        node: &Node<'_>,
        scope: &Scope<'_, '_, '_>,
        trigger: Option<&Trigger>,
    ) -> Result<Option<Readiness>, ()> {
        let table = Table::of(node, "[readiness]", self.sink).ok_or(())?;
        table.deny_unknown(&["enabled", "interval", "topic"], "[readiness]", self.sink);
        let mut readiness = Readiness::new(trigger);
        if let Some((text, span)) = table.string("interval", "[readiness]", self.sink) {
            let secs = self
                .duration_literal(text, span.clone(), "interval", 0)
                .ok_or(())?;
            if !Readiness::INTERVALS.contains(&secs) || secs % 60 != 0 {
                self.sink.push(codes::readiness_interval(span, secs));
                return Err(());
            }
            readiness.interval_secs = secs;
        }
        if let Some(topic) = self.topic(&table, "[readiness]", scope)? {
            readiness.topic = Some(topic);
        }
        let enabled = table
            .bool("enabled", "[readiness]", self.sink)
            .is_none_or(|(enabled, _)| enabled);
        Ok(enabled.then_some(readiness))
    }
}
