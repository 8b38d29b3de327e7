//! The manifest in the definition's `Comment` agrees with the states the compiler emitted: the audit maps a
//! history back to steps through it, so a state it misses or misplaces would be misreported.

use std::collections::BTreeMap;
use std::path::Path;

use catalog::manifest::Manifest;
use serde_json::Value;

/// Every state of the definition, nested branches included, by name.
fn states(machine: &Value, out: &mut BTreeMap<String, Value>) {
    for (name, state) in machine["States"].as_object().into_iter().flatten() {
        assert!(
            out.insert(name.clone(), state.clone()).is_none(),
            "state name {name} used twice"
        );
        for branch in state["Branches"].as_array().into_iter().flatten() {
            states(branch, out);
        }
    }
}

/// The step a state works for, from what it does: the step in a Lambda payload, or the `$.steps.<id>` it
/// writes. `None` for the shared plumbing (input, guard, `Parallel`s, the failure tail), which includes the
/// Pass that records a step's failure in its branch for the join and ends the branch: the audit reads that
/// failure from the step's own `failed` state before it, as at the top level.
fn worked_for(state: &Value, ids: &[&str]) -> Option<String> {
    let payload = &state["Parameters"]["Payload"]["execution"]["step"];
    if let Some(step) = payload.as_str().filter(|s| *s != "guard") {
        return Some(step.to_owned());
    }
    let records_for_join = state["Type"] == "Pass"
        && state["End"] == true
        && state["Parameters"]["status"] == "failed";
    if records_for_join {
        return None;
    }
    let written = state["ResultPath"].as_str()?;
    ids.iter()
        .find(|id| {
            written == format!("$.steps.{id}") || written.starts_with(&format!("$.steps.{id}."))
        })
        .map(|id| (*id).to_owned())
}

fn check(path: &Path) {
    let source = std::fs::read_to_string(path).expect("fixture readable");
    let compiled = crate::compile(&source, path);
    let definition: Value = serde_json::from_str(&compiled.json).expect("JSON");
    let comment = definition["Comment"].as_str().unwrap_or_default();
    let manifest = Manifest::from_comment(comment)
        .expect("a manifest in the Comment")
        .expect("a manifest that parses");
    let mut all = BTreeMap::new();
    states(&definition, &mut all);

    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for step in &manifest.steps {
        assert!(!step.states.is_empty(), "{}: no states", step.id);
        for state in &step.states {
            assert!(all.contains_key(state), "{}: no state {state}", step.id);
            let previous = owner.insert(state, &step.id);
            assert!(previous.is_none(), "{state} belongs to two steps");
        }
    }
    let ids: Vec<&str> = manifest.steps.iter().map(|s| s.id.as_str()).collect();
    for (name, state) in &all {
        if let Some(step) = worked_for(state, &ids) {
            assert_eq!(
                owner.get(name.as_str()).copied(),
                Some(step.as_str()),
                "{}: state {name} works for {step}",
                path.display()
            );
        }
    }
}

#[test]
fn every_state_of_a_step_maps_back_to_it() {
    let mut count = 0;
    let mut visit = |path: &Path| {
        check(path);
        count += 1;
    };
    insta::glob!("../data", "*.toml", |path| visit(path));
    insta::glob!("../../../examples", "*.toml", |path| visit(path));
    assert!(count >= 9, "fixtures went missing: {count}");
}
