//! The constructors of the diagnostics of the checks on a well-formed workflow: conditions, the trigger, values
//! out of range, exclusive params, the compiler's limits, the guards of destructive steps, concurrent changes,
//! and the warnings (E023 onwards, W001–W008).

use super::{Code, Span};
use crate::Diagnostic;
use crate::duration::format as human;

pub fn silent_cooldown(span: Span, cooldown_secs: u64) -> Diagnostic {
    Diagnostic::new(
        Code::SilentCooldown,
        span,
        format!(
            "an alarm held back by the {} cooldown tells no one",
            crate::duration::format(cooldown_secs)
        ),
    )
    .label("this trigger has no `topic`")
    .help("add `topic = \"<SNS topic ARN>\"` to [trigger], or `cooldown = \"0s\"` to turn the cooldown off")
}

/// `alb.deregister`/`alb.register` beside an `ecs.deploy`.
pub fn targets_by_hand(
    span: Span,
    step: &str,
    action: &str,
    owner: &str,
    owner_action: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::TargetsByHand,
        span,
        format!(
            "step `{step}` moves targets by hand ({action}) while step `{owner}` deploys an ECS service ({owner_action})"
        ),
    )
    .label("if the service registers into this target group, ECS replaces these targets on deploying")
    .help("halt a service's traffic at its listener with `alb.halt` and `alb.resume` (`stepback explain W008`); alb.deregister and alb.register are for hosts a person registered")
}

/// A `when` that does not parse (E023) or is ill-typed (E024).
pub fn condition(
    span: Span,
    message: String,
    is_type_error: bool,
    help: Option<String>,
) -> Diagnostic {
    let (code, label) = if is_type_error {
        (Code::ConditionType, "ill-typed")
    } else {
        (Code::ConditionSyntax, "here")
    };
    Diagnostic::new(code, span, message).label(label).help(
        help.unwrap_or_else(|| {
            "e.g. when = \"input.schema_changed && !input.restore_data\"".into()
        }),
    )
}

pub fn trigger_unknown_input(span: Span, name: &str, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::new(
        Code::TriggerUnknownInput,
        span,
        format!("[trigger].input fills unknown input `{name}`"),
    )
    .label("not declared in [input]")
    .help(
        suggestion
            .unwrap_or_else(|| format!("declare it: [input] {name} = {{ type = \"string\" }}")),
    )
}

pub fn trigger_missing_input(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TriggerMissingInput,
        span,
        format!("an alarm-started rollback has no value for required input `{name}`"),
    )
    .label("this trigger")
    .help(format!(
        "fill it in [trigger].input, e.g. {name} = \"${{alarm.name}}\", or give the input a default"
    ))
}

/// A duration outside `min` seconds to a year.
pub fn readiness_interval(span: Span, secs: u64) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!(
            "[readiness].interval of {} is out of range",
            crate::duration::format(secs)
        ),
    )
    .label("must be whole minutes, from 1m to 1d")
    .help("EventBridge schedules count whole minutes, and a CloudWatch alarm's period is a multiple of 60s over at most a day")
}

pub fn duration_out_of_range(span: Span, key: &str, secs: u64, min: u64) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` of {secs}s is out of range"),
    )
    .label(format!("must be from {min}s to 365d"))
    .help(if secs < min {
        format!("`{key}` must be at least {min}s")
    } else {
        "Step Functions executions last at most a year".to_owned()
    })
}

/// A number outside its range (a `retry` field, an input's `max_length`); `integral` when it must be whole.
pub fn number_out_of_range(
    span: Span,
    key: &str,
    n: f64,
    (min, max): (f64, f64),
    integral: bool,
    meaning: &str,
) -> Diagnostic {
    let kind = if integral {
        "a whole number"
    } else {
        "a number"
    };
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` = {n} is out of range"),
    )
    .label(format!("must be {kind} from {min} to {max}"))
    .help(format!("`{key}` is {meaning}"))
}

/// A string param whose literal is not among the catalog's allowed values for it.
pub fn not_allowed(
    span: Span,
    key: &str,
    literal: &str,
    allowed: &[&str],
    suggestion: Option<String>,
) -> Diagnostic {
    cannot_be(span, key, literal)
        .label(format!("must be one of {}", allowed.join(", ")))
        .help(suggestion.unwrap_or_else(|| format!("write one of {}", allowed.join(", "))))
}

