//! The audit's manifest ([`catalog::manifest`]) for a lowered workflow.

use std::collections::BTreeMap;

use catalog::manifest::{Manifest, ManifestStep, VERSION};
use workflow::Workflow;
use workflow::model::Step;

/// `states`: the states each step's lowering added, by step id.
pub fn manifest(workflow: &Workflow, mut states: BTreeMap<String, Vec<String>>) -> Manifest {
    let mut entry = |step: &Step, on_failure: bool| ManifestStep {
        id: step.id.clone(),
        action: step.action.name.to_owned(),
        after: step.after.clone(),
        when: step.when.as_ref().map(ToString::to_string),
        estimate_secs: step.estimate_secs,
        timeout_secs: step.timeout_secs,
        continue_on_error: step.continue_on_error,
        on_failure,
        states: states.remove(&step.id).unwrap_or_default(),
    };
    let mut steps: Vec<ManifestStep> = workflow.steps.iter().map(|s| entry(s, false)).collect();
    steps.extend(workflow.on_failure.iter().map(|s| entry(s, true)));
    Manifest {
        version: VERSION,
        workflow: workflow.name.clone(),
        defaults: workflow
            .inputs
            .iter()
            .filter_map(|i| i.default.clone().map(|d| (i.name.clone(), d)))
            .collect(),
        steps,
    }
}
