//! One integration-test binary for the compiler: fixture snapshots checked by asl-validator, the audit's
//! manifest, and shape tests.

mod checked;
mod checker;
mod contract;
mod failure;
mod fixtures;
mod limits;
mod liveness;
mod manifest;
mod partition;
mod plan;
mod shapes;
mod speed;
mod templates;

use std::path::Path;

/// Checks and compiles a workflow source; panics with the diagnostics when it is not valid.
fn compile(source: &str, origin: &Path) -> compiler::Compiled {
    let checked = workflow::check(source);
    let Some(workflow) = checked.workflow else {
        panic!(
            "{} is not a valid workflow: {:#?}",
            origin.display(),
            checked.diagnostics
        );
    };
    match compiler::compile(&workflow, &compiler::Options::default()) {
        Ok(compiled) => compiled,
        Err(errors) => panic!("{} does not compile: {errors:#?}", origin.display()),
    }
}

/// The plan as `stepback plan` summarises it, for snapshots and `check`.
fn summary(plan: &compiler::Plan) -> String {
    let added: Vec<String> = plan
        .added_edges
        .iter()
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    format!(
        "structure: {}\nadded: {}\ncritical: {} ({}s)\nmakespan: {}s (ratio {:.2}, levels {:.2})\nevents: {}",
        plan.structure,
        if added.is_empty() {
            "none".to_owned()
        } else {
            added.join(", ")
        },
        plan.critical_path.join(" -> "),
        plan.critical_secs,
        plan.makespan_secs,
        plan.ratio(),
        plan.level_ratio(),
        plan.total_events,
    )
}
