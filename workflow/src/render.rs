//! The DAG as Mermaid or Graphviz text, for `stepback graph`.

use std::fmt::Write;

use crate::Workflow;
use crate::model::Step;

fn label(step: &Step) -> String {
    let mut label = format!("{}\n{}", step.id, step.action.name);
    if let Some(when) = &step.when {
        let _ = write!(label, "\nwhen {when}");
    }
    label
}

/// A Mermaid flowchart. Conditional steps are hexagons; `on_failure` steps sit in their own subgraph.
pub fn mermaid(workflow: &Workflow) -> String {
    let escape = |text: String| text.replace('"', "#quot;").replace('\n', "<br/>");
    let mut out = String::from("flowchart TD\n");
    for step in &workflow.steps {
        let text = escape(label(step));
        let _ = match step.when {
            Some(_) => writeln!(out, "  {}{{{{\"{text}\"}}}}", step.id),
            None => writeln!(out, "  {}[\"{text}\"]", step.id),
        };
    }
    for edge in workflow.dag.raw_edges() {
        let (a, b) = (
            &workflow.steps[edge.source().index()],
            &workflow.steps[edge.target().index()],
        );
        let _ = writeln!(out, "  {} --> {}", a.id, b.id);
    }
    if !workflow.on_failure.is_empty() {
        out.push_str("  subgraph on_failure [\"on failure\"]\n");
        for step in &workflow.on_failure {
            let _ = writeln!(out, "    {}[\"{}\"]", step.id, escape(label(step)));
        }
        for pair in workflow.on_failure.windows(2) {
            let _ = writeln!(out, "    {} --> {}", pair[0].id, pair[1].id);
        }
        out.push_str("  end\n");
    }
    out
}

/// A Graphviz digraph. Conditional steps are dashed; `on_failure` steps sit in their own cluster.
pub fn dot(workflow: &Workflow) -> String {
    let quote = |text: String| {
        format!(
            "\"{}\"",
            text.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    };
    let mut out = format!(
        "digraph {} {{\n  node [shape=box];\n",
        quote(workflow.name.clone())
    );
    for step in &workflow.steps {
        let style = if step.when.is_some() {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(out, "  {} [label={}{style}];", step.id, quote(label(step)));
    }
    for edge in workflow.dag.raw_edges() {
        let (a, b) = (
            &workflow.steps[edge.source().index()],
            &workflow.steps[edge.target().index()],
        );
        let _ = writeln!(out, "  {} -> {};", a.id, b.id);
    }
    if !workflow.on_failure.is_empty() {
        out.push_str("  subgraph cluster_on_failure {\n    label=\"on failure\";\n");
        for step in &workflow.on_failure {
            let _ = writeln!(out, "    {} [label={}];", step.id, quote(label(step)));
        }
        for pair in workflow.on_failure.windows(2) {
            let _ = writeln!(out, "    {} -> {};", pair[0].id, pair[1].id);
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}
