//! Workflow values to ASL payload templates: a whole-value reference becomes a `.$` path, an interpolated
//! string `States.Format(...)`, a list holding references `States.Array(...)`, and a literal stays a literal.
//!
//! Except text holding `${`. Deploy-time substitution (CloudFormation's `Fn::Sub` and `DefinitionSubstitutions`)
//! replaces `${Name}` anywhere in the definition's text, and `DefinitionSubstitutions` has no escape, so such
//! text is never written as text: Step Functions rebuilds it at run time with `States.Base64Decode` (see
//! [`rebuilt`]). The definition then holds `${` only in the compiler's own placeholders. Text inside an
//! intrinsic that would need an escape is rebuilt so too, since AWS and moto read intrinsic escapes differently.

use catalog::Shell;
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
        // Listed by the failure path from the done steps' records (`lower::Lowering::lower_completed`).
        Reference::Failure(FailureField::Completed) => "$.failure.completed".to_owned(),
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
    let plain = |v: &Value| matches!(v, Value::Literal(l) if !substitutable(l));
    match value {
        Value::Literal(literal) if plain(value) => {
            template.insert(key.to_owned(), literal.clone());
        }
        Value::Map(entries) => {
            if let Some(k) = entries.keys().find(|k| k.contains("${")) {
                return Err(format!(
                    "the key `{k}` of `{key}` holds `${{`, which deploy-time substitution would read as a placeholder"
                ));
            }
            let mut nested = Map::new();
            for (k, v) in entries {
                insert(&mut nested, k, v)?;
            }
            template.insert(key.to_owned(), Json::Object(nested));
        }
        Value::List(items) if items.iter().all(plain) => {
            let literals = items.iter().filter_map(|i| match i {
                Value::Literal(l) => Some(l.clone()),
                _ => None,
            });
            template.insert(key.to_owned(), Json::Array(literals.collect()));
        }
        Value::Literal(_) | Value::Ref(_) | Value::Template(_) | Value::List(_) => {
            template.insert(format!("{key}.$"), Json::String(intrinsic(value)?));
        }
    }
    Ok(())
}

/// Adds a param that a shell may run ([`catalog::Shell`]). Each item that a shell reads as a script and that holds
/// references becomes `States.Array(text, value, text, …, text)`: the author's text and the execution's values
/// apart, so that the Lambda binds each value to a shell variable and it reaches the shell as data, never as
/// code. Everything else goes as [`insert`] puts it (an argv item that no shell reads is data already).
pub fn insert_run_by(
    template: &mut Map<String, Json>,
    key: &str,
    value: &Value,
    shell: Shell,
) -> Result<(), String> {
    let Value::List(items) = value else {
        // A literal holds nothing from the execution; a whole reference is refused by `check` (E038).
        return insert(template, key, value);
    };
    let scripts: Vec<usize> = match shell {
        Shell::Not => Vec::new(),
        Shell::Script => (0..items.len()).collect(),
        Shell::Argv => {
            let literals: Vec<Option<&str>> = items
                .iter()
                .map(|item| match item {
                    Value::Literal(Json::String(text)) => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            Shell::script_item(&literals).into_iter().collect()
        }
    };
    let holds_values = |i: &usize| matches!(items[*i], Value::Template(_) | Value::Ref(_));
    if !scripts.iter().any(holds_values) {
        return insert(template, key, value);
    }
    let args: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Template(segments) if scripts.contains(&i) => Ok(parts(segments)),
            Value::Ref(reference) if scripts.contains(&i) => {
                Ok(parts(&[Segment::Ref(reference.clone())]))
            }
            other => intrinsic(other),
        })
        .collect::<Result<_, _>>()?;
    template.insert(
        format!("{key}.$"),
        Json::String(format!("States.Array({})", args.join(", "))),
    );
    Ok(())
}

/// `States.Array(text, value, text, …, text)`: the texts at even places, the values at odd ones.
fn parts(segments: &[Segment]) -> String {
    let mut args = Vec::new();
    let mut text = String::new();
    for segment in segments {
        match segment {
            Segment::Text(t) => text.push_str(t),
            Segment::Ref(r) => {
                args.push(string(&text));
                args.push(path(r));
                text.clear();
            }
        }
    }
    args.push(string(&text));
    format!("States.Array({})", args.join(", "))
}

