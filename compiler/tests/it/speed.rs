//! A rehearsal's machine (`Options::speed`): what waits for time or a person runs faster, what runs in real time
//! keeps its bound. (The seed's poll waits travel in the state data; the rehearsal tests cover those.)

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// Every state of a definition by name, `Parallel` branches included.
fn collect_states(definition: &Value, into: &mut BTreeMap<String, Value>) {
    let Some(states) = definition["States"].as_object() else {
        return;
    };
    for (name, state) in states {
        for branch in state["Branches"].as_array().into_iter().flatten() {
            collect_states(branch, into);
        }
        into.insert(name.clone(), state.clone());
    }
}

fn compiled_states(speed: u64) -> BTreeMap<String, Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/webapp-rollback.toml");
    let source = std::fs::read_to_string(&path).expect("the seed example reads");
    let workflow = workflow::check(&source)
        .workflow
        .expect("the seed example is valid");
    let options = compiler::Options {
        speed,
        ..compiler::Options::default()
    };
    let compiled = compiler::compile(&workflow, &options).expect("the seed example compiles");
    let definition: Value = serde_json::from_str(&compiled.json).expect("the definition is JSON");
    let mut by_name = BTreeMap::new();
    collect_states(&definition, &mut by_name);
    by_name
}

#[test]
fn a_rehearsal_scales_retry_intervals_and_approval_timeouts_but_not_an_invocations_timeout() {
    let real = compiled_states(1);
    let rehearsed = compiled_states(300);
    assert_eq!(
        real.keys().collect::<Vec<_>>(),
        rehearsed.keys().collect::<Vec<_>>()
    );
    let (mut approvals, mut invocations, mut intervals) = (0, 0, 0);
    for (name, state) in &real {
        let sped = &rehearsed[name];
        if let Some(timeout) = state["TimeoutSeconds"].as_u64() {
            let expected = if state["Resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(".waitForTaskToken"))
            {
                approvals += 1;
                timeout.div_ceil(300)
            } else {
                invocations += 1;
                timeout
            };
            assert_eq!(sped["TimeoutSeconds"].as_u64(), Some(expected), "{name}");
        }
        let retries = state["Retry"].as_array().into_iter().flatten();
        for (retrier, sped) in retries.zip(sped["Retry"].as_array().into_iter().flatten()) {
            intervals += 1;
            let interval = retrier["IntervalSeconds"].as_u64().expect("an interval");
            assert_eq!(
                sped["IntervalSeconds"].as_u64(),
                Some(interval.div_ceil(300)),
                "{name}"
            );
        }
    }
    // The seed has two approvals (approve_restore, sign_off) and a guard and notifications among its invocations.
    assert_eq!(approvals, 2);
    assert!(invocations >= 4, "{invocations} invocations with a timeout");
    assert!(intervals >= 4, "{intervals} retry intervals");
}
