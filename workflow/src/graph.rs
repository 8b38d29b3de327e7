//! The DAG of `after` dependencies: unknown ids, self-references and cycles are reported here.

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::raw::RawStep;
use crate::syntax::{Sink, did_you_mean};
use crate::{Code, Diagnostic};

/// Builds the DAG of `[steps]`; `None` when it has a cycle (reported).
pub fn build(steps: &[RawStep<'_, '_>], sink: &mut Sink) -> Option<DiGraph<usize, ()>> {
    let mut dag = DiGraph::with_capacity(steps.len(), steps.len());
    for index in 0..steps.len() {
        dag.add_node(index);
    }
    for (index, step) in steps.iter().enumerate() {
        for (after, span) in &step.after {
            if *after == step.id {
                sink.push(
                    Diagnostic::new(
                        Code::SelfDependency,
                        span.clone(),
                        format!("step `{after}` is after itself"),
                    )
                    .label("self-reference")
                    .help("remove it from `after`"),
                );
                continue;
            }
            match steps.iter().position(|s| s.id == *after) {
                Some(before) => {
                    let (a, b) = (NodeIndex::new(before), NodeIndex::new(index));
                    if dag.find_edge(a, b).is_none() {
                        dag.add_edge(a, b, ());
                    }
                }
                None => {
                    let help = did_you_mean(after, steps.iter().map(|s| s.id.as_str()))
                        .unwrap_or_else(|| "`after` lists ids of [steps.<id>] tables".into());
                    sink.push(
                        Diagnostic::new(
                            Code::UnknownStep,
                            span.clone(),
                            format!("unknown step `{after}` in `after`"),
                        )
                        .label("no such step")
                        .help(help),
                    );
                }
            }
        }
    }
    let mut acyclic = true;
    for component in tarjan_scc(&dag) {
        if component.len() < 2 {
            continue;
        }
        acyclic = false;
        let cycle = find_cycle(&dag, &component);
        let names: Vec<&str> = cycle.iter().map(|n| steps[n.index()].id.as_str()).collect();
        let first = &steps[cycle[0].index()];
        let mut diagnostic = Diagnostic::new(
            Code::Cycle,
            first.after_span.clone().unwrap_or(first.id_span.clone()),
            format!(
                "steps depend on each other in a cycle: {} → {}",
                names.join(" → "),
                names[0]
            ),
        )
        .label(format!(
            "`{}` waits for `{}`",
            names[0],
            names[names.len() - 1]
        ));
        for pair in cycle.windows(2) {
            let step = &steps[pair[1].index()];
            if let Some(span) = &step.after_span {
                diagnostic = diagnostic.related(
                    span.clone(),
                    format!("`{}` waits for `{}`", step.id, steps[pair[0].index()].id),
                );
            }
        }
        sink.push(diagnostic.help("remove one of these `after` entries"));
    }
    acyclic.then_some(dag)
}

/// A cycle through the strongly connected `component`, starting at its first-declared step, in edge order.
fn find_cycle(dag: &DiGraph<usize, ()>, component: &[NodeIndex]) -> Vec<NodeIndex> {
    let start = component.iter().copied().min().unwrap_or_default();
    let mut path = vec![start];
    let mut seen = vec![start];
    // Every node of a strongly connected component reaches `start`; walk, preferring unseen members.
    while let Some(&here) = path.last() {
        let mut next: Vec<NodeIndex> = dag
            .neighbors(here)
            .filter(|n| component.contains(n))
            .collect();
        next.sort();
        if next.contains(&start) {
            break;
        }
        match next.into_iter().find(|n| !seen.contains(n)) {
            Some(n) => {
                seen.push(n);
                path.push(n);
            }
            None => {
                path.pop();
                if path.is_empty() {
                    break;
                }
            }
        }
    }
    path
}

/// For each step, the set of steps that finish before it starts (transitively).
pub struct Ancestors {
    words: usize,
    bits: Vec<u64>,
}

impl Ancestors {
    pub fn of(dag: &DiGraph<usize, ()>) -> Ancestors {
        let n = dag.node_count();
        let words = n.div_ceil(64);
        let mut bits = vec![0u64; n * words];
        let order = toposort(dag, None).unwrap_or_default();
        for node in order {
            let v = node.index();
            for parent in dag.neighbors_directed(node, petgraph::Direction::Incoming) {
                let u = parent.index();
                for w in 0..words {
                    let word = bits[u * words + w];
                    bits[v * words + w] |= word;
                }
                bits[v * words + u / 64] |= 1 << (u % 64);
            }
        }
        Ancestors { words, bits }
    }

    /// Whether `ancestor` always finishes before `step` starts.
    pub fn is_ancestor(&self, ancestor: usize, step: usize) -> bool {
        self.bits
            .get(step * self.words + ancestor / 64)
            .is_some_and(|word| word & (1 << (ancestor % 64)) != 0)
    }

    pub fn of_step(&self, step: usize) -> impl Iterator<Item = usize> + '_ {
        let count = self.bits.len() / self.words.max(1);
        (0..count).filter(move |&a| self.is_ancestor(a, step))
    }
}
