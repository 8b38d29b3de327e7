//! `stepback plan`: when each step starts and ends, the total and what it assumes; then the compiler's
//! figures, for whoever reviews the generated state machine.

use std::fmt::Write;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use catalog::Runtime;
use compiler::events::LIMIT;
use compiler::{DEFINITION_LIMIT, Plan};
use workflow::Workflow;
use workflow::duration::format as human;

use crate::output::{columns, err, out};
use crate::report::{self, INVALID};

/// Columns of a Gantt bar for the whole run.
const BAR_WIDTH: u64 = 40;

pub fn run(path: &Path) -> ExitCode {
    let (source, workflow) = match report::load_with_source(path) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (plan, over_limits) = match compiler::plan(&workflow) {
        Ok(compiled) => (compiled.plan, compiled.over_limits),
        Err(errors) => {
            report::compile_errors(path, &source, errors);
            return ExitCode::from(INVALID);
        }
    };
    out!(
        "{}",
        render(&workflow, &plan, std::io::stdout().is_terminal())
    );
    // `stepback compile` refuses what is over a limit; the same diagnostics say why.
    if !over_limits.is_empty() {
        err!("{}", report::render(path, &source, &over_limits));
        return ExitCode::from(INVALID);
    }
    ExitCode::SUCCESS
}

/// The plan as text; `bars` draws a Gantt bar per step (on a terminal).
pub fn render(workflow: &Workflow, plan: &Plan, bars: bool) -> String {
    let mut text = format!(
        "{}: {} steps, {} on failure; each step takes its estimate\n\n",
        workflow.name,
        workflow.steps.len(),
        workflow.on_failure.len()
    );
    let mut header: Vec<String> = ["step", "action", "estimate", "start", "end"]
        .map(str::to_owned)
        .into();
    if bars {
        header.push(String::new());
    }
    header.push("runs".to_owned());
    let rows = plan.timeline.iter().filter_map(|timed| {
        let step = workflow.step(&timed.step)?;
        let mut row = vec![
            step.id.clone(),
            step.action.name.to_owned(),
            human(step.estimate_secs),
            human(timed.start_secs),
            human(timed.end_secs),
        ];
        if bars {
            row.push(bar(timed.start_secs, timed.end_secs, plan.makespan_secs));
        }
        row.push(
            step.when
                .as_ref()
                .map_or_else(|| "always".to_owned(), |c| format!("if {c}")),
        );
        Some(row)
    });
    for line in columns(std::iter::once(header).chain(rows)) {
        let _ = writeln!(text, "{line}");
    }
    text.push('\n');
    text.push_str(&assumptions(workflow, plan));
    text.push_str(&detection(workflow, plan));
    text.push_str(&compiler_figures(plan));
    text.push_str(&readiness_cost(workflow));
    text
}

/// `    ████████      `: the step's share of the run.
fn bar(start: u64, end: u64, total: u64) -> String {
    let total = total.max(1);
    let from = start * BAR_WIDTH / total;
    let to = (end * BAR_WIDTH)
        .div_ceil(total)
        .max(from + 1)
        .min(BAR_WIDTH);
    let from = from.min(to.saturating_sub(1));
    let mut bar = " ".repeat(from as usize);
    bar.push_str(&"█".repeat((to - from) as usize));
    bar.push_str(&" ".repeat((BAR_WIDTH - to) as usize));
    format!("│{bar}│")
}

/// The total, and what it takes for granted: which conditional steps run, and how fast people answer.
fn assumptions(workflow: &Workflow, plan: &Plan) -> String {
    let conditional: Vec<&str> = workflow
        .steps
        .iter()
        .filter(|s| s.when.is_some())
        .map(|s| s.id.as_str())
        .collect();
    let approvals: Vec<String> = workflow
        .steps
        .iter()
        .filter(|s| s.action.runtime == Runtime::TaskToken)
        .map(|s| format!("{} {}", s.id, human(s.estimate_secs)))
        .collect();
    let mut text = format!(
        "total {}, if every step takes its estimate",
        human(plan.makespan_secs)
    );
    if conditional.is_empty() && approvals.is_empty() {
        text.push('\n');
    } else {
        text.push_str(
            " and
",
        );
    }
    if !conditional.is_empty() {
        let _ = writeln!(
            text,
            "  - the conditional steps run: {} (an upper bound where their conditions exclude each other)",
            conditional.join(", ")
        );
    }
    if !approvals.is_empty() {
        let _ = writeln!(
            text,
            "  - each approval is answered within its estimate: {}",
            approvals.join(", ")
        );
    }
    if !conditional.is_empty() {
        let skipped = &plan.default_run.skipped;
        let _ = writeln!(
            text,
            "with the default input: {} ({})",
            human(plan.default_run.makespan_secs),
            if skipped.is_empty() {
                "every conditional step runs".to_owned()
            } else {
                format!("{} skipped", skipped.join(", "))
            }
        );
    }
    text
}

