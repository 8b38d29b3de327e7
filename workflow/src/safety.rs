//! Safety rules: a rollback must not make an incident worse. What must run before an action (a backup of the same
//! resource, an approval) is the catalog's [`catalog::Guard`] data, and what it changes its [`catalog::Changes`];
//! this module knows no action or param names.

use catalog::{Changes, Guard, GuardKind, Shell};

use crate::graph::{Ancestors, Dag};
use crate::model::{Condition, Reference, Segment, Step, StepRead, Value};
use crate::raw::RawStep;
use crate::syntax::{Sink, Span};
use crate::{Code, Diagnostic, codes};

pub fn check(
    steps: &[Step],
    raw: &[RawStep<'_, '_>],
    dag: &Dag,
    refs: &[StepRead],
    sink: &mut Sink,
) {
    guards(steps, raw, dag.ancestors(), sink);
    concurrent_changes(steps, raw, dag, sink);
    conditional_reads(steps, raw, refs, sink);
    shell_code(steps, raw, sink);
    targets_by_hand(steps, raw, sink);
}

/// A step that moves a target group's targets by hand, in a workflow that deploys a resource that registers its
/// own targets: if that resource registers into the same group (which only AWS knows: `stepback preflight`
/// looks), the targets taken out are replaced behind the step's back.
fn targets_by_hand(steps: &[Step], raw: &[RawStep<'_, '_>], sink: &mut Sink) {
    let Some(owner) = steps
        .iter()
        .find(|s| catalog::TARGETS_BY_OWNER.contains(&s.action.name))
    else {
        return;
    };
    for (step, raw) in steps.iter().zip(raw) {
        if catalog::TARGETS_BY_HAND.contains(&step.action.name) {
            sink.push(codes::targets_by_hand(
                raw.action_span.clone(),
                &step.id,
                step.action.name,
                &owner.id,
                owner.action.name,
            ));
        }
    }
}

/// `[on_failure]` steps go on past any failure (so the failure is always reported): a guard there could not stop
/// a destructive step, and none in `[steps]` is known to have run. So a destructive action is refused there.
pub fn check_failure_path(steps: &[Step], raw: &[RawStep<'_, '_>], sink: &mut Sink) {
    shell_code(steps, raw, sink);
    for (step, raw) in steps.iter().zip(raw) {
        if step.action.is_destructive() {
            sink.push(codes::destructive_on_failure(
                raw.action_span.clone(),
                &step.id,
                step.action.name,
            ));
        }
    }
}

/// A param that a shell runs may hold values from the execution only inside the author's text, where the Lambda
/// keeps them data; a whole list from a reference would be code from the execution.
fn shell_code(steps: &[Step], raw: &[RawStep<'_, '_>], sink: &mut Sink) {
    for (step, raw) in steps.iter().zip(raw) {
        for (key, span, _) in &raw.params {
            let shell = step.action.param(key).map(|p| p.shell);
            if let (Some(Value::Ref(reference)), Some(Shell::Script | Shell::Argv)) =
                (step.params.get(*key), shell)
            {
                let value = raw.params.iter().find(|(k, _, _)| k == key);
                let span = value.map_or(span.clone(), |(_, _, node)| node.span());
                sink.push(codes::shell_from_reference(
                    span,
                    &step.id,
                    key,
                    &format!("${{{reference}}}"),
                ));
            }
        }
    }
}

/// How well a guard that is an ancestor of a step guards it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cover {
    /// Its `when` differs: it may be skipped when the step runs.
    Skippable,
    /// It has `continue_on_error`: the step runs even when it failed.
    FailureIgnored,
    Holds,
}

