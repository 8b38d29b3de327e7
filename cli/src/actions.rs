//! `stepback actions [ACTION]`: the catalog for people, as `ruff rule` shows a rule.

use std::fmt::Write;
use std::process::ExitCode;

use catalog::{ActionSpec, ParamSpec, RetrySpec, Runtime};
use workflow::duration;

use crate::output::{columns, errln, out};
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
    let mut text = String::new();
    for line in columns(catalog::user_actions().map(|a| [a.name, a.summary])) {
        let _ = writeln!(text, "{line}");
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
    let params = action.params.iter().map(|param| {
        let need = if param.required {
            "required"
        } else {
            "optional"
        };
        [
            param.name.to_owned(),
            param.ty.name().to_owned(),
            need.to_owned(),
            format!("{}{}", param.doc, limits(param)),
        ]
    });
    for line in columns(params) {
        let _ = writeln!(text, "  {line}");
    }
    for group in action.exactly_one_of {
        let _ = writeln!(text, "  exactly one of: {}", group.join(", "));
    }
    text.push_str("\nOutputs, read as ${steps.<id>.<output>}\n");
    if action.outputs.is_empty() {
        text.push_str("  none\n");
    }
    let outputs = action
        .outputs
        .iter()
        .map(|output| [output.name, output.ty.name(), output.doc]);
    for line in columns(outputs) {
        let _ = writeln!(text, "  {line}");
    }
    text.push('\n');
    let native = action.runtime == Runtime::Native;
    let guards: Vec<String> = action
        .guards
        .iter()
        .map(|g| {
            let same: Vec<String> = g
                .same
                .iter()
                .map(|(_, mine)| format!("same `{mine}`"))
                .collect();
            let need = if g.required {
                "an error without it"
            } else {
                "a warning without it"
            };
            if same.is_empty() {
                format!("{} ({need})", g.action)
            } else {
                format!("{} of the {} ({need})", g.action, same.join(", "))
            }
        })
        .collect();
    let rows = [
        (
            "needs first",
            if guards.is_empty() {
                "nothing: it changes nothing beyond undoing".to_owned()
            } else {
                format!("{}, among its ancestors", guards.join(" and "))
            },
        ),
        ("runs as", runtime(action)),
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
    text.push_str("\nIAM, the function's role (`stepback template` writes it)\n");
    if action.grants.is_empty() {
        text.push_str("  none\n");
    }
    for grant in action.grants {
        let given = grant
            .given
            .map(|param| format!(" (steps with `{param}`)"))
            .unwrap_or_default();
        let _ = writeln!(text, "  {}{given}", grant.actions.join(", "));
        if grant.is_unscoped() {
            text.push_str("      on *: AWS does not scope these by resource\n");
        }
        for resource in grant.resources {
            let _ = writeln!(text, "      on {resource}");
        }
        if let Some(service) = grant.via_service {
            let _ = writeln!(
                text,
                "      only when {service} uses the key for the role (kms:ViaService){}",
                if grant.for_aws_resource {
                    ", for its own resources (kms:GrantIsForAWSResource)"
                } else {
                    ""
                }
            );
        }
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

fn runtime(action: &ActionSpec) -> String {
    match (action.runtime, action.poll_interval) {
        (Runtime::Invoke, _) => "one Lambda call".to_owned(),
        (Runtime::Poll, Some((param, default))) => format!(
            "a Lambda starts it, then checks it every `{param}` (default {}) from a Wait loop",
            duration::format(default)
        ),
        (Runtime::Poll, None) => {
            "a long operation: a Lambda starts it, then polls it from a Wait loop (first poll at the estimate)"
                .to_owned()
        }
        (Runtime::TaskToken, _) => {
            "a wait for a person, who answers with `stepback approve` or `stepback reject`".to_owned()
        }
        (Runtime::Native, _) => "a Step Functions Wait state; no Lambda".to_owned(),
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
        let _ = writeln!(text, "{} = {}", param.name, param.example_value());
    }
    text
}
