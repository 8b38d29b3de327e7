//! Feature tests through `check(input, expect)`: a workflow in, the plan summary out.

use std::path::Path;

fn check(steps: &str, expect: &str) {
    let source = format!("version = 1\nname = \"shape\"\n\n{steps}");
    let compiled = crate::compile(&source, Path::new("<shape>"));
    let summary = crate::summary(&compiled.plan);
    let head: Vec<&str> = summary.lines().take(expect.lines().count()).collect();
    assert_eq!(head.join("\n"), expect.trim(), "\nfull summary:\n{summary}");
}

pub fn wait(id: &str, after: &[&str], minutes: u32) -> String {
    let after: Vec<String> = after.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "[steps.{id}]\naction = \"wait\"\nafter = [{}]\nduration = \"{minutes}m\"\nestimate = \"{minutes}m\"\n\n",
        after.join(", ")
    )
}

#[test]
fn independent_steps_run_at_the_same_time() {
    check(
        &(wait("a", &[], 1) + &wait("b", &[], 2)),
        "structure: (a | b)\nadded: none",
    );
}

#[test]
fn series_parallel_dags_lose_nothing() {
    let dag = wait("a", &[], 1)
        + &wait("b", &["a"], 3)
        + &wait("c", &["a"], 1)
        + &wait("d", &["c"], 1)
        + &wait("e", &["b", "d"], 1);
    check(
        &dag,
        "structure: (a ; (b | (c ; d)) ; e)\nadded: none\ncritical: a -> b -> e (300s)\nmakespan: 300s (ratio 1.00, levels 1.20)",
    );
}

#[test]
fn the_n_shape_gets_the_cheapest_edge() {
    let n =
        wait("a", &[], 1) + &wait("b", &[], 1) + &wait("c", &["a", "b"], 1) + &wait("d", &["b"], 5);
    check(
        &n,
        "structure: ((a | b) ; (c | d))\nadded: a -> d\ncritical: b -> d (360s)\nmakespan: 360s (ratio 1.00, levels 1.00)",
    );
}

#[test]
fn redundant_edges_do_not_hide_parallelism() {
    let dag = wait("a", &[], 1)
        + &wait("b", &["a"], 1)
        + &wait("c", &["a", "b"], 1)
        + &wait("d", &["a"], 1);
    check(&dag, "structure: (a ; ((b ; c) | d))\nadded: none");
}
