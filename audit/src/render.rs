//! The report as text (the terminal), Markdown (post-mortems, deployment logs), HTML (one self-contained file
//! with a timeline) and JSON (`docs/audit-json.md`).

mod html;

use std::fmt::Write;

use serde_json::Value;

use crate::report::{Outcome, Report, StepRecord, Trigger};

pub use html::html;

/// Pretty JSON with a trailing newline.
pub fn json(report: &Report) -> String {
    // The report holds strings, integers and JSON values only: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}

/// `850ms`, `12.3s`, `4m 05s`, `2h 03m`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h {:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

fn estimate(secs: u64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else {
        duration(secs.saturating_mul(1000))
    }
}

/// Time since the execution started: `+0.4s`, `+3m 10s`.
fn offset(report: &Report, at: Option<i64>) -> String {
    match at {
        Some(at) => format!(
            "+{}",
            duration(u64::try_from(at - report.execution.start).unwrap_or(0))
        ),
        None => "-".to_owned(),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The lines under a step: why it was skipped, its error, retries, outputs.
fn step_details(step: &StepRecord, failed_step: Option<&str>) -> Vec<String> {
    let mut lines = Vec::new();
    if let (Outcome::Skipped, Some(when)) = (step.outcome, &step.when) {
        lines.push(format!("when `{when}` was false"));
    }
    if let Some(error) = &step.error {
        match step.cause.as_deref().filter(|c| !c.is_empty()) {
            Some(cause) => lines.push(format!("error {error}: {cause}")),
            None => lines.push(format!("error {error}")),
        }
    }
    for retry in &step.retries {
        lines.push(format!(
            "retried after {}{}",
            retry.error.as_deref().unwrap_or("an error"),
            retry
                .cause
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        ));
    }
    for (name, v) in &step.outputs {
        lines.push(format!("{name} = {}", value(v)));
    }
    if step.after_failure {
        lines.push(format!(
            "ran on after {} had failed: Step Functions stops a failed Parallel's other branches, this emulator did not",
            failed_step.unwrap_or("a step")
        ));
    }
    lines
}

fn header(report: &Report) -> Vec<(&'static str, String)> {
    let e = &report.execution;
    let mut rows = vec![
        ("execution", e.name.clone().unwrap_or_else(|| "-".into())),
        ("arn", e.arn.clone().unwrap_or_else(|| "-".into())),
        (
            "state machine",
            e.state_machine_arn.clone().unwrap_or_else(|| "-".into()),
        ),
        ("status", e.status.clone()),
        ("started", e.started_at.clone()),
    ];
    if let Some(ended) = &e.ended_at {
        rows.push(("ended", ended.clone()));
    }
    if let Some(d) = e.duration_ms {
        rows.push(("duration", duration(d)));
    }
    rows
}

fn trigger_lines(report: &Report) -> Vec<String> {
    match &report.trigger {
        Trigger::Alarm {
            name,
            state,
            reason,
            time,
        } => {
            let mut lines = vec![format!(
                "alarm {name} went to {}",
                state.as_deref().unwrap_or("ALARM")
            )];
            if let Some(time) = time {
                lines.push(format!("at {time}"));
            }
            if let Some(reason) = reason {
                lines.push(format!("reason: {reason}"));
            }
            lines
        }
        Trigger::Manual { inputs } => {
            let mut lines = vec![
                "started from the console or the CLI; the history does not record who (CloudTrail's StartExecution event does)".to_owned(),
            ];
            for input in inputs {
                lines.push(format!(
                    "input {} = {}{}",
                    input.name,
                    value(&input.value),
                    if input.defaulted { " (default)" } else { "" }
                ));
            }
            lines
        }
    }
}

fn failed_step(report: &Report) -> Option<&str> {
    report.failure.as_ref().and_then(|f| f.step.as_deref())
}

struct Row {
    cells: Vec<String>,
}

const COLUMNS: [&str; 8] = [
    "step", "action", "outcome", "start", "duration", "estimate", "attempts", "polls",
];

fn step_row(report: &Report, step: &StepRecord) -> Row {
    let mut outcome = step.outcome.label().to_owned();
    if step.after_failure && step.outcome == Outcome::Succeeded {
        outcome.push_str(" (late)");
    }
    Row {
        cells: vec![
            if step.on_failure {
                format!("{} (on_failure)", step.id)
            } else {
                step.id.clone()
            },
            step.action.clone(),
            outcome,
            offset(report, step.start),
            step.duration_ms.map_or_else(|| "-".into(), duration),
            estimate(step.estimate_secs),
            step.attempts.to_string(),
            step.polls.to_string(),
        ],
    }
}

fn approval_line(a: &crate::report::Approval) -> String {
    let mut line = format!("{}: {}", a.step, a.decision.replace('_', " "));
    if let Some(by) = &a.approved_by {
        let _ = write!(line, " by {by}");
    }
    if let Some(comment) = a.comment.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(line, " ({comment:?})");
    }
    if let Some(cause) = &a.cause {
        let _ = write!(line, ": {cause}");
    }
    if let Some(at) = &a.answered_at {
        let _ = write!(line, ", answered {at}");
    }
    if let Some(waited) = a.waited_ms {
        let _ = write!(line, ", waited {} for a person", duration(waited));
    }
    line
}

fn failure_lines(report: &Report) -> Vec<String> {
    let Some(f) = &report.failure else {
        return Vec::new();
    };
    let what = match &f.step {
        Some(step) => format!("step {step} failed"),
        None => "the execution failed outside any step".to_owned(),
    };
    let mut lines = vec![
        match (&f.error, f.cause.as_deref().filter(|c| !c.is_empty())) {
            (Some(error), Some(cause)) => format!("{what}: {error}: {cause}"),
            (Some(error), None) => format!("{what}: {error}"),
            (None, _) => what,
        },
    ];
    if f.on_failure.is_empty() {
        lines.push("no [on_failure] step ran".to_owned());
    }
    for run in &f.on_failure {
        lines.push(format!("[on_failure] {} {}", run.step, run.outcome.label()));
    }
    lines
}

fn redrive_lines(report: &Report) -> Vec<String> {
    report
        .redrives
        .iter()
        .map(|r| {
            format!(
                "redrive {} at {}: ran again {}",
                r.count.map_or_else(|| "?".to_owned(), |c| c.to_string()),
                r.at,
                if r.rerun.is_empty() {
                    "nothing".to_owned()
                } else {
                    r.rerun.join(", ")
                }
            )
        })
        .collect()
}

fn critical_lines(report: &Report) -> Vec<String> {
    let path = &report.critical_path;
    let mut lines = Vec::new();
    if !path.steps.is_empty() {
        let chain: Vec<String> = path
            .steps
            .iter()
            .map(|s| {
                if s.waited_ms >= 1000 {
                    format!(
                        "(waited {}) {} {}",
                        duration(s.waited_ms),
                        s.step,
                        duration(s.duration_ms)
                    )
                } else {
                    format!("{} {}", s.step, duration(s.duration_ms))
                }
            })
            .collect();
        lines.push(format!(
            "{} of {}: {}",
            duration(path.total_ms),
            report
                .execution
                .duration_ms
                .map_or_else(|| "-".into(), duration),
            chain.join(" -> ")
        ));
    }
    if let Some(over) = &path.over_estimate {
        lines.push(format!(
            "longest against its estimate: {} took {} (estimate {})",
            over.step,
            duration(over.duration_ms),
            estimate(over.estimate_secs)
        ));
    }
    lines
}

/// Rows of cells as lines of columns, each column as wide as its widest cell (by display width), two spaces
/// apart, and no line ending in spaces: every column table of the audit's report and of `stepback`'s verbs.
/// comfy-table lays them out, without borders.
pub fn columns<R, C>(rows: impl IntoIterator<Item = R>) -> Vec<String>
where
    R: IntoIterator<Item = C>,
    C: std::fmt::Display,
{
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    for row in rows {
        table.add_row(
            row.into_iter()
                .map(|cell| cell.to_string())
                .collect::<Vec<_>>(),
        );
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect()
}

/// The terminal report.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} {}",
        report.workflow,
        report.execution.name.as_deref().unwrap_or("execution"),
        report.execution.status
    );
    for (key, value) in header(report) {
        let _ = writeln!(out, "  {key:<14}{value}");
    }
    section(&mut out, "Missing from the history", &report.gaps);
    section(&mut out, "Trigger", &trigger_lines(report));

    let _ = writeln!(out, "\nSteps, in DAG order");
    let rows: Vec<Row> = report.steps.iter().map(|s| step_row(report, s)).collect();
    let head: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    let mut lines =
        columns(std::iter::once(&head).chain(rows.iter().map(|r| &r.cells))).into_iter();
    let _ = writeln!(out, "  {}", lines.next().unwrap_or_default());
    for (line, step) in lines.zip(&report.steps) {
        let _ = writeln!(out, "  {line}");
        for detail in step_details(step, failed_step(report)) {
            let _ = writeln!(out, "      {detail}");
        }
    }
    let approvals: Vec<String> = report.approvals.iter().map(approval_line).collect();
    section(&mut out, "Approvals", &approvals);
    section(&mut out, "Failure", &failure_lines(report));
    section(&mut out, "Redrives", &redrive_lines(report));
    section(
        &mut out,
        "Critical path, as it happened",
        &critical_lines(report),
    );
    out
}

fn section(out: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}");
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
}

