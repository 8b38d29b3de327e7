//! `cargo bench -p compiler --bench compile`: compile time of generated workflows of 10 to 5,000 steps, and
//! the makespan ratio of the series-parallel lowering against the level-by-level baseline on seeded random
//! DAGs. A plain bench command (no criterion) to keep the build small on shared CI cores.

use std::time::{Duration, Instant};

use compiler::schedule::{Dag, schedule};

/// A small deterministic generator (SplitMix64), so that every run sees the same workflows and DAGs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A workflow of `n` steps: each after one to three of the eight steps before it, a mix of waits, notifies
/// with templates, HTTP checks (polling loops) and conditions.
fn workflow_source(n: usize, rng: &mut Rng) -> String {
    let mut out = String::from(
        "version = 1\nname = \"generated\"\n\n[input]\nflag = { type = \"bool\", default = false }\n\n[defaults]\nretry = { attempts = 0 }\n\n",
    );
    for i in 0..n {
        out.push_str(&format!("[steps.s{i}]\n"));
        if i > 0 {
            let mut after: Vec<usize> = (0..1 + rng.below(3))
                .map(|_| i - 1 - rng.below(i.min(8) as u64) as usize)
                .collect();
            after.sort_unstable();
            after.dedup();
            let after: Vec<String> = after.iter().map(|a| format!("\"s{a}\"")).collect();
            out.push_str(&format!("after = [{}]\n", after.join(", ")));
        }
        match rng.below(10) {
            0 => out.push_str("action = \"check.http\"\nurl = \"https://example.com/health\"\ntimeout = \"2m\"\n"),
            1..=3 => out.push_str(&format!(
                "action = \"notify\"\ntopic = \"arn:aws:sns:us-east-1:123456789012:t\"\nmessage = \"step {i} of ${{execution.name}}\"\n"
            )),
            _ => out.push_str(&format!("action = \"wait\"\nduration = \"{}s\"\n", 1 + rng.below(60))),
        }
        if rng.below(8) == 0 {
            out.push_str("when = \"input.flag\"\n");
        }
        out.push('\n');
    }
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn bench_compile() {
    println!(
        "compile time (median of runs; check = parse + validate, compile = schedule + lower + checks + JSON)"
    );
    println!(
        "{:>6} {:>10} {:>10} {:>12} {:>9} {:>8} {:>9}",
        "steps", "check", "compile", "compile/step", "states", "events", "bytes"
    );
    for n in [10usize, 100, 1_000, 5_000] {
        let source = workflow_source(n, &mut Rng(n as u64));
        let runs = if n >= 1_000 { 5 } else { 30 };
        let (mut checks, mut compiles) = (Vec::new(), Vec::new());
        let mut summary = (String::new(), String::new(), String::new());
        for _ in 0..runs {
            let started = Instant::now();
            let checked = workflow::check(&source);
            checks.push(started.elapsed());
            let Some(workflow) = checked.workflow else {
                panic!(
                    "generated workflow of {n} steps is invalid: {:?}",
                    checked.diagnostics.first()
                );
            };
            let started = Instant::now();
            let compiled = compiler::compile(&workflow, &compiler::Options::default());
            compiles.push(started.elapsed());
            // Over a limit, compile does all the work and then refuses: the time is the same.
            summary = match compiled {
                Ok(c) => (
                    c.json.matches("\"Type\"").count().to_string(),
                    c.plan.total_events.to_string(),
                    c.plan.definition_bytes.to_string(),
                ),
                Err(errors) => match compiler::plan(&workflow) {
                    Ok(unrefused) => refused(n, &errors, &unrefused.plan),
                    Err(_) => {
                        panic!("generated workflow of {n} steps does not compile: {errors:?}")
                    }
                },
            };
        }
        let compile = median(compiles);
        println!(
            "{n:>6} {:>10.2?} {:>10.2?} {:>12.2?} {:>9} {:>8} {:>9}",
            median(checks),
            compile,
            compile / n as u32,
            summary.0,
            summary.1,
            summary.2
        );
    }
}

/// `("refused", events, bytes)` when every error is a limit, with the figures of the limits exceeded ("-" for
/// a limit that was not); any other error is a bug in the generator or the compiler.
fn refused(
    n: usize,
    errors: &[compiler::CompileError],
    plan: &compiler::Plan,
) -> (String, String, String) {
    let (mut events, mut bytes) = ("-".to_owned(), "-".to_owned());
    for error in errors {
        match error {
            compiler::CompileError::Limit(d) if d.code == workflow::Code::HistoryBudget => {
                events = plan.total_events.to_string();
            }
            compiler::CompileError::Limit(d) if d.code == workflow::Code::DefinitionSize => {
                bytes = plan.definition_bytes.to_string();
            }
            _ => panic!("generated workflow of {n} steps does not compile: {errors:?}"),
        }
    }
    ("refused".to_owned(), events, bytes)
}

/// A random DAG: each node after each earlier node with probability `density`, estimates 10 s to 30 min.
fn random_dag(n: usize, density: u64, rng: &mut Rng) -> (workflow::Dag, Vec<u64>) {
    let weights = (0..n).map(|_| 10 + rng.below(1_790)).collect();
    let mut edges = Vec::new();
    for b in 1..n {
        for a in b.saturating_sub(6)..b {
            if rng.below(100) < density {
                edges.push((a, b));
            }
        }
    }
    let dag = workflow::Dag::new(n, edges).unwrap_or_else(|| unreachable!("edges go forward"));
    (dag, weights)
}

/// A random series-parallel DAG, built by composing random subgraphs.
fn random_sp_dag(n: usize, rng: &mut Rng) -> (workflow::Dag, Vec<u64>) {
    // Each part: (sources, sinks) over node ids; compose until one part is left.
    let mut parts: Vec<(Vec<usize>, Vec<usize>)> = (0..n).map(|i| (vec![i], vec![i])).collect();
    let mut edges = Vec::new();
    while parts.len() > 1 {
        let b = parts.swap_remove(rng.below(parts.len() as u64) as usize);
        let a = parts.swap_remove(rng.below(parts.len() as u64) as usize);
        if rng.below(2) == 0 {
            for &x in &a.1 {
                for &y in &b.0 {
                    edges.push((x, y));
                }
            }
            parts.push((a.0, b.1));
        } else {
            parts.push(([a.0, b.0].concat(), [a.1, b.1].concat()));
        }
    }
    let weights = (0..n).map(|_| 10 + rng.below(1_790)).collect();
    // Node ids are not in topological order here; `Dag::new` sorts them.
    let dag = workflow::Dag::new(n, edges)
        .unwrap_or_else(|| unreachable!("series composition never closes a cycle"));
    (dag, weights)
}

fn bench_makespan() {
    println!();
    println!("makespan / critical path, 200 seeded DAGs per row (mean, worst)");
    println!(
        "{:<28} {:>15} {:>15} {:>8}",
        "DAGs", "series-parallel", "level by level", "edges+"
    );
    let rows: [(&str, usize, Option<u64>); 6] = [
        ("series-parallel, 20 steps", 20, None),
        ("series-parallel, 200 steps", 200, None),
        ("random, 12 steps, p=0.3", 12, Some(30)),
        ("random, 30 steps, p=0.3", 30, Some(30)),
        ("random, 30 steps, p=0.6", 30, Some(60)),
        ("random, 200 steps, p=0.3", 200, Some(30)),
    ];
    for (label, n, density) in rows {
        let mut rng = Rng(n as u64 * 1_000 + density.unwrap_or(0));
        let (mut sp, mut level, mut added) = (Vec::new(), Vec::new(), 0usize);
        for _ in 0..200 {
            let (graph, weights) = match density {
                Some(d) => random_dag(n, d, &mut rng),
                None => random_sp_dag(n, &mut rng),
            };
            let dag = Dag::new(&graph, &weights);
            let (_, critical) = dag.critical_path();
            let schedule = schedule(&dag);
            let makespan = schedule
                .tree
                .as_ref()
                .map_or(0, |t| t.makespan(dag.weights()));
            sp.push(compiler::ratio(makespan, critical));
            level.push(compiler::ratio(dag.level_makespan(), critical));
            added += schedule.added_edges.len();
        }
        let stats = |v: &[f64]| {
            (
                v.iter().sum::<f64>() / v.len() as f64,
                v.iter().copied().fold(0.0, f64::max),
            )
        };
        let (sp_mean, sp_max) = stats(&sp);
        let (level_mean, level_max) = stats(&level);
        println!(
            "{label:<28} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>8.1}",
            sp_mean,
            sp_max,
            level_mean,
            level_max,
            added as f64 / 200.0
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported and is ignored.
    bench_compile();
    bench_makespan();
}