/// A string param whose literal is not one the param takes.
fn cannot_be(span: Span, key: &str, literal: &str) -> Diagnostic {
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` cannot be \"{literal}\""),
    )
}

/// A statistic CloudWatch does not know.
pub fn not_a_statistic(
    span: Span,
    key: &str,
    literal: &str,
    suggestion: Option<String>,
) -> Diagnostic {
    cannot_be(span, key, literal)
        .label("not a CloudWatch statistic")
        .help(
            suggestion
                .unwrap_or_else(|| format!("write one of {}", catalog::metric::STATISTIC_FORMS)),
        )
}

/// A period CloudWatch does not aggregate over.
pub fn not_a_period(span: Span, key: &str, secs: u64) -> Diagnostic {
    let shorter = secs < 60;
    Diagnostic::new(
        Code::OutOfRange,
        span,
        format!("`{key}` of {} is not a CloudWatch period", human(secs)),
    )
    .label("must be 1s, 5s, 10s, 30s or a multiple of 1m")
    .help(if shorter {
        "a high-resolution metric takes 1s, 5s, 10s or 30s; any other takes whole minutes, e.g. \"1m\"".to_owned()
    } else {
        format!(
            "write a whole number of minutes, e.g. \"{}\"",
            human(secs.div_ceil(60) * 60)
        )
    })
}

/// A window shorter than the run of good periods the step needs.
pub fn window_too_short(
    span: Span,
    key: &str,
    secs: u64,
    (period_key, period): (&str, u64),
    (count_key, count): (&str, u64),
) -> Diagnostic {
    let needed = period.saturating_mul(count);
    Diagnostic::new(
        Code::WindowTooShort,
        span,
        format!(
            "`{key}` of {} cannot hold {count} periods of {}",
            human(secs),
            human(period)
        ),
    )
    .label(format!(
        "shorter than `{count_key}` × `{period_key}` = {}",
        human(needed)
    ))
    .help(format!(
        "make `{key}` at least {}, or leave it out (the default allows for late datapoints)",
        human(needed)
    ))
}

/// An empty literal, or an input defaulting to `""`, in a param that names a resource.
pub fn empty_name(span: Span, key: &str, input: Option<&str>) -> Diagnostic {
    match input {
        None => Diagnostic::new(Code::EmptyName, span, format!("`{key}` is empty"))
            .label("names no resource")
            .help(format!("write the identifier of what `{key}` names, or leave `{key}` out where it is optional")),
        Some(input) => Diagnostic::new(
            Code::EmptyName,
            span,
            format!("`{key}` reads input `{input}`, which defaults to empty"),
        )
        .label(format!("empty unless the execution gives `{input}`"))
        .help(format!(
            "make `{input}` required (remove its default), or give it a default that names a resource"
        )),
    }
}

/// A number param outside the catalog's range for it, or not finite.
pub fn param_out_of_range(span: Span, key: &str, range: Option<(f64, f64)>) -> Diagnostic {
    let allowed = range.map_or("a finite number".to_owned(), |(min, max)| {
        format!("from {min} to {max}")
    });
    Diagnostic::new(Code::OutOfRange, span, format!("`{key}` is out of range"))
        .label(format!("must be {allowed}"))
        .help(format!("give `{key}` a value {allowed}").replace("value a", "value that is a"))
}

/// `found` of the params in `group` are given, where exactly one must be; `span` is the second one given,
/// or the step when none is.
pub fn exclusive_params(span: Span, action: &str, group: &[&str], found: usize) -> Diagnostic {
    let names = group
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    Diagnostic::new(
        Code::ExclusiveParams,
        span,
        format!("`{action}` takes exactly one of {names}, found {found}"),
    )
    .label(if found == 0 {
        "in this step"
    } else {
        "second one here"
    })
    .help(format!("give exactly one of {names}"))
}

pub fn no_steps(span: Span) -> Diagnostic {
    Diagnostic::new(Code::NoSteps, span, "the workflow has no steps")
        .label("no [steps.<id>] tables")
        .help("add a step, e.g. [steps.announce] with action = \"notify\"")
}

pub fn duplicate_step(span: Span, id: &str, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateStep,
        span,
        format!("step id `{id}` is used twice"),
    )
    .label("also an [on_failure] step")
    .related(first, "first used here")
    .help("state names come from step ids, so they must be unique across [steps] and [on_failure]")
}

/// `step` needs the most events: its polling loop and retries in the worst case.
pub fn history_budget(
    span: Span,
    step: &str,
    step_events: u64,
    total: u64,
    limit: u64,
    fits: &[String],
) -> Diagnostic {
    let help = if fits.is_empty() {
        format!(
            "give `{step}` a shorter `timeout` (its polling loop runs until then) or fewer `retry` attempts, or split the workflow"
        )
    } else {
        format!(
            "with {} on `{step}` the workflow fits; or give it fewer `retry` attempts, or split the workflow",
            fits.join(" or ")
        )
    };
    Diagnostic::new(
        Code::HistoryBudget,
        span,
        format!(
            "the workflow may need {total} history events, over the Step Functions limit of {limit}"
        ),
    )
    .label(format!("`{step}` alone may need {step_events}"))
    .help(help)
}

/// The state data's bound is over the limit: the label at the step whose kept outputs weigh most (`outputs`:
/// what it keeps, who reads it), the related spans at the references that keep them, and `heaviest`, the
/// bound's three largest parts, each described with its bytes.
pub fn state_size(
    span: Span,
    outputs: &str,
    reads: Vec<Span>,
    bytes: usize,
    limit: usize,
    heaviest: &[String],
) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(
        Code::StateSize,
        span,
        format!(
            "the state data may reach {bytes} bytes, over the Step Functions limit of {limit} bytes per state"
        ),
    )
    .label(outputs.to_owned());
    for read in reads {
        diagnostic = diagnostic.related(read, "this read keeps them in the state");
    }
    diagnostic.help(format!(
        "the heaviest parts: {}; an output that no step reads stays in the history only, so read fewer of \
         these outputs (or read them in fewer steps after a `Parallel`), or lower the inputs' `max_length`",
        heaviest.join("; ")
    ))
}

/// `step`'s states take the most bytes of the definition, about `step_bytes`.
pub fn definition_size(
    span: Span,
    step: &str,
    step_bytes: usize,
    bytes: usize,
    limit: usize,
) -> Diagnostic {
    Diagnostic::new(
        Code::DefinitionSize,
        span,
        format!("the definition is {bytes} bytes, over the Step Functions limit of {limit} bytes"),
    )
    .label(format!("the largest step, about {step_bytes} bytes"))
    .help(format!(
        "split the workflow, or shorten what `{step}` carries: its description and params"
    ))
}

/// Guard `guard` of the destructive step `step` has `continue_on_error` (at `span`), so `step` runs even when
/// `guard` fails.
pub fn ignored_guard_failure(
    span: Span,
    (guard, guard_action): (&str, &str),
    (step, action): (&str, &str),
    step_span: Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::IgnoredGuardFailure,
        span,
        format!("`{guard}` ({guard_action}) guards `{step}` ({action}), but its failure is ignored"),
    )
    .label("the rollback goes on when this step fails")
    .related(step_span, format!("`{step}` runs even when `{guard}` fails"))
    .help(format!(
        "remove `continue_on_error` from `{guard}`, or set `allow_unguarded = true` on `{step}` if you accept the risk"
    ))
}

pub fn destructive_on_failure(span: Span, step: &str, action: &str) -> Diagnostic {
    Diagnostic::new(
        Code::DestructiveOnFailure,
        span,
        format!("`{step}` ({action}) is destructive and cannot run in [on_failure]"),
    )
    .label("no snapshot or approval can stop it here")
    .help(
        "[on_failure] steps go on past any failure, so move it into [steps] after its guards, behind a `when` on \
         an input",
    )
}

/// Steps `first` and `second` (in the DAG's order) change `what` with no `after` between them; `maybe` when a
/// reference on one side makes it uncertain (W006). `span` is `second`'s param naming the resource, `first_span`
/// `first`'s.
pub fn concurrent_change(
    span: Span,
    first: &str,
    second: &str,
    what: &str,
    first_span: Span,
    maybe: bool,
) -> Diagnostic {
    let (code, may) = if maybe {
        (Code::MaybeConcurrentChange, "may ")
    } else {
        (Code::ConcurrentChange, "")
    };
    Diagnostic::new(
        code,
        span,
        format!("`{first}` and `{second}` {may}change {what} at the same time"),
    )
    .label(format!("changed by `{second}`"))
    .related(
        first_span,
        format!("changed by `{first}`, with no `after` between them"),
    )
    .help(format!(
        "add \"{first}\" to `after` of `{second}`, so that they run one after the other"
    ))
}

/// `key` of `step`, which a shell runs, is exactly the reference `reference`.
pub fn shell_from_reference(span: Span, step: &str, key: &str, reference: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ShellFromReference,
        span,
        format!("`{key}` of `{step}` comes whole from `{reference}`, which a shell would run as code"),
    )
    .label("code from the execution")
    .help(format!(
        "write `{key}` out, with `${{...}}` only inside its items: a value there reaches the shell as data"
    ))
}

pub fn unused_input(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnusedInput,
        span,
        format!("input `{name}` is never used"),
    )
    .label("declared here")
    .help(format!("reference it as `${{input.{name}}}`, or remove it"))
}

/// `origin` says where the timeout comes from: "the step's own", "from [defaults]" or "the action's default".
pub fn timeout_below_estimate(
    span: Span,
    step: &str,
    timeout_secs: u64,
    origin: &str,
    estimate_secs: u64,
) -> Diagnostic {
    Diagnostic::new(
        Code::TimeoutBelowEstimate,
        span,
        format!(
            "step `{step}` may time out: its timeout {} ({origin}) is shorter than its estimate {}",
            human(timeout_secs),
            human(estimate_secs),
        ),
    )
    .label("timeout of this step")
    .help(if origin == "the step's own" {
        "raise `timeout` above the estimate, or correct `estimate`"
    } else {
        "give the step its own `timeout`, longer than its estimate"
    })
}
