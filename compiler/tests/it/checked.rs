//! The independent checker (`checker.rs`) over every example and fixture, and over random workflows: random
//! DAGs of every action kind, with `when`s, `continue_on_error` and `[on_failure]` steps.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use crate::checker;

/// Checks and compiles `source`, runs the checker on the emitted JSON, and compares its makespan with
/// `plan`'s.
fn check(name: &str, source: &str) -> checker::Report {
    let checked = workflow::check(source);
    let Some(workflow) = checked.workflow else {
        panic!("{name} is not valid: {:#?}\n{source}", checked.diagnostics);
    };
    // `plan` compiles without refusing what is over a Step Functions limit: the lowering is the same.
    let compiled = match compiler::plan(&workflow) {
        Ok(compiled) => compiled,
        Err(errors) => panic!("{name} does not compile: {errors:#?}\n{source}"),
    };
    let definition: serde_json::Value =
        serde_json::from_str(&compiled.json).expect("the definition is JSON");
    let report = checker::check(&definition, &workflow);
    assert!(
        report.violations.is_empty(),
        "{name}: {:#?}\n{source}",
        report.violations
    );
    assert_eq!(
        report.makespan_secs, compiled.plan.makespan_secs,
        "{name}: the checker's makespan is not plan's\n{source}"
    );
    report
}

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in [root.join("../examples"), root.join("tests/data")] {
        for entry in std::fs::read_dir(&dir).expect("readable dir").flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
}

#[test]
fn examples_and_fixtures_pass_the_independent_checker() {
    let paths = sources();
    assert!(paths.len() > 5, "{paths:?}");
    for path in paths {
        let source = std::fs::read_to_string(&path).expect("readable");
        check(&path.display().to_string(), &source);
    }
}

/// The checker finds what it is for: a definition where a step starts before its `after`, one that starts a
/// step twice, an unreachable state, and a makespan that is not the workflow's.
#[test]
fn the_checker_sees_a_broken_lowering() {
    let source = "version = 1\nname = \"pair\"\n\n[steps.a]\naction = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"a\"\n\n\
                  [steps.b]\naction = \"notify\"\nafter = [\"a\"]\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"b\"\n";
    let workflow = workflow::check(source).workflow.expect("valid");
    let compiled = compiler::compile(&workflow, &compiler::Options::default()).expect("compiles");
    let definition: serde_json::Value = serde_json::from_str(&compiled.json).expect("JSON");
    assert!(checker::check(&definition, &workflow).violations.is_empty());

    // b first, then a: b starts before its `after`.
    let mut swapped = definition.clone();
    let states = swapped["States"].as_object_mut().expect("states");
    let a_next = states["a"]["Next"].clone();
    let b_next = states["b"]["Next"].clone();
    let guard = states
        .iter()
        .find(|(_, s)| s["Next"] == "a")
        .map(|(n, _)| n.clone())
        .expect("a state before a");
    let b_end = states["b"].get("End").cloned();
    states[&guard]["Next"] = "b".into();
    states["b"]["Next"] = "a".into();
    remove(&mut states["b"], "End");
    remove(&mut states["a"], "Next");
    if let Some(next) = b_next.as_str() {
        states["a"]["Next"] = next.into();
    }
    if let Some(end) = b_end {
        states["a"]["End"] = end;
    }
    let _ = a_next;
    let violations = checker::check(&swapped, &workflow).violations;
    assert!(
        violations
            .iter()
            .any(|v| v.contains("starts `b` before `a`")),
        "{violations:#?}"
    );

    // a again after b.
    let mut twice = definition.clone();
    let states = twice["States"].as_object_mut().expect("states");
    let mut again = states["a"].clone();
    again["Next"] = states["b"]["Next"].clone();
    if let Some(end) = states["b"].get("End").cloned() {
        remove(&mut again, "Next");
        again["End"] = end;
    }
    states.insert("a again".into(), again);
    remove(&mut states["b"], "End");
    states["b"]["Next"] = "a again".into();
    let violations = checker::check(&twice, &workflow).violations;
    assert!(
        violations
            .iter()
            .any(|v| v.contains("starts step `a` a second time")),
        "{violations:#?}"
    );

    let mut orphan = definition;
    orphan["States"]["Nobody goes here"] = serde_json::json!({ "Type": "Succeed" });
    let violations = checker::check(&orphan, &workflow).violations;
    assert_eq!(violations, ["state `Nobody goes here` is never reached"]);
}

