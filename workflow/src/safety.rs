//! Safety rules: a rollback must not make an incident worse. What must run before an action (a backup of the same
//! resource, an approval) is the catalog's [`catalog::Guard`] data; this module knows no action or param names.

use catalog::{Guard, GuardKind};

use crate::graph::Ancestors;
use crate::model::{Step, StepRead};
use crate::raw::RawStep;
use crate::syntax::Sink;
use crate::{Code, Diagnostic};

pub fn check(
    steps: &[Step],
    raw: &[RawStep<'_, '_>],
    ancestors: &Ancestors,
    refs: &[StepRead],
    sink: &mut Sink,
) {
    for (index, step) in steps.iter().enumerate() {
        let allowed = raw[index].allow_unguarded;
        for guard in step.action.guards {
            if !guard.required && allowed {
                continue;
            }
            let is_guard = |a: &usize| {
                let candidate = &steps[*a];
                candidate.action.name == guard.action
                    && guard.same.iter().all(|(theirs, ours)| {
                        candidate.params.get(*theirs) == step.params.get(*ours)
                    })
            };
            if ancestors
                .of_step(index)
                .any(|a| is_guard(&a) && covers(&steps[a], step))
            {
                continue;
            }
            // A guard that exists but may be skipped when the step runs explains itself better.
            let skippable = ancestors.of_step(index).find(is_guard);
            sink.push(missing_guard(
                step,
                guard,
                skippable.map(|a| &steps[a]),
                &raw[index],
                allowed,
            ));
        }
    }
    let mut reported = std::collections::BTreeSet::new();
    for reference in refs {
        let (from, to) = (&steps[reference.from], &steps[reference.to]);
        let (why, help) = if to.continue_on_error {
            (
                "has `continue_on_error`, so it may have failed",
                format!(
                    "read outputs of `{}` only in a step that can do without them",
                    to.id
                ),
            )
        } else if to.when.is_some() && !covers(to, from) {
            (
                "has a `when`, so it may be skipped",
                format!(
                    "give `{}` the same `when` as `{}`, or read an output of a step that always runs",
                    from.id, to.id
                ),
            )
        } else {
            continue;
        };
        // One warning per pair of steps is enough.
        if !reported.insert((reference.from, reference.to)) {
            continue;
        }
        sink.push(
            Diagnostic::new(
                Code::ConditionalReference,
                reference.span.clone(),
                format!(
                    "step `{}` reads an output of `{}`, which {why}",
                    from.id, to.id
                ),
            )
            .label("may be missing")
            .related(
                raw[reference.to].id_span.clone(),
                format!("`{}` is declared here", to.id),
            )
            .help(help),
        );
    }
}

/// E025/E026 for a required guard (W002 when `allow_unguarded` accepts the risk), W003 for a recommended one.
fn missing_guard(
    step: &Step,
    guard: &Guard,
    skippable: Option<&Step>,
    raw: &RawStep<'_, '_>,
    allowed: bool,
) -> Diagnostic {
    let same: Vec<String> = guard
        .same
        .iter()
        .map(|(_, ours)| format!("`{ours}`"))
        .collect();
    let of_the_same = if same.is_empty() {
        String::new()
    } else {
        format!(" of the same {}", same.join(" and "))
    };
    let what = format!("{}{of_the_same}", guard.action);
    let add = format!("add an {} step{of_the_same} to its ancestors", guard.action);
    let message = match skippable {
        Some(other) => format!(
            "`{}` ({}) has {what} `{}` before it, but it may be skipped when `{}` runs: their `when` differ",
            step.id, step.action.name, other.id, step.id
        ),
        None => format!(
            "`{}` ({}) has no {what} before it",
            step.id, step.action.name
        ),
    };
    let (code, label, help) = match (guard.required, guard.kind) {
        (true, GuardKind::Backup) => (
            Code::MissingBackup,
            "destructive step",
            format!("{add}, with no `when` or the same `when`"),
        ),
        (true, GuardKind::Approval) => (
            Code::MissingApproval,
            "destructive step",
            format!(
                "{} cannot be undone: make an {what} with no `when`, or the same `when`, an ancestor",
                step.action.name
            ),
        ),
        (false, _) => (Code::NoBackup, "changes state in place", add),
    };
    let (code, help) = match (guard.required, allowed) {
        (true, true) => (
            Code::Unguarded,
            "allowed by `allow_unguarded = true`".to_owned(),
        ),
        _ => (
            code,
            format!("{help}, or set `allow_unguarded = true` if you accept the risk"),
        ),
    };
    Diagnostic::new(code, raw.action_span.clone(), message)
        .label(label)
        .help(help)
}

/// Whether `guard` runs whenever `step` runs: it has no condition, or the very same one.
fn covers(guard: &Step, step: &Step) -> bool {
    guard.when.is_none() || guard.when == step.when
}
