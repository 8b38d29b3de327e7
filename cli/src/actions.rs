//! `stepback actions [ACTION]`: the catalog for people, as `ruff rule` shows a rule.

use std::fmt::Write;
use std::process::ExitCode;

use catalog::{ActionSpec, ParamSpec, RetrySpec, Runtime, ValueType};
use workflow::duration;

use crate::output::{errln, out};
use crate::report::IO_ERROR;

pub fn run(action: Option<&str>) -> ExitCode {
    let Some(name) = action else {
        out!("{}", list());
        return ExitCode::SUCCESS;
    };
    match catalog::user_actions().find(|a| a.name == name) {
        Some(spec) => {
            out!("{}", describe(spec));
            ExitCode::SUCCESS
        }
        None => {
            let hint = workflow::closest(name, catalog::user_actions().map(|a| a.name))
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            errln!("error: no action `{name}`; {hint}`stepback actions` lists them");
            ExitCode::from(IO_ERROR)
        }
    }
}

/// One line per action: its name and summary.
fn list() -> String {
    let width = catalog::user_actions()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for action in catalog::user_actions() {
        let _ = writeln!(text, "{:width$}  {}", action.name, action.summary);
    }
    text.push_str("\n`stepback actions <ACTION>` shows an action's params, outputs, IAM actions and an example.\n");
    text
}

/// Everything a workflow author needs about one action, from the catalog.
pub fn describe(action: &ActionSpec) -> String {
    let mut text = format!("{}: {}\n", action.name, action.summary);
    text.push_str("\nParams\n");
    if action.params.is_empty() {
        text.push_str("  none\n");
    }
    let width = action
        .params
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for param in action.params {
        let need = if param.required {
            "required"
        } else {
            "optional"
        };
        let _ = writeln!(
            text,
            "  {:width$}  {:8}  {need}  {}{}",
            param.name,
            param.ty.name(),
            param.doc,
            limits(param)
        );
    }
    for group in action.exactly_one_of {
        let _ = writeln!(text, "  exactly one of: {}", group.join(", "));
    }
    text.push_str("\nOutputs, read as ${steps.<id>.<output>}\n");
    if action.outputs.is_empty() {
        text.push_str("  none\n");
    }
    let width = action
        .outputs
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(0);
    for output in action.outputs {
        let _ = writeln!(
            text,
            "  {:width$}  {:8}  {}",
            output.name,
            output.ty.name(),
            output.doc
        );
    }
    text.push('\n');
    let iam_actions = action.iam_actions();
    let iam = if iam_actions.is_empty() {
        "none".to_owned()
    } else {
        iam_actions.join(", ")
    };
    let native = action.runtime == Runtime::Native;
    let rows = [
        ("runs as", runtime(action.runtime).to_owned()),
        ("IAM actions", iam),
        (
            "retry",
            if native {
                "none: no call to fail".to_owned()
            } else {
                retry(&action.default_retry)
            },
        ),
        (
            "estimate",
            format!(
                "{}, for `stepback plan`; a step's `estimate` overrides it",
                duration::format(action.default_estimate_secs)
            ),
        ),
        (
            "timeout",
            if native {
                "none: it waits exactly its duration".to_owned()
            } else {
                format!(
                    "{}; a step's `timeout`, else [defaults] `timeout`, overrides it",
                    duration::format(action.default_timeout_secs)
                )
            },
        ),
    ];
    for (label, value) in rows {
        let _ = writeln!(text, "{label:12} {value}");
    }
    text.push_str("\nExample\n");
    for line in example(action).lines() {
        let _ = writeln!(text, "  {line}");
    }
    text
}

/// The allowed values or range of a param, as a suffix of its doc.
fn limits(param: &ParamSpec) -> String {
    match param.range {
        Some((min, max)) => format!(" (from {min} to {max})"),
        None if !param.allowed.is_empty() => format!(" (one of {})", param.allowed.join(", ")),
        None => String::new(),
    }
}

fn runtime(runtime: Runtime) -> &'static str {
    match runtime {
        Runtime::Invoke => "one Lambda call",
        Runtime::Poll => {
            "a long operation: a Lambda starts it, then polls it from a Wait loop (first poll at the estimate)"
        }
        Runtime::TaskToken => {
            "a wait for a person, who answers with `stepback approve` or `stepback reject`"
        }
        Runtime::Native => "a Step Functions Wait state; no Lambda",
    }
}

fn retry(retry: &RetrySpec) -> String {
    format!(
        "{} retries on Stepback.Transient and Lambda service errors: {} apart, x{} each time, at most {}{}",
        retry.attempts,
        duration::format(retry.interval_secs),
        retry.backoff,
        duration::format(retry.max_delay_secs),
        if retry.jitter { ", jittered" } else { "" }
    )
}

/// A step with every required param and the first of each exactly-one-of group, with placeholder values of
/// the right type. `stepback actions` prints it; a test checks that it is valid.
pub fn example(action: &ActionSpec) -> String {
    let id = action.name.rsplit('.').next().unwrap_or(action.name);
    let mut text = format!("[steps.{id}]\naction = \"{}\"\n", action.name);
    let chosen = action.params.iter().filter(|p| {
        p.required
            || action
                .exactly_one_of
                .iter()
                .any(|g| g.first() == Some(&p.name))
    });
    for param in chosen {
        let value = match param.ty {
            ValueType::String => match param.allowed.first() {
                Some(allowed) => format!("\"{allowed}\""),
                None => format!("\"<{}>\"", param.name),
            },
            ValueType::Number => param.range.map_or(1.0, |(min, _)| min).to_string(),
            ValueType::Bool => "true".to_owned(),
            ValueType::StringList => format!("[\"<{}>\"]", param.name),
            ValueType::StringMap => "{ Name = \"<value>\" }".to_owned(),
            ValueType::Duration => "\"2m\"".to_owned(),
            ValueType::Targets => "[\"i-0123456789abcdef0\"]".to_owned(),
        };
        let _ = writeln!(text, "{} = {value}", param.name);
    }
    text
}