/// The state keeps a step's outputs only when a later step reads them: the checker sees a lowering that drops
/// outputs a step reads.
#[test]
fn the_checker_sees_a_read_output_missing_from_the_state() {
    let source = "version = 1\nname = \"pair\"\n\n[steps.a]\naction = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"a\"\n\n\
                  [steps.b]\naction = \"notify\"\nafter = [\"a\"]\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"after ${steps.a.message_id}\"\n\n\
                  [steps.c]\naction = \"notify\"\nafter = [\"b\"]\ntopic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"c\"\n";
    let workflow = workflow::check(source).workflow.expect("valid");
    let compiled = compiler::compile(&workflow, &compiler::Options::default()).expect("compiles");
    let definition: serde_json::Value = serde_json::from_str(&compiled.json).expect("JSON");
    assert!(checker::check(&definition, &workflow).violations.is_empty());
    let states = &definition["States"];
    assert!(
        states["a"]["ResultSelector"].get("output.$").is_some(),
        "a's outputs are read: kept"
    );
    assert!(
        states["b"]["ResultSelector"].get("output.$").is_none(),
        "b's are not: history only"
    );

    let mut dropped = definition.clone();
    remove(&mut dropped["States"]["a"]["ResultSelector"], "output.$");
    let violations = checker::check(&dropped, &workflow).violations;
    assert!(
        violations.iter().any(
            |v| v.contains("starts `b`, which reads steps.a.message_id, in a state without it")
        ),
        "{violations:#?}"
    );
}

fn remove(state: &mut serde_json::Value, key: &str) {
    if let Some(fields) = state.as_object_mut() {
        fields.remove(key);
    }
}

/// A step of each action kind with valid params; `{id}` makes the resources it changes its own, so that no
/// two random steps change one resource.
const ACTIONS: &[(&str, &str)] = &[
    (
        "notify",
        "topic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"m\"",
    ),
    (
        "approval",
        "topic = \"arn:aws:sns:us-east-1:123456789012:ops\"\nmessage = \"ok?\"",
    ),
    ("rds.snapshot", "instance = \"db-{id}\""),
    (
        "rds.restore",
        "instance = \"db-{id}\"\nsnapshot = \"snap\"\nswap = true\nallow_unguarded = true",
    ),
    (
        "ecs.run_task",
        "cluster = \"c-{id}\"\ntask_definition = \"td\"\ncommand = [\"./migrate\"]",
    ),
    (
        "ecs.deploy",
        "cluster = \"c-{id}\"\nservice = \"s-{id}\"\nimage_tag = \"v1\"",
    ),
    (
        "alb.deregister",
        "target_group = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{id}/0123456789abcdef\"",
    ),
    (
        "alb.register",
        "target_group = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{id}/0123456789abcdef\"\ntargets = [\"i-0123456789abcdef0\"]",
    ),
    ("check.http", "url = \"https://webapp.example.com/health\""),
    ("check.alarms", "alarms = [\"webapp-5xx-rate\"]"),
    (
        "check.metric",
        "namespace = \"AWS/ECS\"\nmetric = \"CPUUtilization\"\ncomparison = \"<\"\nthreshold = 80\nperiods = 3",
    ),
    (
        "ssm.command",
        "instance_ids = [\"i-0123456789abcdef{n}\"]\ncommands = [\"true\"]",
    ),
    ("ec2.image", "instance_id = \"i-0123456789abcdef{n}\""),
    (
        "asg.suspend",
        "group = \"g-{id}\"\nprocesses = [\"Launch\"]",
    ),
    ("asg.resume", "group = \"g-{id}\"\nprocesses = [\"Launch\"]"),
    (
        "check.logs",
        "log_groups = [\"/app\"]\npattern = \"ERROR\"\nwindow = \"5m\"",
    ),
    ("wait", "duration = \"30s\""),
];

const WHENS: &[&str] = &[
    "input.flag",
    "!input.flag",
    "input.mode == 'fast'",
    "input.flag && input.mode != 'slow'",
    "input.other || !input.flag",
];

const ESTIMATES: &[&str] = &["10s", "1m", "4m", "12m"];

#[derive(Debug, Clone)]
struct RandomStep {
    action: usize,
    after: Vec<usize>,
    when: Option<usize>,
    estimate: Option<usize>,
    continue_on_error: bool,
}

fn random_step() -> impl Strategy<Value = RandomStep> {
    (
        0..ACTIONS.len(),
        proptest::collection::vec(0usize..8, 0..3),
        proptest::option::weighted(0.3, 0..WHENS.len()),
        proptest::option::weighted(0.5, 0..ESTIMATES.len()),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(action, after, when, estimate, continue_on_error)| RandomStep {
                action,
                after,
                when,
                estimate,
                continue_on_error,
            },
        )
}

