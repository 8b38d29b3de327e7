//! One self-contained HTML file: an SVG timeline (one lane per step, bars coloured by outcome, poll ticks,
//! details on hover from `<title>` and on click from a few lines of inline script) above the report's tables.
//! No network requests: no external scripts, styles, fonts or images.

use std::fmt::Write;

use super::{
    COLUMNS, critical_lines, duration, failed_step, failure_lines, header, redrive_lines,
    step_details, step_row, trigger_lines,
};
use crate::report::{Outcome, Report, StepRecord};

const LABEL: f64 = 200.0;
const CHART: f64 = 720.0;
const LANE: f64 = 26.0;
const AXIS: f64 = 28.0;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The CSS class of an outcome: its JSON name.
fn class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Skipped => "skipped",
        Outcome::Failed => "failed",
        Outcome::FailedContinued => "failed_continued",
        Outcome::Stopped => "stopped",
        Outcome::Running => "running",
        Outcome::NeverReached => "never_reached",
    }
}

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 24px; max-width: 1000px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } code, pre { font-family: ui-monospace, monospace; font-size: 12px; }
.status-SUCCEEDED { color: #1a7f37; } .status-FAILED, .status-TIMED_OUT, .status-ABORTED { color: #cf222e; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; } svg .axis { fill: #656d76; font-size: 11px; }
.lane { cursor: pointer; } .lane:hover .bg { fill: #f6f8fa; }
.bar.succeeded { fill: #2da44e; } .bar.failed { fill: #cf222e; } .bar.failed_continued { fill: #fb8f44; }
.bar.skipped { fill: #d0d7de; } .bar.stopped { fill: #8c959f; } .bar.running { fill: #54aeff; }
.bar.never_reached { fill: none; stroke: #8c959f; stroke-dasharray: 3 2; }
.lane.late .bar { fill-opacity: 0.45; }
.lane.failed text.label { fill: #cf222e; font-weight: 600; }
.poll { stroke: #ffffff; stroke-width: 1.5; } .grid { stroke: #eaeef2; }
#details { background: #f6f8fa; padding: 8px; min-height: 1.4em; white-space: pre-wrap; }
.legend span { display: inline-block; margin-right: 12px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
"#;

const SCRIPT: &str = r#"
document.getElementById('timeline').setAttribute('data-interactive', 'true');
document.querySelectorAll('.lane').forEach(function (lane) {
  lane.addEventListener('click', function () {
    var title = lane.querySelector('title');
    document.getElementById('details').textContent = title ? title.textContent : '';
  });
});
"#;

/// A tick interval that gives about six ticks over `span` milliseconds.
fn tick(span: u64) -> u64 {
    const STEPS: [u64; 14] = [
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
        600_000, 1_800_000,
    ];
    STEPS
        .into_iter()
        .find(|&t| span / t <= 8)
        .unwrap_or(3_600_000)
}

fn tooltip(report: &Report, step: &StepRecord) -> String {
    let row = step_row(report, step);
    let mut lines: Vec<String> = COLUMNS
        .iter()
        .zip(&row.cells)
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    lines.extend(step_details(step, failed_step(report)));
    lines.join("\n")
}

fn timeline(report: &Report) -> String {
    let start = report.execution.start;
    let end = report
        .steps
        .iter()
        .filter_map(|s| s.end)
        .chain(report.execution.end)
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let span = u64::try_from(end - start).unwrap_or(1).max(1);
    let x = |at: i64| LABEL + CHART * (at - start) as f64 / span as f64;
    let height = AXIS + LANE * report.steps.len() as f64 + 8.0;
    let width = LABEL + CHART + 20.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="timeline of the steps">"#
    );
    let every = tick(span);
    let mut t = 0;
    while t <= span {
        let tx = x(start + t as i64);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{tx:.1}" y1="{AXIS}" x2="{tx:.1}" y2="{height}"/><text class="axis" x="{tx:.1}" y="18" text-anchor="middle">+{}</text>"#,
            duration(t)
        );
        t += every;
    }
    for (i, step) in report.steps.iter().enumerate() {
        let y = AXIS + LANE * i as f64;
        let outcome = class(step.outcome);
        let late = if step.after_failure { " late" } else { "" };
        let _ = write!(
            svg,
            r#"<g class="lane {outcome}{late}" data-step="{id}" data-outcome="{outcome}"><title>{title}</title><rect class="bg" x="0" y="{y}" width="{width}" height="{LANE}" fill="transparent"/><text class="label" x="4" y="{ty:.1}">{label}</text>"#,
            id = escape(&step.id),
            title = escape(&tooltip(report, step)),
            ty = y + 17.0,
            label = escape(&if step.on_failure {
                format!("{} (on_failure)", step.id)
            } else {
                step.id.clone()
            }),
        );
        let (bx, bw) = match (step.start, step.end) {
            (Some(s), Some(e)) => (x(s), (x(e) - x(s)).max(3.0)),
            (Some(s), None) => (x(s), (x(end) - x(s)).max(3.0)),
            // Never reached: an outlined bar at the end of the timeline, so that every step has one.
            _ => (LABEL + CHART - 24.0, 24.0),
        };
        let _ = write!(
            svg,
            r#"<rect class="bar {outcome}" data-step="{id}" x="{bx:.1}" y="{by:.1}" width="{bw:.1}" height="{bh:.1}" rx="2"/>"#,
            id = escape(&step.id),
            by = y + 5.0,
            bh = LANE - 10.0,
        );
        for &poll in &step.poll_times {
            let px = x(poll);
            let _ = write!(
                svg,
                r#"<line class="poll" x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}"/>"#,
                y + 7.0,
                y + LANE - 7.0
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

fn list(out: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = write!(out, "<h2>{}</h2><ul>", escape(title));
    for line in lines {
        let _ = write!(out, "<li>{}</li>", escape(line));
    }
    out.push_str("</ul>");
}

/// The incident review's picture: one file, nothing fetched.
pub fn html(report: &Report) -> String {
    let title = format!(
        "Rollback audit: {} {} {}",
        report.workflow,
        report.execution.name.as_deref().unwrap_or("execution"),
        report.execution.status
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>",
        t = escape(&title)
    );
    let _ = write!(
        out,
        r#"<h1>Rollback audit: {} <code>{}</code> <span class="status-{s}">{s}</span></h1><table>"#,
        escape(&report.workflow),
        escape(report.execution.name.as_deref().unwrap_or("execution")),
        s = escape(&report.execution.status),
    );
    for (key, value) in header(report) {
        let _ = write!(out, "<tr><th>{key}</th><td>{}</td></tr>", escape(&value));
    }
    out.push_str("</table><h2>Timeline</h2><p class=\"legend\">");
    for (outcome, colour) in [
        ("succeeded", "#2da44e"),
        ("failed", "#cf222e"),
        ("failed, continued", "#fb8f44"),
        ("skipped", "#d0d7de"),
        ("stopped", "#8c959f"),
        ("running", "#54aeff"),
    ] {
        let _ = write!(
            out,
            r#"<span><i style="background:{colour}"></i>{outcome}</span>"#
        );
    }
    out.push_str("<span>dashed: never reached; white ticks: polls; pale bar: ran on after a failure; click a lane for its details</span></p>");
    out.push_str(&timeline(report));
    out.push_str(r#"<pre id="details"></pre>"#);
    list(&mut out, "Missing from the history", &report.gaps);
    list(&mut out, "Trigger", &trigger_lines(report));
    out.push_str("<h2>Steps, in DAG order</h2><table><tr>");
    for column in COLUMNS.iter().chain(&["details"]) {
        let _ = write!(out, "<th>{column}</th>");
    }
    out.push_str("</tr>");
    for step in &report.steps {
        let row = step_row(report, step);
        let _ = write!(
            out,
            r#"<tr class="{}" data-step="{}">"#,
            class(step.outcome),
            escape(&step.id)
        );
        for c in &row.cells {
            let _ = write!(out, "<td>{}</td>", escape(c));
        }
        let details: Vec<String> = step_details(step, failed_step(report))
            .iter()
            .map(|d| escape(d))
            .collect();
        let _ = write!(out, "<td>{}</td></tr>", details.join("<br>"));
    }
    out.push_str("</table>");
    let approvals: Vec<String> = report.approvals.iter().map(super::approval_line).collect();
    list(&mut out, "Approvals", &approvals);
    list(&mut out, "Failure", &failure_lines(report));
    list(&mut out, "Redrives", &redrive_lines(report));
    list(
        &mut out,
        "Critical path, as it happened",
        &critical_lines(report),
    );
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}
