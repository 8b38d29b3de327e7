//! Workflow values to ASL payload templates: a whole-value reference becomes a `.$` path, an interpolated
//! string `States.Format(...)`, a list holding references `States.Array(...)`, and a literal stays a literal.

use serde_json::{Map, Value as Json};
use workflow::model::{ExecutionField, FailureField, Reference, Segment, Value};

/// Where each reference lives in the state (`$`) or the context object (`$$`). The layout of `$`:
/// `{"input": {...}, "steps": {"<id>": {"status", "output"} | {"skipped": true} | {"status": "failed", "Error",
/// "Cause"}}}`, plus `failure` (`{step, Error, Cause}`) on the failure path.
pub fn path(reference: &Reference) -> String {
    match reference {
        Reference::Input(name) => field("$.input", name),
        Reference::StepOutput { step, output } => field(&step_path(step, "output"), output),
        Reference::Execution(ExecutionField::Name) => "$$.Execution.Name".to_owned(),
        Reference::Execution(ExecutionField::Id) => "$$.Execution.Id".to_owned(),
        Reference::Failure(FailureField::Step) => "$.failure.step".to_owned(),
        // Step Functions' own error-output fields, made whole by the failure path before any step reads them.
        Reference::Failure(FailureField::Error) => "$.failure.Error".to_owned(),
        Reference::Failure(FailureField::Cause) => "$.failure.Cause".to_owned(),
        // `${alarm.*}` is only legal in `[trigger].input`, which the machine's first states fill from the event.
        Reference::Alarm(field) => format!("$.alarm.{}", format!("{field:?}").to_lowercase()),
    }
}

/// `$.steps.<id>.<rest>`; `rest` may be empty.
pub fn step_path(step: &str, rest: &str) -> String {
    let base = field("$.steps", step);
    if rest.is_empty() {
        base
    } else {
        format!("{base}.{rest}")
    }
}

/// Dot notation for plain names, bracket notation for anything else.
fn field(parent: &str, name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{parent}.{name}")
    } else {
        format!(
            "{parent}['{}']",
            name.replace('\\', "\\\\").replace('\'', "\\'")
        )
    }
}

/// Adds `key: value` to a payload template, as `key.$` when the value is computed at run time.
pub fn insert(template: &mut Map<String, Json>, key: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::Literal(literal) => {
            template.insert(key.to_owned(), literal.clone());
        }
        Value::Map(entries) => {
            let mut nested = Map::new();
            for (k, v) in entries {
                insert(&mut nested, k, v)?;
            }
            template.insert(key.to_owned(), Json::Object(nested));
        }
        Value::List(items) if items.iter().all(|i| matches!(i, Value::Literal(_))) => {
            let literals = items.iter().filter_map(|i| match i {
                Value::Literal(l) => Some(l.clone()),
                _ => None,
            });
            template.insert(key.to_owned(), Json::Array(literals.collect()));
        }
        Value::Ref(_) | Value::Template(_) | Value::List(_) => {
            template.insert(format!("{key}.$"), Json::String(intrinsic(value)?));
        }
    }
    Ok(())
}

/// The value as a path or intrinsic-function expression (an argument of another intrinsic, or a `.$` field).
pub fn intrinsic(value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::Ref(reference) => path(reference),
        Value::Template(segments) => format_call(segments),
        Value::List(items) => {
            let args: Result<Vec<String>, String> = items.iter().map(intrinsic).collect();
            format!("States.Array({})", args?.join(", "))
        }
        Value::Literal(Json::String(text)) => quote(text),
        Value::Literal(scalar @ (Json::Number(_) | Json::Bool(_) | Json::Null)) => {
            scalar.to_string()
        }
        Value::Literal(structured) => {
            format!("States.StringToJson({})", quote(&structured.to_string()))
        }
        Value::Map(_) => return Err("a table inside a list cannot hold references".to_owned()),
    })
}

/// `States.Format('text {} text', path, ...)`.
pub fn format_call(segments: &[Segment]) -> String {
    let mut text = String::new();
    let mut args = Vec::new();
    for segment in segments {
        match segment {
            Segment::Text(t) => text.push_str(&escape(t)),
            Segment::Ref(r) => {
                text.push_str("{}");
                args.push(path(r));
            }
        }
    }
    if args.is_empty() {
        return quote_escaped(&text);
    }
    format!(
        "States.Format({}, {})",
        quote_escaped(&text),
        args.join(", ")
    )
}

/// An intrinsic string literal. ASL: "the characters `' { } \` must be escaped with `\`".
pub fn quote(text: &str) -> String {
    quote_escaped(&escape(text))
}

fn quote_escaped(escaped: &str) -> String {
    format!("'{escaped}'")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\'' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_format_calls() {
        let value = Value::Template(vec![
            Segment::Text("it's {odd} ".to_owned()),
            Segment::Ref(Reference::Input("v".to_owned())),
        ]);
        assert_eq!(
            intrinsic(&value).as_deref(),
            Ok(r"States.Format('it\'s \{odd\} {}', $.input.v)")
        );
    }

    #[test]
    fn lists_with_references_become_arrays() {
        let value = Value::List(vec![
            Value::Literal(Json::from("db")),
            Value::Literal(Json::from(3)),
            Value::Ref(Reference::StepOutput {
                step: "s".to_owned(),
                output: "o".to_owned(),
            }),
        ]);
        let mut template = Map::new();
        assert_eq!(insert(&mut template, "command", &value), Ok(()));
        assert_eq!(
            Json::Object(template),
            serde_json::json!({"command.$": "States.Array('db', 3, $.steps.s.output.o)"})
        );
    }
}
