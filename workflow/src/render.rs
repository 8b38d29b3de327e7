//! The DAG as Mermaid or Graphviz text, for `stepback graph`: one walk over the steps, edges and `on_failure`
//! chain, and a [`Syntax`] for each output. The edges the compiler adds (`compiler::added_edges`, which this
//! crate cannot call) are given by the caller and drawn dashed, labelled `added`.

use std::fmt::Write;

use crate::Workflow;
use crate::model::Step;

/// A Mermaid flowchart. Conditional steps are hexagons; `on_failure` steps sit in their own subgraph. `added`:
/// `(before, after)` step indexes ordered by the compiler, not the workflow.
pub fn mermaid(workflow: &Workflow, added: &[(usize, usize)]) -> String {
    render(workflow, added, &Mermaid)
}

/// A Graphviz digraph. Conditional steps are dashed; `on_failure` steps sit in their own cluster.
pub fn dot(workflow: &Workflow, added: &[(usize, usize)]) -> String {
    render(workflow, added, &Dot)
}

/// How one output writes the parts of the walk. `indent` is two spaces at the top level, four in the
/// `on_failure` group; `conditional` is false in the group, whose steps all run.
trait Syntax {
    fn open(&self, out: &mut String, workflow: &Workflow);
    fn node(&self, out: &mut String, indent: &str, step: &Step, conditional: bool);
    fn edge(&self, out: &mut String, indent: &str, before: &Step, after: &Step);
    /// An edge the compiler added.
    fn added_edge(&self, out: &mut String, before: &Step, after: &Step);
    fn open_group(&self, out: &mut String);
    fn close_group(&self, out: &mut String);
    fn close(&self, out: &mut String);
}

fn render(workflow: &Workflow, added: &[(usize, usize)], syntax: &dyn Syntax) -> String {
    let mut out = String::new();
    syntax.open(&mut out, workflow);
    for step in &workflow.steps {
        syntax.node(&mut out, "  ", step, step.when.is_some());
    }
    for (before, after) in workflow.dag.edges() {
        syntax.edge(
            &mut out,
            "  ",
            &workflow.steps[before],
            &workflow.steps[after],
        );
    }
    for &(before, after) in added {
        if let (Some(before), Some(after)) = (workflow.steps.get(before), workflow.steps.get(after))
        {
            syntax.added_edge(&mut out, before, after);
        }
    }
    if !workflow.on_failure.is_empty() {
        syntax.open_group(&mut out);
        for step in &workflow.on_failure {
            syntax.node(&mut out, "    ", step, false);
        }
        for pair in workflow.on_failure.windows(2) {
            syntax.edge(&mut out, "    ", &pair[0], &pair[1]);
        }
        syntax.close_group(&mut out);
    }
    syntax.close(&mut out);
    out
}

fn label(step: &Step) -> String {
    let mut label = format!("{}\n{}", step.id, step.action.name);
    if let Some(when) = &step.when {
        let _ = write!(label, "\nwhen {when}");
    }
    label
}

struct Mermaid;

impl Syntax for Mermaid {
    fn open(&self, out: &mut String, _: &Workflow) {
        out.push_str("flowchart TD\n");
    }

    fn node(&self, out: &mut String, indent: &str, step: &Step, conditional: bool) {
        let text = label(step).replace('"', "#quot;").replace('\n', "<br/>");
        let _ = if conditional {
            writeln!(out, "{indent}{}{{{{\"{text}\"}}}}", step.id)
        } else {
            writeln!(out, "{indent}{}[\"{text}\"]", step.id)
        };
    }

    fn edge(&self, out: &mut String, indent: &str, before: &Step, after: &Step) {
        let _ = writeln!(out, "{indent}{} --> {}", before.id, after.id);
    }

    fn added_edge(&self, out: &mut String, before: &Step, after: &Step) {
        let _ = writeln!(out, "  {} -. added .-> {}", before.id, after.id);
    }

    fn open_group(&self, out: &mut String) {
        out.push_str("  subgraph on_failure [\"on failure\"]\n");
    }

    fn close_group(&self, out: &mut String) {
        out.push_str("  end\n");
    }

    fn close(&self, _: &mut String) {}
}

struct Dot;

impl Dot {
    fn quote(text: &str) -> String {
        format!(
            "\"{}\"",
            text.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    }
}

impl Syntax for Dot {
    fn open(&self, out: &mut String, workflow: &Workflow) {
        let _ = write!(
            out,
            "digraph {} {{\n  node [shape=box];\n",
            Dot::quote(&workflow.name)
        );
    }

    fn node(&self, out: &mut String, indent: &str, step: &Step, conditional: bool) {
        let style = if conditional { ", style=dashed" } else { "" };
        let label = Dot::quote(&label(step));
        let _ = writeln!(out, "{indent}{} [label={label}{style}];", step.id);
    }

    fn edge(&self, out: &mut String, indent: &str, before: &Step, after: &Step) {
        let _ = writeln!(out, "{indent}{} -> {};", before.id, after.id);
    }

    fn added_edge(&self, out: &mut String, before: &Step, after: &Step) {
        let _ = writeln!(
            out,
            "  {} -> {} [style=dashed, label=\"added\"];",
            before.id, after.id
        );
    }

    fn open_group(&self, out: &mut String) {
        out.push_str("  subgraph cluster_on_failure {\n    label=\"on failure\";\n");
    }

    fn close_group(&self, out: &mut String) {
        out.push_str("  }\n");
    }

    fn close(&self, out: &mut String) {
        out.push_str("}\n");
    }
}
