//! The constructors of the diagnostics about the file's shape: TOML, keys and their types, names, actions and
//! their params, inputs, durations (E001–E014).

use catalog::{ActionSpec, ParamSpec, ValueType};

use super::{Code, Span};
use crate::Diagnostic;

pub fn syntax(span: Span, message: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        span,
        format!("invalid TOML: {}", message.trim_end()),
    )
    .label("here")
    .help("see https://toml.io for the syntax")
}

pub fn unknown_key(
    span: Span,
    key: &str,
    context: &str,
    suggestion: Option<String>,
    allowed: &[&str],
) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownKey,
        span,
        format!("unknown key `{key}` in {context}"),
    )
    .label("unknown key")
    .help(suggestion.unwrap_or_else(|| format!("{context} takes: {}", allowed.join(", "))))
}

pub fn after_in_on_failure(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownKey,
        span,
        "unknown key `after` in an [on_failure] step",
    )
    .label("not allowed here")
    .help("[on_failure] steps run one after another, in the order they are written")
}

pub fn allow_unguarded_without_meaning(span: Span, action: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownKey,
        span,
        format!("`allow_unguarded` has no meaning on `{action}`"),
    )
    .label("not allowed here")
    .help(format!(
        "`allow_unguarded` only applies to actions that need a guard: {}",
        catalog::ACTIONS
            .iter()
            .filter(|a| !a.guards.is_empty())
            .map(|a| a.name)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

pub fn missing_version() -> Diagnostic {
    Diagnostic::new(Code::MissingKey, 0..0, "missing `version`")
        .label("the file starts here")
        .help("start the file with `version = 1`")
}

pub fn missing_name() -> Diagnostic {
    Diagnostic::new(Code::MissingKey, 0..0, "missing `name`")
        .label("the file starts here")
        .help("add `name = \"webapp-rollback\"`: it names the state machine")
}

pub fn input_without_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::MissingKey,
        span,
        format!("input `{name}` has no `type`"),
    )
    .label("declared here")
    .help("add `type = \"string\"` (or bool, number, list)")
}

pub fn step_without_action(span: Span, id: &str) -> Diagnostic {
    Diagnostic::new(
        Code::MissingKey,
        span,
        format!("step `{id}` has no `action`"),
    )
    .label("this step")
    .help("add e.g. `action = \"notify\"`; `stepback schema` lists the actions")
}

pub fn trigger_without_alarms(span: Span) -> Diagnostic {
    Diagnostic::new(Code::MissingKey, span, "[trigger] names no alarms")
        .label("this trigger")
        .help("add `alarms = [\"<CloudWatch alarm name>\"]`, or remove [trigger]")
}

/// `what` must be `expected`; `found` is the TOML kind, e.g. "a string".
pub fn wrong_type(span: Span, what: &str, expected: &str, found: &str) -> Diagnostic {
    Diagnostic::new(
        Code::WrongType,
        span,
        format!("{what} must be {expected}, not {found}"),
    )
    .label(format!("expected {expected}"))
}

pub fn version_type(span: Span, found: &str) -> Diagnostic {
    wrong_type(span, "`version`", "an integer", found).help("write `version = 1`")
}

pub fn unsupported_version(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnsupportedVersion,
        span,
        "unsupported workflow version",
    )
    .label("only version 1 is known")
    .help("write `version = 1`; a newer stepback may read newer versions")
}

pub fn invalid_name(span: Span, name: &str, max_len: usize) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidName,
        span,
        format!("invalid workflow name `{name}`"),
    )
    .label("not a state machine name")
    .help(format!("use 1 to {max_len} letters, digits, `-` or `_`"))
}

/// `what` is e.g. "step id".
pub fn invalid_identifier(span: Span, what: &str, name: &str, max_len: usize) -> Diagnostic {
    let problem = if name.len() > max_len {
        format!("longer than {max_len} characters")
    } else {
        "not an identifier".into()
    };
    Diagnostic::new(
        Code::InvalidIdentifier,
        span,
        format!("invalid {what} `{name}`: {problem}"),
    )
    .label(format!("invalid {what}"))
    .help(format!(
        "use lowercase letters, digits and `_`, starting with a letter or `_`, at most {max_len} characters"
    ))
}

pub fn unknown_action(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    // Naming no action here keeps this help the same as the catalog grows.
    let help = suggestion.unwrap_or_else(|| "`stepback actions` lists every action".to_owned());
    Diagnostic::new(
        Code::UnknownAction,
        span,
        format!("unknown action `{name}`"),
    )
    .label("not in the catalog")
    .help(help)
}

pub fn unknown_param(
    span: Span,
    action: &ActionSpec,
    key: &str,
    suggestion: Option<String>,
) -> Diagnostic {
    let help = suggestion.unwrap_or_else(|| {
        let names: Vec<_> = action.params.iter().map(|p| p.name).collect();
        format!("`{}` takes: {}", action.name, names.join(", "))
    });
    Diagnostic::new(
        Code::UnknownParam,
        span,
        format!("`{}` has no param `{key}`", action.name),
    )
    .label("unknown param")
    .help(help)
}

pub fn missing_param(span: Span, action: &ActionSpec, param: &ParamSpec) -> Diagnostic {
    Diagnostic::new(
        Code::MissingParam,
        span,
        format!("`{}` needs param `{}`", action.name, param.name),
    )
    .label("in this step")
    .help(format!("add `{} = ...`: {}", param.name, param.doc))
}

/// `found` is a type phrase ("a string") or a TOML kind.
pub fn param_type(span: Span, key: &str, want: ValueType, found: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ParamType,
        span,
        format!("`{key}` expects {}, found {found}", want.phrase()),
    )
    .label(format!("expected {}", want.phrase()))
    .help(want.how_to_write())
}

pub fn duration_reference(span: Span, key: &str) -> Diagnostic {
    param_type(span, key, ValueType::Duration, "a reference")
        .help("a duration must be written out, e.g. \"2m\"")
}

/// A list or table reference inside a template string.
pub fn not_interpolable(span: Span, reference: &str, ty: ValueType, key: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ParamType,
        span,
        format!(
            "`{reference}` is {} and cannot be interpolated into `{key}`",
            ty.phrase()
        ),
    )
    .label("not a string, number or bool")
    .help("pass it alone, as the whole value: `\"${...}\"`")
}

pub fn unknown_input_type(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownInputType,
        span,
        format!("unknown input type `{name}`"),
    )
    .label("not an input type")
    .help(suggestion.unwrap_or_else(|| "input types are string, bool, number and list".into()))
}

/// An input's default is longer than its `max_length`, so the machine's input check would refuse it.
pub fn default_too_long(span: Span, input: &str, length: usize, max_length: usize) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("the default of input `{input}` is {length} bytes long, over its `max_length` of {max_length}"),
    )
    .label(format!("at most {max_length} bytes"))
    .help("shorten the default, or raise `max_length`")
}

pub fn default_type(span: Span, input: &str, found: &str, ty: ValueType) -> Diagnostic {
    Diagnostic::new(
        Code::DefaultType,
        span,
        format!(
            "the default of input `{input}` is {found}, but its type is {}",
            ty.name()
        ),
    )
    .label(format!("expected a {}", ty.name()))
    .help("make the default match the type, or change the type")
}

pub fn invalid_duration(span: Span, text: &str, reason: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidDuration,
        span,
        format!("invalid duration `{text}`: {reason}"),
    )
    .label("not a duration")
    .help("write durations like \"30s\", \"15m\", \"1h30m\"")
}
