//! Safety rules: a rollback must not make an incident worse. Destructive steps need a backup (and, for
//! `rds.restore`, an approval) that always runs before them.

use catalog::Safety;

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
        let guards = |action: &str, same_instance: bool| {
            ancestors.of_step(index).find(|&a| {
                let guard = &steps[a];
                guard.action.name == action
                    && covers(guard, step)
                    && (!same_instance
                        || guard.params.get("instance") == step.params.get("instance"))
            })
        };
        let span = raw[index].action_span.clone();
        let allowed = raw[index].allow_unguarded;
        let mut report = |code: Code, message: String, help: &str| {
            let code = if allowed {
                Code::UnguardedRestore
            } else {
                code
            };
            let help = if allowed {
                "allowed by `allow_unguarded = true`".to_owned()
            } else {
                format!("{help}, or set `allow_unguarded = true` if you accept the risk")
            };
            sink.push(
                Diagnostic::new(code, span.clone(), message)
                    .label("destructive step")
                    .help(help),
            );
        };
        match step.action.safety {
            Safety::Reversible => {}
            Safety::NeedsSnapshotAndApproval => {
                if guards("rds.snapshot", true).is_none() {
                    report(
                        Code::RestoreWithoutSnapshot,
                        format!(
                            "`{}` restores a database with no rds.snapshot of the same instance before it",
                            step.id
                        ),
                        "add an rds.snapshot step of the same `instance` to its ancestors",
                    );
                }
                if guards("approval", false).is_none() {
                    let skippable = ancestors
                        .of_step(index)
                        .find(|&a| steps[a].action.name == "approval");
                    let message = match skippable {
                        Some(a) => format!(
                            "`{}` restores a database, but approval `{}` may be skipped when it runs: their `when` differ",
                            step.id, steps[a].id
                        ),
                        None => format!(
                            "`{}` restores a database with no approval before it",
                            step.id
                        ),
                    };
                    report(
                        Code::RestoreWithoutApproval,
                        message,
                        "a restore loses the data written since the snapshot: make an approval with no `when`, or the same `when`, an ancestor",
                    );
                }
            }
            Safety::WantsSnapshot | Safety::WantsImage if !allowed => {
                let backup = if step.action.safety == Safety::WantsSnapshot {
                    "rds.snapshot"
                } else {
                    "ec2.image"
                };
                if guards(backup, false).is_none() {
                    sink.push(
                        Diagnostic::new(
                            Code::NoBackup,
                            span,
                            format!(
                                "`{}` ({}) has no {backup} step before it",
                                step.id, step.action.name
                            ),
                        )
                        .label("changes state in place")
                        .help(format!(
                            "add an {backup} step to its ancestors, or set `allow_unguarded = true`"
                        )),
                    );
                }
            }
            Safety::WantsSnapshot | Safety::WantsImage => {}
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

/// Whether `guard` runs whenever `step` runs: it has no condition, or the very same one.
fn covers(guard: &Step, step: &Step) -> bool {
    guard.when.is_none() || guard.when == step.when
}