/// The TOML of a random workflow: step `i` comes after steps among the ones before it.
fn render(steps: &[RandomStep], on_failure: &[usize]) -> String {
    let mut text = "version = 1\nname = \"random\"\n\n[input]\n\
                    flag = { type = \"bool\", default = false }\nother = { type = \"bool\", default = true }\n\
                    mode = { type = \"string\", default = \"fast\" }\n\n\
                    [defaults]\ntimeout = \"15m\"\n\n"
        .to_owned();
    let block = |table: &str, id: &str, n: usize, action: usize| {
        let (name, params) = ACTIONS[action];
        format!(
            "[{table}.{id}]\naction = \"{name}\"\n{}\n",
            params
                .replace("{id}", id)
                .replace("{n}", &format!("{:x}", n % 16))
        )
    };
    for (i, step) in steps.iter().enumerate() {
        let id = format!("s{i}");
        text.push_str(&block("steps", &id, i, step.action));
        let mut after: Vec<String> = step
            .after
            .iter()
            .filter(|&&a| a < i)
            .map(|a| format!("\"s{a}\""))
            .collect();
        after.sort();
        after.dedup();
        if !after.is_empty() {
            text.push_str(&format!("after = [{}]\n", after.join(", ")));
        }
        if let Some(when) = step.when {
            text.push_str(&format!("when = \"{}\"\n", WHENS[when]));
        }
        if let Some(estimate) = step.estimate {
            text.push_str(&format!("estimate = \"{}\"\n", ESTIMATES[estimate]));
        }
        if step.continue_on_error {
            text.push_str("continue_on_error = true\n");
        }
        text.push('\n');
    }
    for (i, &action) in on_failure.iter().enumerate() {
        text.push_str(&block("on_failure", &format!("f{i}"), 8 + i, action));
        text.push('\n');
    }
    text
}

/// A workflow of one to seven random steps and up to two `[on_failure]` steps: single tasks and a wait (a
/// polling loop on the failure path is the examples' and fixtures' case).
fn random_workflow() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(random_step(), 1..8),
        proptest::collection::vec(prop_oneof![Just(0usize), Just(14), Just(15)], 0..3),
    )
        .prop_map(|(steps, on_failure)| render(&steps, &on_failure))
}

/// The workflow in `source` and its definition; a random DAG may break a safety rule (E037 and the like), which
/// is `check`'s tests' business, not these.
fn random_definition(
    source: &str,
) -> Result<(workflow::Workflow, serde_json::Value), TestCaseError> {
    let checked = workflow::check(source);
    let Some(workflow) = checked.workflow else {
        let codes: Vec<_> = checked.diagnostics.iter().map(|d| d.code).collect();
        return Err(TestCaseError::reject(format!("{codes:?}")));
    };
    let compiled = compiler::plan(&workflow)
        .map_err(|errors| TestCaseError::fail(format!("{errors:#?}\n{source}")))?;
    let definition = serde_json::from_str(&compiled.json).expect("the definition is JSON");
    Ok((workflow, definition))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("STEPBACK_CHECKER_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(500),
        failure_persistence: None,
        // A failing case is reported after a minute of shrinking at most: each try walks a definition again.
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_workflows_pass_the_independent_checker(source in random_workflow()) {
        random_definition(&source)?;
        check("random", &source);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    })]

    /// The checker tells configurations apart by the data the rest of the walk can read (`liveness`); walking
    /// them apart by all their data finds the same violations and the same makespan, from more configurations.
    #[test]
    fn telling_configurations_apart_by_their_live_data_changes_no_report(source in random_workflow()) {
        let (workflow, definition) = random_definition(&source)?;
        let every_field = checker::walk(&definition, &workflow, checker::Data::All);
        prop_assume!(!every_field.violations.iter().any(|v| v.starts_with("more than")), "over the budget");
        let live = checker::walk(&definition, &workflow, checker::Data::Live);
        prop_assert_eq!(&live.violations, &every_field.violations, "{}", source);
        prop_assert_eq!(live.makespan_secs, every_field.makespan_secs, "{}", source);
        prop_assert!(live.explored <= every_field.explored, "{} > {}", live.explored, every_field.explored);
    }
}

/// Issue 27: the lowering before it failed a branch on a step's failure (`<id>: fail branch`, a `Fail` state),
/// which in Step Functions stops the sibling branches. Its definition of `parallel-failure.toml`, kept as it
/// was emitted: the checker refuses it, since `drain` (or `deploy`, `check`) failing stops `snapshot`, a long
/// step, between its start and its result.
#[test]
fn the_checker_refuses_a_failing_branch_beside_a_long_step() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let source =
        std::fs::read_to_string(root.join("parallel-failure.toml")).expect("readable fixture");
    let workflow = workflow::check(&source).workflow.expect("valid");
    let before: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("before-issue-27/parallel-failure.asl.json"))
            .expect("readable definition"),
    )
    .expect("JSON");
    let violations = checker::check(&before, &workflow).violations;
    let abandoned: Vec<&String> = violations
        .iter()
        .filter(|v| v.contains("while `snapshot` is under way: it is abandoned"))
        .collect();
    assert!(!abandoned.is_empty(), "{violations:#?}");
    // Today's lowering of the same workflow passes.
    check("parallel-failure.toml", &source);
}