/// Markdown: escapes `|` and line breaks inside table cells.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The post-mortem's and the deployment log's copy.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Rollback audit: {} `{}` {}\n",
        report.workflow,
        report.execution.name.as_deref().unwrap_or("execution"),
        report.execution.status
    );
    out.push_str("| | |\n| --- | --- |\n");
    for (key, value) in header(report) {
        let _ = writeln!(out, "| {key} | {} |", cell(&value));
    }
    md_section(&mut out, "Missing from the history", &report.gaps);
    md_section(&mut out, "Trigger", &trigger_lines(report));
    out.push_str("\n## Steps, in DAG order\n\n");
    let _ = writeln!(out, "| {} | details |", COLUMNS.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(COLUMNS.len() + 1));
    for step in &report.steps {
        let row = step_row(report, step);
        let cells: Vec<String> = row.cells.iter().map(|c| cell(c)).collect();
        let details: Vec<String> = step_details(step, failed_step(report))
            .iter()
            .map(|d| cell(d))
            .collect();
        let _ = writeln!(out, "| {} | {} |", cells.join(" | "), details.join("<br>"));
    }
    let approvals: Vec<String> = report.approvals.iter().map(approval_line).collect();
    md_section(&mut out, "Approvals", &approvals);
    md_section(&mut out, "Failure", &failure_lines(report));
    md_section(&mut out, "Redrives", &redrive_lines(report));
    md_section(
        &mut out,
        "Critical path, as it happened",
        &critical_lines(report),
    );
    out
}

fn md_section(out: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## {title}\n");
    for line in lines {
        let _ = writeln!(out, "- {line}");
    }
}
