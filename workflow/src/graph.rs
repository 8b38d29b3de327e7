//! The DAG of `after` dependencies: unknown ids, self-references and cycles are reported here.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use fixedbitset::FixedBitSet;
use petgraph::Direction::Incoming;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::codes;
use crate::raw::RawStep;
use crate::syntax::{Sink, did_you_mean};

/// Builds the DAG of `[steps]`; `None` when it has a cycle (reported).
pub fn build(steps: &[RawStep<'_, '_>], sink: &mut Sink) -> Option<Dag> {
    let mut dag = DiGraph::with_capacity(steps.len(), steps.len());
    for _ in steps {
        dag.add_node(());
    }
    for (index, step) in steps.iter().enumerate() {
        for (after, span) in &step.after {
            if *after == step.id {
                sink.push(codes::self_dependency(span.clone(), after));
                continue;
            }
            match steps.iter().position(|s| s.id == *after) {
                Some(before) => {
                    dag.update_edge(NodeIndex::new(before), NodeIndex::new(index), ());
                }
                None => {
                    let suggestion = did_you_mean(after, steps.iter().map(|s| s.id.as_str()));
                    sink.push(codes::unknown_step(span.clone(), after, suggestion));
                }
            }
        }
    }
    let dag = match Dag::acyclic(dag) {
        Ok(dag) => return Some(dag),
        Err(dag) => dag,
    };
    // Self-references were left out above, so every cycle has two steps or more.
    for component in tarjan_scc(&dag) {
        if component.len() < 2 {
            continue;
        }
        let cycle = find_cycle(&dag, &component);
        let names: Vec<&str> = cycle.iter().map(|n| steps[n.index()].id.as_str()).collect();
        let first = &steps[cycle[0].index()];
        let waits = cycle
            .windows(2)
            .filter_map(|pair| {
                let step = &steps[pair[1].index()];
                let label = format!("`{}` waits for `{}`", step.id, steps[pair[0].index()].id);
                step.after_span.clone().map(|span| (span, label))
            })
            .collect();
        let span = first.after_span.clone().unwrap_or(first.id_span.clone());
        sink.push(codes::cycle(span, &names, waits));
    }
    None
}