/// User text for a `Comment`, which only people read: a `${` is written as the intrinsic escape `$\{`, so that
/// deploy-time substitution does not read it.
pub fn comment(text: &str) -> String {
    text.replace("${", "$\\{")
}

/// Whether a literal holds `${` in a string or a key.
fn substitutable(literal: &Json) -> bool {
    match literal {
        Json::String(text) => text.contains("${"),
        Json::Array(items) => items.iter().any(substitutable),
        Json::Object(entries) => entries
            .iter()
            .any(|(k, v)| k.contains("${") || substitutable(v)),
        Json::Number(_) | Json::Bool(_) | Json::Null => false,
    }
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
        Value::Literal(Json::String(text)) => string(text),
        Value::Literal(scalar @ (Json::Number(_) | Json::Bool(_) | Json::Null)) => {
            scalar.to_string()
        }
        Value::Literal(Json::Array(items)) => {
            let args: Vec<String> = items
                .iter()
                .map(|item| intrinsic(&Value::Literal(item.clone())))
                .collect::<Result<_, _>>()?;
            format!("States.Array({})", args.join(", "))
        }
        Value::Literal(object @ Json::Object(_)) => {
            format!("States.StringToJson({})", string(&object.to_string()))
        }
        Value::Map(_) => return Err("a table inside a list cannot hold references".to_owned()),
    })
}

/// `States.Format('{}…', …)`: the texts and values in order. A text that [`plain`] passes stays in the format
/// string; any other goes as a [`rebuilt`] argument.
pub fn format_call(segments: &[Segment]) -> String {
    let mut text = String::new();
    let mut args = Vec::new();
    for segment in segments {
        match segment {
            Segment::Text(t) if plain(t) => text.push_str(t),
            Segment::Text(t) => {
                for piece in pieces(t) {
                    text.push_str("{}");
                    args.push(piece);
                }
            }
            Segment::Ref(r) => {
                text.push_str("{}");
                args.push(path(r));
            }
        }
    }
    if args.is_empty() {
        return quoted(&text);
    }
    format!("States.Format({}, {})", quoted(&text), args.join(", "))
}

/// A string as an intrinsic argument: quoted when [`plain`], else [`rebuilt`].
fn string(text: &str) -> String {
    if plain(text) {
        quoted(text)
    } else {
        rebuilt(text)
    }
}

/// Whether `text` can be an intrinsic string literal that AWS and moto both read as written, and that
/// deploy-time substitution leaves alone: no `${`, and no character that needs an escape, in the intrinsic
/// (`' { } \`) or in the definition's JSON (`"`, control characters). AWS parses the definition's JSON first
/// and then the intrinsic; moto 5.2.5's interpreter reads the intrinsic in the JSON text as written, so a
/// literal `\'` (JSON for the intrinsic escape `\'`) ends the string after its backslash there, and a JSON
/// `\n` becomes `n`. Non-ASCII characters need no escape in either.
fn plain(text: &str) -> bool {
    !text.contains("${")
        && text.chars().all(|c| {
            !c.is_ascii() || (!c.is_ascii_control() && !matches!(c, '\'' | '{' | '}' | '\\' | '"'))
        })
}

/// An intrinsic expression whose value is `text` and whose own text holds no `${` and no escape: each ASCII
/// run becomes `States.Base64Decode('...')`, the non-ASCII runs stay literals (they hold none of the characters
/// that need an escape), and several pieces join in `States.Format('{}{}...', ...)`.
///
/// Why not the intrinsic escapes (`\'`, `$\{`): moto 5.2.5's interpreter reads them differently from AWS (see
/// [`plain`]), so no test could run them. Why ASCII runs only: moto decodes `States.Base64Decode` as ASCII.
pub fn rebuilt(text: &str) -> String {
    let pieces = pieces(text);
    match pieces.as_slice() {
        [one] => one.clone(),
        _ => format!(
            "States.Format('{}', {})",
            "{}".repeat(pieces.len()),
            pieces.join(", ")
        ),
    }
}

/// Step Functions: `States.Base64Decode` takes at most 10,000 characters, which encode 7,500 bytes.
const BASE64_DECODE_BYTES: usize = 7_500;

