//! The constructors of the diagnostics about what a step names: the steps it runs `after`, the `${...}` it reads,
//! and where each can be read (E015–E022).

use catalog::ActionSpec;

use super::{Code, Span};
use crate::Diagnostic;

pub fn unknown_step(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownStep,
        span,
        format!("unknown step `{name}` in `after`"),
    )
    .label("no such step")
    .help(suggestion.unwrap_or_else(|| "`after` lists ids of [steps.<id>] tables".into()))
}

pub fn self_dependency(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::SelfDependency,
        span,
        format!("step `{name}` is after itself"),
    )
    .label("self-reference")
    .help("remove it from `after`")
}

/// `names` in edge order, from the step `span` belongs to; `waits` are the other `after` lists of the cycle.
pub fn cycle(span: Span, names: &[&str], waits: Vec<(Span, String)>) -> Diagnostic {
    let first = names.first().copied().unwrap_or_default();
    let last = names.last().copied().unwrap_or_default();
    let mut diagnostic = Diagnostic::new(
        Code::Cycle,
        span,
        format!(
            "steps depend on each other in a cycle: {} → {first}",
            names.join(" → ")
        ),
    )
    .label(format!("`{first}` waits for `{last}`"));
    for (span, label) in waits {
        diagnostic = diagnostic.related(span, label);
    }
    diagnostic.help("remove one of these `after` entries")
}

/// A `${...}` that the template parser rejects.
pub fn reference_syntax(span: Span, message: &str) -> Diagnostic {
    Diagnostic::new(Code::ReferenceSyntax, span, message)
        .label("malformed")
        .help("write references as `${input.name}`, `${steps.id.output}`; `$${` writes a literal `${`")
}

/// `shape` is the form the reference should have, e.g. "`steps.<id>.<output>`".
pub fn malformed_reference(span: Span, path: &str, shape: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceSyntax,
        span,
        format!("malformed reference `{path}`"),
    )
    .label("wrong number of parts")
    .help(format!("write {shape}"))
}

pub fn empty_reference(span: Span) -> Diagnostic {
    Diagnostic::new(Code::ReferenceSyntax, span, "empty reference")
}

pub fn unknown_input(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown input `{name}`"),
    )
    .label("not declared in [input]")
    .help(
        suggestion
            .unwrap_or_else(|| format!("declare it: [input] {name} = {{ type = \"string\" }}")),
    )
}

pub fn unknown_resource(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown resource `{name}`"),
    )
    .label("not declared in [resources]")
    .help(suggestion.unwrap_or_else(|| format!("declare it: [resources] {name} = \"...\"")))
}

/// A field of `execution`, `failure` or `alarm` that does not exist.
pub fn unknown_field(
    span: Span,
    root: &str,
    field: &str,
    fields: &[&str],
    suggestion: Option<String>,
) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown field `{root}.{field}`"),
    )
    .label(format!("not a field of `{root}`"))
    .help(suggestion.unwrap_or_else(|| format!("`{root}` has: {}", fields.join(", "))))
}

pub fn unknown_root(span: Span, path: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown reference `{path}`"),
    )
    .label("unknown root")
    .help(suggestion.unwrap_or_else(|| {
        "references start with input, resources, steps, execution, failure or alarm".into()
    }))
}

pub fn unknown_step_reference(span: Span, step: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("unknown step `{step}`"),
    )
    .label("no such step")
    .help(suggestion.unwrap_or_else(|| "steps are declared as [steps.<id>]".into()))
}

/// A read of a step whose action did not resolve; that step's own error says why.
pub fn step_without_valid_action(span: Span, step: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownReference,
        span,
        format!("step `{step}` has no valid action"),
    )
}

/// Step `reader` reads `steps.<step>.<output>` although `step` is not among its ancestors; `step` may even run
/// after it.
pub fn not_an_ancestor(
    span: Span,
    reader: &str,
    step: &str,
    output: &str,
    step_span: Span,
    step_runs_after_reader: bool,
) -> Diagnostic {
    Diagnostic::new(
        Code::NotAnAncestor,
        span,
        format!(
            "step `{reader}` reads `steps.{step}.{output}`, but `{step}` does not run before it"
        ),
    )
    .label("not produced yet")
    .related(step_span, format!("`{step}` is declared here"))
    .help(if reader == step {
        "a step cannot read its own output".to_owned()
    } else if step_runs_after_reader {
        // Adding the edge would close a cycle: `step` already waits for this one.
        format!(
            "`{step}` runs after `{reader}`, so the order is the other way round: read it in a step that \
             runs after `{step}`, or reorder the two so that `{reader}` runs after `{step}`"
        )
    } else {
        format!("add \"{step}\" to `after` of `{reader}`")
    })
}

pub fn unknown_output(
    span: Span,
    action: &ActionSpec,
    step: &str,
    output: &str,
    suggestion: Option<String>,
) -> Diagnostic {
    let help = suggestion.unwrap_or_else(|| {
        let outputs: Vec<_> = action.outputs.iter().map(|o| o.name).collect();
        if outputs.is_empty() {
            format!("`{}` has no outputs", action.name)
        } else {
            format!("`{}` outputs: {}", action.name, outputs.join(", "))
        }
    });
    Diagnostic::new(
        Code::UnknownOutput,
        span,
        format!("`{}` (step `{step}`) has no output `{output}`", action.name),
    )
    .label("unknown output")
    .help(help)
}

fn out_of_scope(span: Span, root: &str, allowed: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceScope,
        span,
        format!("`{root}` cannot be read here"),
    )
    .label(format!("`{root}` is only known {allowed}"))
    .help(help)
}

/// `[trigger].topic` is read by the guard, before the alarm's fields or the inputs are in the state.
pub fn topic_reference(span: Span, table: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceScope,
        span,
        format!("{table}.topic reads a value known only at run time"),
    )
    .label("only `${resources.*}` can be read here")
    .help("write the topic's ARN, or put it in [resources] and read `${resources.<name>}`")
}

pub fn steps_out_of_scope(span: Span) -> Diagnostic {
    out_of_scope(
        span,
        "steps",
        "in [steps]",
        "any step may be the one that failed, so its outputs may not exist",
    )
}

pub fn failure_out_of_scope(span: Span) -> Diagnostic {
    out_of_scope(
        span,
        "failure",
        "in [on_failure] steps",
        "move this step to [on_failure.<id>] to report a failure",
    )
}

pub fn alarm_out_of_scope(span: Span) -> Diagnostic {
    out_of_scope(
        span,
        "alarm",
        "in [trigger].input",
        "fill an input from the alarm in [trigger].input, then read `${input.<name>}`",
    )
}

pub fn condition_scope(span: Span, root: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReferenceScope,
        span,
        format!("`{root}` cannot be read in a condition"),
    )
    .label("not readable here")
    .help("a condition reads `input.<name>` and `steps.<id>.<output>`, without `${}`")
}