/// A cycle through the strongly connected `component`, starting at its first-declared step, in edge order.
fn find_cycle(dag: &DiGraph<(), ()>, component: &[NodeIndex]) -> Vec<NodeIndex> {
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

/// The step DAG, built once and read by every later stage: edge `a → b` when `b` is `after` `a`; node `i` is
/// `steps[i]`.
#[derive(Clone, Debug)]
pub struct Dag {
    graph: DiGraph<(), ()>,
    /// Kahn's order, taking the smallest ready index first, so that it follows declaration order.
    order: Vec<usize>,
    /// `position[v]`: `v`'s place in `order`.
    position: Vec<usize>,
    ancestors: Ancestors,
}

impl Dag {
    /// The DAG of `len` steps and `(before, after)` edges; `None` when an edge names a step out of range or
    /// the edges form a cycle. Repeated edges count once.
    pub fn new(len: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Option<Dag> {
        let mut graph = DiGraph::with_capacity(len, len);
        for _ in 0..len {
            graph.add_node(());
        }
        for (a, b) in edges {
            if a >= len || b >= len {
                return None;
            }
            graph.update_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
        Dag::acyclic(graph).ok()
    }

    /// The graph's order and ancestors, or the graph back when it has a cycle (a self-loop is one).
    fn acyclic(graph: DiGraph<(), ()>) -> Result<Dag, DiGraph<(), ()>> {
        let len = graph.node_count();
        let mut indegree: Vec<usize> = (0..len)
            .map(|v| {
                graph
                    .neighbors_directed(NodeIndex::new(v), Incoming)
                    .count()
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<usize>> = (0..len)
            .filter(|&v| indegree[v] == 0)
            .map(Reverse)
            .collect();
        let mut order = Vec::with_capacity(len);
        while let Some(Reverse(v)) = ready.pop() {
            order.push(v);
            for w in graph.neighbors(NodeIndex::new(v)) {
                indegree[w.index()] -= 1;
                if indegree[w.index()] == 0 {
                    ready.push(Reverse(w.index()));
                }
            }
        }
        if order.len() != len {
            return Err(graph);
        }
        let mut position = vec![0; len];
        for (place, &v) in order.iter().enumerate() {
            position[v] = place;
        }
        let ancestors = Ancestors::of(&graph, &order);
        Ok(Dag {
            graph,
            order,
            position,
            ancestors,
        })
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn graph(&self) -> &DiGraph<(), ()> {
        &self.graph
    }

    /// A topological order: every step after all of its ancestors, otherwise in declaration order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// `step`'s place in [`Dag::order`].
    pub fn position(&self, step: usize) -> usize {
        self.position.get(step).copied().unwrap_or_default()
    }

    /// Every `(before, after)` edge, in the order the `after` lists give them.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.graph
            .raw_edges()
            .iter()
            .map(|e| (e.source().index(), e.target().index()))
    }

    /// The steps directly `after` `step`.
    pub fn successors(&self, step: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph
            .neighbors(NodeIndex::new(step))
            .map(|n| n.index())
    }

    /// The steps `step` is directly `after`.
    pub fn predecessors(&self, step: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph
            .neighbors_directed(NodeIndex::new(step), Incoming)
            .map(|n| n.index())
    }

    pub fn has_edge(&self, before: usize, after: usize) -> bool {
        self.graph
            .contains_edge(NodeIndex::new(before), NodeIndex::new(after))
    }

    pub fn ancestors(&self) -> &Ancestors {
        &self.ancestors
    }
}

/// For each step, the set of steps that finish before it starts (transitively).
#[derive(Clone, Debug)]
pub struct Ancestors(Vec<FixedBitSet>);

impl Ancestors {
    fn of(graph: &DiGraph<(), ()>, order: &[usize]) -> Ancestors {
        let len = graph.node_count();
        let mut sets = vec![FixedBitSet::with_capacity(len); len];
        for &step in order {
            for parent in graph.neighbors_directed(NodeIndex::new(step), Incoming) {
                let parent = parent.index();
                // A parent comes earlier in the order, so its set is complete; take it out to read it while
                // `step`'s set is borrowed mutably.
                let inherited = std::mem::take(&mut sets[parent]);
                sets[step].union_with(&inherited);
                sets[parent] = inherited;
                sets[step].insert(parent);
            }
        }
        Ancestors(sets)
    }

    /// Whether `ancestor` always finishes before `step` starts.
    pub fn is_ancestor(&self, ancestor: usize, step: usize) -> bool {
        self.0.get(step).is_some_and(|set| set.contains(ancestor))
    }

    /// `step`'s ancestors, in declaration order.
    pub fn of_step(&self, step: usize) -> impl Iterator<Item = usize> + '_ {
        self.0.get(step).into_iter().flat_map(FixedBitSet::ones)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_and_out_of_range_edges_are_rejected() {
        assert!(Dag::new(2, [(0, 1), (1, 0)]).is_none());
        assert!(Dag::new(1, [(0, 0)]).is_none());
        assert!(Dag::new(2, [(0, 2)]).is_none());
    }

    /// Among the steps that are ready, the first declared goes first; ancestors are transitive.
    #[test]
    fn order_follows_declaration_and_ancestors_are_transitive() {
        // 0 → 2, 1 alone, 2 → 3: 1 is declared before 2 but 2 is ready only after 0.
        let dag = Dag::new(4, [(0, 2), (2, 3), (0, 2)]).expect("a DAG");
        assert_eq!(dag.order(), [0, 1, 2, 3]);
        let dag = Dag::new(4, [(3, 0), (2, 1)]).expect("a DAG");
        assert_eq!(dag.order(), [2, 1, 3, 0]);
        assert_eq!(dag.position(0), 3);
        let chain = Dag::new(4, [(0, 1), (1, 2)]).expect("a DAG");
        assert_eq!(chain.ancestors().of_step(2).collect::<Vec<_>>(), [0, 1]);
        assert!(chain.ancestors().is_ancestor(0, 2));
        assert!(!chain.ancestors().is_ancestor(3, 2));
        assert_eq!(chain.edges().collect::<Vec<_>>(), [(0, 1), (1, 2)]);
    }
}