/// How soon each long step's polls see its operation end, and what the polls cost.
fn detection(workflow: &Workflow, plan: &Plan) -> String {
    if plan.detection.is_empty() {
        return String::new();
    }
    let rows = plan.detection.iter().filter_map(|(id, d)| {
        let step = workflow.step(id)?;
        Some([
            id.clone(),
            human(step.estimate_secs),
            format!(
                "{} / {} / {}",
                d.polls_to_estimate, d.polls_to_latest, d.polls
            ),
            format!(
                "{} (ending at {}), at most {}% late",
                human(d.worst_delay_secs),
                human(d.worst_at_secs),
                d.worst_percent
            ),
            if d.met { "met" } else { "missed" }.to_owned(),
        ])
    });
    let header = [
        "step",
        "estimate",
        "polls by estimate / 4x / timeout",
        "worst delay",
        "goal",
    ]
    .map(str::to_owned);
    let mut text = format!(
        "\nLong steps: how late a poll sees the operation end, for any duration from 1/{} to {}x the estimate\n\
         (goal: within {}% of the duration or {}, whichever is longer)\n",
        compiler::events::EARLIEST_DIVISOR,
        compiler::events::LATEST_FACTOR,
        100 / compiler::events::DETECTION_DIVISOR,
        human(compiler::events::DETECTION_FLOOR_SECS),
    );
    for line in columns(std::iter::once(header).chain(rows)) {
        let _ = writeln!(text, "  {line}");
    }
    text
}

/// The figures behind the schedule, each with what it is for.
fn compiler_figures(plan: &Plan) -> String {
    let added: Vec<String> = plan
        .added_edges
        .iter()
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    let mut heaviest = plan.step_events.clone();
    heaviest.sort_by_key(|(id, events)| (std::cmp::Reverse(*events), id.clone()));
    let heaviest: Vec<String> = heaviest
        .iter()
        .take(3)
        .map(|(id, e)| format!("{id} {e}"))
        .collect();
    let rows = [
        (
            "critical path",
            format!(
                "{} ({})",
                plan.critical_path.join(" -> "),
                human(plan.critical_secs)
            ),
            "the longest chain of `after`: no schedule is shorter",
        ),
        (
            "compiled machine",
            format!(
                "{} ({:.2} x critical path)",
                human(plan.makespan_secs),
                plan.ratio()
            ),
            "the total above; above 1.00 only where the compiler ordered steps itself",
        ),
        (
            "level by level",
            format!(
                "{} ({:.2} x critical path)",
                human(plan.level_secs),
                plan.level_ratio()
            ),
            "a naive compiler that waits for each level of the graph, for comparison",
        ),
        (
            "structure",
            plan.structure.clone(),
            "the nesting of Parallel states: `;` one after another, `|` at the same time",
        ),
        (
            "added edges",
            if added.is_empty() {
                "none".to_owned()
            } else {
                added.join(", ")
            },
            "orders the compiler added where the graph does not nest into Parallel states",
        ),
        (
            "history events",
            format!(
                "{} nominal, {} worst case, limit {LIMIT}; most: {}",
                plan.nominal_events,
                plan.total_events,
                heaviest.join(", ")
            ),
            "nominal: every step at its estimate, first try; worst: every poll until the timeout, every retry of a \
             single task, one task's retries per polling loop; Step Functions ends an execution at the limit",
        ),
        (
            "definition size",
            format!(
                "{} bytes, limit {DEFINITION_LIMIT} ({} bytes pretty-printed)",
                plan.definition_bytes, plan.pretty_bytes
            ),
            "as Step Functions receives it: minified, each function ARN at its longest; it refuses more",
        ),
        (
            "state data",
            format!(
                "at most {} bytes, limit {}; most: {}",
                plan.state_size.bytes,
                compiler::state_size::LIMIT,
                plan.state_size
                    .parts
                    .iter()
                    .take(3)
                    .map(|p| format!("{} {}", p.what, p.bytes))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "every input at its max_length, the outputs later steps read, error causes, each at its bound; \
             Step Functions fails an execution past it",
        ),
    ];
    let mut text = "\nCompiler figures, for reviewing the generated state machine\n".to_owned();
    for (label, value, meaning) in rows {
        let _ = writeln!(text, "  {label:16}  {value}\n  {:16}  ({meaning})", "");
    }
    text
}

/// What `[readiness]` costs a month, part by part, and the date of the prices.
fn readiness_cost(workflow: &Workflow) -> String {
    let (Some(cost), Some(readiness)) = (
        compiler::readiness::monthly_cost(workflow),
        workflow.readiness.as_ref(),
    ) else {
        return "\nReadiness: off ([readiness] enabled = false)\n".to_owned();
    };
    let mut text = format!(
        "\nReadiness, every {}: about ${:.2} a month (AWS's us-east-1 prices of {}, before free tiers)\n",
        human(readiness.interval_secs),
        cost.total(),
        compiler::readiness::PRICES_DATE
    );
    let rows = cost
        .parts
        .iter()
        .map(|(what, dollars)| [what.to_string(), format!("${dollars:.4}")]);
    for line in columns(rows) {
        let _ = writeln!(text, "  {line}");
    }
    text
}

#[cfg(test)]
mod tests {
    /// On a terminal each step gets a bar: its share of the run, where it falls.
    #[test]
    fn a_terminal_gets_a_gantt_bar_per_step() {
        let source = include_str!("../../examples/webapp-rollback.toml");
        let workflow = workflow::check(source)
            .workflow
            .expect("the example is valid");
        let plan = compiler::plan(&workflow).expect("the example plans").plan;
        insta::assert_snapshot!(super::render(&workflow, &plan, true));
    }
}
