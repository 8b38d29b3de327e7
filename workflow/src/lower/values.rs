//! A param's value: literals of the param's type, strings with `${...}` in them, and what each reference
//! resolves to.

use std::collections::BTreeMap;

use catalog::{Constraint, ValueType, metric};
use toml::de::DeValue;

use crate::model::{
    AlarmField, ExecutionField, FailureField, Input, Reference, Resource, Segment, StepRead, Value,
};
use crate::syntax::{Node, Span, StrSpans, did_you_mean, json_number, kind, number};
use crate::template::{self, RawSegment};
use crate::{Diagnostic, codes};

use super::{Context, Lowerer, ROOTS, Resolved, Scope};

impl Lowerer<'_> {
    /// Lowers a param or trigger value of the wanted type.
    pub(super) fn value(
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
    pub(super) fn string(
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

    pub(super) fn resolve(
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

    pub(super) fn step_output(
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
}

/// The fields of the context roots, for "did you mean".
fn context_fields(root: &str) -> &'static [&'static str] {
    match root {
        "execution" => &["name", "id"],
        "failure" => &["step", "error", "cause", "completed"],
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
        ("failure", "completed") => Reference::Failure(FailureField::Completed),
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

pub(super) fn literal(value: &Value) -> Option<&serde_json::Value> {
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