fn guards(steps: &[Step], raw: &[RawStep<'_, '_>], ancestors: &Ancestors, sink: &mut Sink) {
    for (index, step) in steps.iter().enumerate() {
        let allowed = raw[index].allow_unguarded;
        for guard in step.action.guards {
            if !guard.required && allowed {
                continue;
            }
            let is_guard = |candidate: &Step| {
                candidate.action.name == guard.action
                    && guard.same.iter().all(|(theirs, ours)| {
                        candidate.params.get(*theirs) == step.params.get(*ours)
                    })
            };
            let best = ancestors
                .of_step(index)
                .filter(|&a| is_guard(&steps[a]))
                .map(|a| (cover(&steps[a], step), a))
                .max_by_key(|&(cover, a)| (cover, std::cmp::Reverse(a)));
            match best {
                Some((Cover::Holds, _)) => {}
                Some((Cover::FailureIgnored, a)) if guard.required && !allowed => {
                    let span = raw[a]
                        .continue_on_error
                        .clone()
                        .unwrap_or(raw[a].id_span.clone());
                    sink.push(codes::ignored_guard_failure(
                        span,
                        (&steps[a].id, steps[a].action.name),
                        (&step.id, step.action.name),
                        raw[index].action_span.clone(),
                    ));
                }
                weak => sink.push(missing_guard(
                    step,
                    guard,
                    weak.map(|(cover, a)| (cover, &steps[a])),
                    &raw[index],
                    allowed,
                )),
            }
        }
    }
}

/// How `guard`, an ancestor of `step`, covers it.
fn cover(guard: &Step, step: &Step) -> Cover {
    if !covers(guard, step) {
        Cover::Skippable
    } else if guard.continue_on_error {
        Cover::FailureIgnored
    } else {
        Cover::Holds
    }
}

/// Whether two values name the same resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identity {
    Different,
    /// A reference on one side, or two different ones: only the execution knows.
    Maybe,
    Same,
}

/// Two steps that change the same resource must be ordered, since the compiler runs steps with no path between
/// them at the same time. What an action changes, and which params name it, is the catalog's data.
fn concurrent_changes(steps: &[Step], raw: &[RawStep<'_, '_>], dag: &Dag, sink: &mut Sink) {
    let ancestors = dag.ancestors();
    let changing: Vec<usize> = (0..steps.len())
        .filter(|&i| !steps[i].action.changes.is_empty())
        .collect();
    for (n, &a) in changing.iter().enumerate() {
        for &b in &changing[n + 1..] {
            if ancestors.is_ancestor(a, b) || ancestors.is_ancestor(b, a) {
                continue;
            }
            // Adding edges that follow the DAG's own topological order never closes a cycle, even all at once.
            let (first, second) = if dag.position(a) < dag.position(b) {
                (a, b)
            } else {
                (b, a)
            };
            let Some((identity, what)) = shared_resource(&steps[first], &steps[second]) else {
                continue;
            };
            if identity == Identity::Different {
                continue;
            }
            let span = |i: usize| resource_span(&steps[i], &raw[i]);
            sink.push(codes::concurrent_change(
                span(second),
                &steps[first].id,
                &steps[second].id,
                &what,
                span(first),
                identity == Identity::Maybe,
            ));
        }
    }
}

/// Whether `first` and `second` change the same resource, and the words for it: "the same ECS service (cluster
/// `prod`, service `webapp`)". `None` when they change different kinds, or one names its resource only at run
/// time (a param of [`catalog::Changes`] not given).
fn shared_resource(first: &Step, second: &Step) -> Option<(Identity, String)> {
    let (ours, theirs) = (changed(first)?, changed(second)?);
    if ours.resource != theirs.resource {
        return None;
    }
    let mut identity = Identity::Same;
    let mut parts = Vec::new();
    for (mine, other) in ours.params.iter().zip(theirs.params) {
        let (a, b) = (first.params.get(*mine)?, second.params.get(*other)?);
        let (found, x, y) = same_item(a, b);
        identity = identity.min(found);
        parts.push(match found {
            Identity::Same => format!("`{}`", shown(&x)),
            _ => format!("`{}` and `{}`", shown(&x), shown(&y)),
        });
    }
    let named = match (theirs.params, parts.as_slice()) {
        ([_], [one]) => one.clone(),
        (names, parts) => {
            let pairs: Vec<String> = names
                .iter()
                .zip(parts)
                .map(|(name, part)| format!("{name} {part}"))
                .collect();
            format!("({})", pairs.join(", "))
        }
    };
    Some((identity, format!("the same {} {named}", ours.resource)))
}

