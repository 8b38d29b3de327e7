//! What `stepback plan` shows people: each step's start and end in the compiled machine, the run with the
//! default input, and the machine's own check of its input.

use std::path::Path;

use crate::shapes::wait;

/// `a 0s-1m` per step in start order, then the default run.
fn check(source: &str, expect: &str) {
    let source = format!("version = 1\nname = \"plan\"\n\n{source}");
    let plan = crate::compile(&source, Path::new("<plan>")).plan;
    let human = workflow::duration::format;
    let mut shown: Vec<String> = plan
        .timeline
        .iter()
        .map(|t| format!("{} {}-{}", t.step, human(t.start_secs), human(t.end_secs)))
        .collect();
    shown.push(format!(
        "default run {} skipping [{}]",
        human(plan.default_run.makespan_secs),
        plan.default_run.skipped.join(", ")
    ));
    assert_eq!(shown.join("\n"), expect.trim());
}

#[test]
fn steps_start_when_their_nesting_lets_them() {
    // The N shape nests as ((a | b) ; (c | d)): d waits for a too, an edge the compiler added.
    let n =
        wait("a", &[], 1) + &wait("b", &[], 1) + &wait("c", &["a", "b"], 1) + &wait("d", &["b"], 5);
    check(
        &n,
        "a 0s-1m\nb 0s-1m\nc 1m-2m\nd 1m-6m\ndefault run 6m skipping []",
    );
}

#[test]
fn the_default_input_skips_what_it_turns_off() {
    let source =
        "[input]\nrestore = { type = \"bool\", default = false }\nto = { type = \"string\" }\n\n"
        .to_owned()
        + &wait("drain", &[], 2)
        + "[steps.restore]\naction = \"wait\"\nafter = [\"drain\"]\nwhen = \"input.restore\"\nduration = \"20m\"\nestimate = \"20m\"\n\n"
        // A required input has no default: whether this step runs is not known, so it counts.
        + "[steps.check]\naction = \"wait\"\nafter = [\"restore\"]\nwhen = \"input.to != 'v1' && !input.restore\"\nduration = \"3m\"\nestimate = \"3m\"\n\n"
        + "[steps.maybe]\naction = \"wait\"\nafter = [\"check\"]\nwhen = \"input.to == 'v1'\"\nduration = \"1m\"\nestimate = \"1m\"\n";
    check(
        &source,
        "drain 0s-2m\nrestore 2m-22m\ncheck 22m-25m\nmaybe 25m-26m\ndefault run 6m skipping [restore]",
    );
}

/// A required string input must not be empty: the machine's input check refuses `""` after the type test.
#[test]
fn an_empty_required_string_is_refused() {
    let source = "version = 1\nname = \"inputs\"\n\n[input]\nto_version = { type = \"string\" }\n\
                  note = { type = \"string\", default = \"\" }\n\n[steps.pause]\naction = \"wait\"\n\
                  when = \"input.to_version != input.note\"\nduration = \"1m\"\n";
    let compiled = crate::compile(source, Path::new("<inputs>"));
    let definition: serde_json::Value =
        serde_json::from_str(&compiled.json).expect("the definition is JSON");
    let choices = definition["States"]["Input: validate"]["Choices"]
        .as_array()
        .expect("the input check");
    let rules: Vec<String> = choices
        .iter()
        .map(|choice| {
            let mut rule = choice.clone();
            let next = rule.as_object_mut().and_then(|o| o.remove("Next"));
            let next = next.as_ref().and_then(|n| n.as_str()).unwrap_or_default();
            let cause = definition["States"][next]["Cause"]
                .as_str()
                .unwrap_or_default();
            format!("{rule} -> {cause}")
        })
        .collect();
    assert_eq!(
        rules,
        [
            r#"{"Not":{"Variable":"$.input.to_version","IsPresent":true}} -> input `to_version` is required (string)"#,
            r#"{"Not":{"Variable":"$.input.to_version","IsString":true}} -> input `to_version` must be a string"#,
            r#"{"Variable":"$.input.to_version","StringEquals":""} -> input `to_version` is required and must not be empty"#,
            r#"{"Not":{"Variable":"$.input.note","IsString":true}} -> input `note` must be a string"#,
        ]
    );
}

/// Every long step of the examples sees its operation end within a tenth of its duration (at least 10 s),
/// for any duration from a quarter of its estimate to 4×; the seed's nominal history stays under 2,000 events.
#[test]
fn polls_see_the_end_soon_for_any_duration_near_the_estimate() {
    for example in ["webapp-rollback", "ec2-compose-rollback"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(format!("{example}.toml"));
        let source = std::fs::read_to_string(&path).expect("example readable");
        let plan = crate::compile(&source, &path).plan;
        assert!(!plan.detection.is_empty(), "{example} has long steps");
        for (step, detection) in &plan.detection {
            assert!(detection.met, "{example}: {step}: {detection:?}");
        }
        if example == "webapp-rollback" {
            assert!(plan.nominal_events < 2_000, "{}", plan.nominal_events);
        }
    }
}

/// A bake period that watches alarms for a day compiles: its polls thin out, 80 of them.
#[test]
fn a_day_long_check_compiles() {
    let source = "version = 1\nname = \"bake\"\n\n[steps.bake]\naction = \"check.alarms\"\n\
                  alarms = [\"webapp-5xx-rate\"]\nestimate = \"1m\"\ntimeout = \"24h\"\n";
    let plan = crate::compile(source, Path::new("<bake>")).plan;
    let [(step, detection)] = plan.detection.as_slice() else {
        panic!("one long step: {:?}", plan.detection);
    };
    assert_eq!(step, "bake");
    assert!(detection.met, "{detection:?}");
    assert!(detection.polls < 100, "{detection:?}");
    assert!(plan.total_events < 1_500, "{}", plan.total_events);
}
