//! `stepback plan`: the figures an on-call engineer reads before trusting the rollback.

use std::path::Path;
use std::process::ExitCode;

use compiler::DEFINITION_LIMIT;
use compiler::events::{LIMIT, human};

use crate::report::{self, INVALID};

pub fn run(path: &Path) -> ExitCode {
    let workflow = match report::load(path) {
        Ok(workflow) => workflow,
        Err(code) => return code,
    };
    let plan = match compiler::plan(&workflow) {
        Ok(plan) => plan,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {}: {error}", path.display());
            }
            return ExitCode::from(INVALID);
        }
    };
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
    println!(
        "{}: {} steps, {} on failure",
        workflow.name,
        workflow.steps.len(),
        workflow.on_failure.len()
    );
    println!(
        "critical path     {} ({})",
        plan.critical_path.join(" -> "),
        human(plan.critical_secs)
    );
    println!(
        "compiled machine  {} ({:.2} x critical path)",
        human(plan.makespan_secs),
        plan.ratio()
    );
    println!(
        "level by level    {} ({:.2} x critical path)",
        human(plan.level_secs),
        plan.level_ratio()
    );
    println!("structure         {}", plan.structure);
    println!(
        "added edges       {}",
        if added.is_empty() {
            "none".to_owned()
        } else {
            added.join(", ")
        }
    );
    println!(
        "history events    {} worst case, limit {LIMIT}; most: {}",
        plan.total_events,
        heaviest.join(", ")
    );
    // Measured with `${Key}` placeholders; concrete ARNs change it by a few bytes per task.
    println!(
        "definition size   {} bytes, limit {DEFINITION_LIMIT}",
        plan.definition_bytes
    );
    let over = [
        (plan.total_events > LIMIT, "history"),
        (plan.definition_bytes > DEFINITION_LIMIT, "definition size"),
    ];
    for (_, limit) in over.iter().filter(|(is_over, _)| *is_over) {
        eprintln!(
            "error: {}: over the {limit} limit; `stepback compile` refuses it",
            path.display()
        );
    }
    if over.iter().any(|(is_over, _)| *is_over) {
        return ExitCode::from(INVALID);
    }
    ExitCode::SUCCESS
}