/// The closest pair of items of two values (a list names one resource per item), and how close they are.
fn same_item(a: &Value, b: &Value) -> (Identity, Value, Value) {
    let (a, b) = (items(a), items(b));
    let mut best = (
        Identity::Different,
        Value::Literal("".into()),
        Value::Literal("".into()),
    );
    for x in &a {
        for y in &b {
            let found = identity(x, y);
            if found > best.0 {
                best = (found, x.clone(), y.clone());
            }
        }
    }
    if best.0 == Identity::Different
        && let (Some(x), Some(y)) = (a.first(), b.first())
    {
        best = (Identity::Different, x.clone(), y.clone());
    }
    best
}

fn items(value: &Value) -> Vec<Value> {
    match value {
        Value::Literal(serde_json::Value::Array(items)) => {
            items.iter().cloned().map(Value::Literal).collect()
        }
        Value::List(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Two literals (`${resources.*}` is substituted already) are the same when equal; identical references are the
/// same; anything else may be, unless the text around the references tells them apart.
fn identity(a: &Value, b: &Value) -> Identity {
    match (a, b) {
        (Value::Literal(x), Value::Literal(y)) if x == y => Identity::Same,
        (Value::Literal(_), Value::Literal(_)) => Identity::Different,
        _ if a == b => Identity::Same,
        _ => {
            let ((p, s), (q, t)) = (affixes(a), affixes(b));
            let prefixes = p.starts_with(&q) || q.starts_with(&p);
            let suffixes = s.ends_with(&t) || t.ends_with(&s);
            if prefixes && suffixes {
                Identity::Maybe
            } else {
                Identity::Different
            }
        }
    }
}

/// The text a value certainly starts and ends with.
fn affixes(value: &Value) -> (String, String) {
    match value {
        Value::Literal(serde_json::Value::String(text)) => (text.clone(), text.clone()),
        Value::Template(segments) => {
            let text = |segment: Option<&Segment>| match segment {
                Some(Segment::Text(text)) => text.clone(),
                _ => String::new(),
            };
            (text(segments.first()), text(segments.last()))
        }
        _ => (String::new(), String::new()),
    }
}

/// A value as the user wrote it, after `${resources.*}` substitution.
fn shown(value: &Value) -> String {
    let reference = |r: &Reference| format!("${{{r}}}");
    match value {
        Value::Literal(serde_json::Value::String(text)) => text.clone(),
        Value::Literal(other) => other.to_string(),
        Value::Ref(r) => reference(r),
        Value::Template(segments) => segments
            .iter()
            .map(|segment| match segment {
                Segment::Text(text) => text.clone(),
                Segment::Ref(r) => reference(r),
            })
            .collect(),
        Value::List(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Map(_) => "a table".to_owned(),
    }
}

/// The kind of resource a step changes: the first of its action's [`catalog::Changes`] whose params it gives
/// one of (`rds.restore` changes a DB instance or a DB cluster).
fn changed(step: &Step) -> Option<&'static Changes> {
    step.action
        .changes
        .iter()
        .find(|c| c.params.iter().any(|p| step.params.contains_key(*p)))
}

/// Where a step names the resource it changes: the value of the last param that names it.
fn resource_span(step: &Step, raw: &RawStep<'_, '_>) -> Span {
    let last = changed(step).and_then(|c| c.params.last().copied());
    raw.params
        .iter()
        .find(|(key, _, _)| Some(*key) == last)
        .map_or(raw.action_span.clone(), |(_, _, node)| node.span())
}

fn conditional_reads(steps: &[Step], raw: &[RawStep<'_, '_>], refs: &[StepRead], sink: &mut Sink) {
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
/// `weak` is the guard that is there but does not hold (E035 is reported instead when it is required and its
/// failure is ignored).
fn missing_guard(
    step: &Step,
    guard: &Guard,
    weak: Option<(Cover, &Step)>,
    raw: &RawStep<'_, '_>,
    allowed: bool,
) -> Diagnostic {
    // Only the params the step gives: a restore of a `cluster` needs a snapshot of the same cluster.
    let same: Vec<String> = guard
        .same
        .iter()
        .filter(|(_, ours)| step.params.contains_key(*ours))
        .map(|(_, ours)| format!("`{ours}`"))
        .collect();
    let of_the_same = if same.is_empty() {
        String::new()
    } else {
        format!(" of the same {}", same.join(" and "))
    };
    let what = format!("{}{of_the_same}", guard.action);
    let add = format!("add an {} step{of_the_same} to its ancestors", guard.action);
    let message = match weak {
        Some((Cover::FailureIgnored, other)) => format!(
            "`{}` ({}) has {what} `{}` before it, but its failure is ignored: it has `continue_on_error`",
            step.id, step.action.name, other.id
        ),
        Some((_, other)) => format!(
            "`{}` ({}) has {what} `{}` before it, but it may be skipped when `{}` runs: `{}`'s `when` does not hold whenever `{}`'s does",
            step.id, step.action.name, other.id, step.id, other.id, step.id
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
            format!("{add}, with no `when` or one that holds whenever its `when` does"),
        ),
        (true, GuardKind::Approval) => (
            Code::MissingApproval,
            "destructive step",
            format!(
                "{} cannot be undone: make an {what} with no `when`, or one that holds whenever its `when` does, an ancestor",
                step.action.name
            ),
        ),
        (false, _) => {
            let help = match weak {
                Some((Cover::FailureIgnored, other)) => {
                    format!("remove `continue_on_error` from `{}`", other.id)
                }
                _ => add,
            };
            (Code::NoBackup, "changes state in place", help)
        }
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

/// Whether `guard` runs whenever `step` runs: it has no condition, or `step`'s condition implies it
/// (`input.restore_data` covers `!input.had_migration && input.restore_data`, not the reverse).
fn covers(guard: &Step, step: &Step) -> bool {
    let Some(guard_when) = &guard.when else {
        return true;
    };
    let always = Condition::Literal(true);
    implies(step.when.as_ref().unwrap_or(&always), guard_when)
}

/// The most distinct comparisons [`implies`] decides by truth table (2^12 rows); beyond, only equal conditions
/// imply each other.
const MAX_ATOMS: usize = 12;

/// Whether `premise` implies `conclusion` whatever the inputs and outputs: true in every row of the truth table
/// of their atoms (bool paths and comparisons). Each atom is taken as free, which is sound (the real values
/// are some of the rows) and misses only implications between comparisons, such as `n > 5` ⇒ `n > 3`.
fn implies(premise: &Condition, conclusion: &Condition) -> bool {
    let mut atoms = Vec::new();
    collect_atoms(premise, &mut atoms);
    collect_atoms(conclusion, &mut atoms);
    if atoms.len() > MAX_ATOMS {
        return premise == conclusion;
    }
    (0u32..1 << atoms.len())
        .all(|row| !holds(premise, &atoms, row) || holds(conclusion, &atoms, row))
}

fn collect_atoms<'c>(condition: &'c Condition, atoms: &mut Vec<&'c Condition>) {
    match condition {
        Condition::And(a, b) | Condition::Or(a, b) => {
            collect_atoms(a, atoms);
            collect_atoms(b, atoms);
        }
        Condition::Not(a) => collect_atoms(a, atoms),
        Condition::Literal(_) => {}
        atom => {
            if !atoms.contains(&atom) {
                atoms.push(atom);
            }
        }
    }
}

/// `condition`'s value when atom `i` is bit `i` of `row`.
fn holds(condition: &Condition, atoms: &[&Condition], row: u32) -> bool {
    match condition {
        Condition::And(a, b) => holds(a, atoms, row) && holds(b, atoms, row),
        Condition::Or(a, b) => holds(a, atoms, row) || holds(b, atoms, row),
        Condition::Not(a) => !holds(a, atoms, row),
        Condition::Literal(value) => *value,
        atom => atoms
            .iter()
            .position(|a| *a == atom)
            .is_some_and(|i| row >> i & 1 == 1),
    }
}