/// [`rebuilt`]'s pieces, in order.
fn pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let ascii = first.is_ascii();
        let len = rest
            .find(|c: char| c.is_ascii() != ascii)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        if ascii {
            // ASCII runs split anywhere: every byte is a character.
            for chunk in run.as_bytes().chunks(BASE64_DECODE_BYTES) {
                pieces.push(format!("States.Base64Decode('{}')", base64(chunk)));
            }
        } else {
            pieces.push(quoted(run));
        }
        rest = tail;
    }
    pieces
}

/// RFC 4648 base64 with padding, the alphabet `States.Base64Decode` reads.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(group >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn quoted(text: &str) -> String {
    format!("'{text}'")
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
            Ok("States.Format('{}{}', States.Base64Decode('aXQncyB7b2RkfSA='), $.input.v)")
        );
    }

    #[test]
    fn base64_follows_rfc_4648() {
        // RFC 4648, section 10.
        for (text, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(text.as_bytes()), encoded);
        }
    }

    #[test]
    fn text_holding_a_placeholder_is_rebuilt_at_run_time() {
        assert_eq!(
            rebuilt("echo ${PATH}"),
            "States.Base64Decode('ZWNobyAke1BBVEh9')"
        );
        assert_eq!(
            rebuilt("café ${X}"),
            "States.Format('{}{}{}', States.Base64Decode('Y2Fm'), 'é', States.Base64Decode('ICR7WH0='))"
        );
        let long = format!("${{A}}{}", "x".repeat(2 * BASE64_DECODE_BYTES));
        let expression = rebuilt(&long);
        assert_eq!(expression.matches("States.Base64Decode(").count(), 3);
        assert!(expression.split('\'').all(|piece| piece.len() <= 10_000));
        let mut template = Map::new();
        let commands = Value::Literal(serde_json::json!(["cd /srv", "echo ${PATH}"]));
        assert_eq!(insert(&mut template, "commands", &commands), Ok(()));
        let message = Value::Template(vec![
            Segment::Text("run ${HOME}/deploy.sh as ".to_owned()),
            Segment::Ref(Reference::Input("who".to_owned())),
        ]);
        assert_eq!(insert(&mut template, "message", &message), Ok(()));
        assert_eq!(
            Json::Object(template),
            serde_json::json!({
                "commands.$": "States.Array('cd /srv', States.Base64Decode('ZWNobyAke1BBVEh9'))",
                "message.$": "States.Format('{}{}', States.Base64Decode('cnVuICR7SE9NRX0vZGVwbG95LnNoIGFzIA=='), $.input.who)"
            })
        );
    }

    /// A shell script's values come apart from its text; an argv item that no shell reads stays one string.
    #[test]
    fn values_in_shell_scripts_reach_the_lambda_apart_from_the_text() {
        let who = || Reference::Input("who".to_owned());
        let line = Value::Template(vec![
            Segment::Text("echo $USER is ".to_owned()),
            Segment::Ref(who()),
        ]);
        let commands = Value::List(vec![Value::Literal(Json::from("cd /srv")), line.clone()]);
        let mut template = Map::new();
        assert_eq!(
            insert_run_by(&mut template, "commands", &commands, Shell::Script),
            Ok(())
        );
        let argv = |first: &str| {
            Value::List(vec![
                Value::Literal(Json::from(first)),
                Value::Literal(Json::from("-c")),
                line.clone(),
                Value::Ref(who()),
            ])
        };
        assert_eq!(
            insert_run_by(&mut template, "command", &argv("/bin/sh"), Shell::Argv),
            Ok(())
        );
        assert_eq!(
            insert_run_by(&mut template, "not_a_shell", &argv("python"), Shell::Argv),
            Ok(())
        );
        assert_eq!(
            Json::Object(template),
            serde_json::json!({
                "commands.$": "States.Array('cd /srv', States.Array('echo $USER is ', $.input.who, ''))",
                "command.$": "States.Array('/bin/sh', '-c', States.Array('echo $USER is ', $.input.who, ''), $.input.who)",
                "not_a_shell.$": "States.Array('python', '-c', States.Format('echo $USER is {}', $.input.who), $.input.who)",
            })
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
