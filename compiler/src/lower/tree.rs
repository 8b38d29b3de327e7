//! The schedule tree: a series in order, a `Parallel` for branches (each handed what it reads, its failures
//! recorded and raised after the join), and the merge of their results.

use std::collections::BTreeSet;

use catalog::Runtime;
use catalog::manifest::StatePart;
use serde_json::{Map, Value as Json, json};

use super::failure::{failure_record, raised};
use super::poll::computed;
use super::{Lowering, Route, Scope};
use crate::asl::{
    Catcher, Choice, ChoiceRule, Parallel, Pass, ResultPath, Rule, State, StateMachine, States,
    Test, Transition, TypeTest,
};
use crate::payload::step_path;
use crate::schedule::Tree;
use crate::{CompileError, events};

impl Lowering<'_> {
    pub(super) fn lower_tree(
        &mut self,
        scope: &mut Scope,
        tree: &Tree,
        next: &Transition,
    ) -> String {
        match tree {
            Tree::Step(i) => match self.workflow.steps.get(*i) {
                Some(step) => {
                    let route = if step.continue_on_error {
                        Route::Record
                    } else {
                        Route::Abort
                    };
                    self.lower_step(scope, step, next, route)
                }
                None => {
                    self.errors
                        .push(CompileError::Internal(format!("no step {i}")));
                    String::new()
                }
            },
            Tree::Series(children) => {
                let mut next = next.clone();
                for child in children.iter().rev() {
                    next = Transition::Next(self.lower_tree(scope, child, &next));
                }
                match next {
                    Transition::Next(entry) => entry,
                    Transition::End => String::new(),
                }
            }
            Tree::Parallel(children) => self.lower_parallel(scope, children, next),
        }
    }

    pub(super) fn lower_parallel(
        &mut self,
        scope: &mut Scope,
        children: &[Tree],
        next: &Transition,
    ) -> String {
        let ids: Vec<&str> = children
            .iter()
            .flat_map(Tree::steps)
            .filter_map(|i| self.step_id(i))
            .collect();
        let name = self.fresh(&format!("Parallel: {}", ids.join(", ")));
        let title = name.trim_end_matches(['.', ' ']).to_owned();
        let merge_name = self.fresh(&format!("{title}: merge"));
        let (transition, output_path) = scope.exit(next);
        scope.states.push((
            merge_name.clone(),
            State::Pass(Pass {
                comment: Some("fold the branches' step results into $.steps".to_owned()),
                parameters: Some(merged_state()),
                output_path,
                ..Pass::to(transition)
            }),
        ));
        let mut branches = Vec::with_capacity(children.len());
        let mut reads = BTreeSet::new();
        for child in children {
            let mut branch = Scope {
                states: Vec::new(),
                in_branch: true,
            };
            let outside = self.outside_reads(child);
            let end = if outside.is_empty() {
                Transition::End
            } else {
                Transition::Next(self.lower_hand_back(&mut branch, child))
            };
            let start_at = self.lower_tree(&mut branch, child, &end);
            reads.extend(outside);
            branches.push(StateMachine {
                comment: None,
                start_at,
                states: States(branch.states),
            });
        }
        let joined = self.lower_join(scope, children, &title, merge_name);
        let mut steps = Map::new();
        for id in reads {
            steps.insert(format!("{id}.$"), Json::String(step_path(&id, "")));
        }
        let catch = if scope.in_branch {
            // Every error inside a branch is caught there; the Parallel's own plumbing reads only what it was
            // given, so a nested one needs no Catch.
            Vec::new()
        } else {
            self.parallel_catchers(scope, &name)
        };
        self.overhead_events += events::PARALLEL + events::PASS;
        self.overhead_nominal += events::PARALLEL + events::PASS;
        scope.states.push((
            name.clone(),
            State::Parallel(Parallel {
                comment: Some(format!(
                    "{} branches with no order between them",
                    children.len()
                )),
                branches,
                parameters: Some(json!({ "input.$": "$.input", "steps": steps })),
                result_selector: Some(json!({ "merged.$": merge_expression(children.len()) })),
                result_path: Some(ResultPath::At("$.branches".to_owned())),
                output_path: None,
                catch,
                transition: Transition::Next(joined),
            }),
        ));
        name
    }

    /// After the join: a Choice that raises the first failure a branch recorded (`$.steps.<id>.failure`, in
    /// declaration order), with every branch's results folded in, so the failure path sees what completed. At
    /// the top level it goes to the failure path; in a branch it ends the branch, for the next join to raise.
    pub(super) fn lower_join(
        &mut self,
        scope: &mut Scope,
        children: &[Tree],
        title: &str,
        merge: String,
    ) -> String {
        let mut aborting: Vec<usize> = children
            .iter()
            .flat_map(Tree::steps)
            .filter(|&i| {
                self.step_id(i)
                    .is_some_and(|id| self.recorded_in_branch.contains(id))
            })
            .collect();
        aborting.sort_unstable();
        let recorded = |id: &str| Rule::Test {
            variable: format!("$.branches.merged.{id}.failure"),
            test: Test::Is(TypeTest::IsPresent, true),
        };
        let ids: Vec<String> = aborting
            .iter()
            .filter_map(|&i| self.step_id(i).map(str::to_owned))
            .collect();
        if ids.is_empty() {
            return merge;
        }
        self.overhead_events += events::CHOICE;
        self.overhead_nominal += events::CHOICE;
        let choices = if scope.in_branch {
            let end = self.name(
                &format!("{title}: a branch failed"),
                |_| {
                    State::Pass(Pass {
                        comment: Some(
                            "a branch recorded a failure: end this branch too, with every result"
                                .to_owned(),
                        ),
                        parameters: Some(merged_state()),
                        output_path: Some("$.steps".to_owned()),
                        ..Pass::to(Transition::End)
                    })
                },
                scope,
            );
            vec![ChoiceRule {
                rule: Rule::Or(ids.iter().map(|id| recorded(id)).collect()),
                next: end,
            }]
        } else {
            let entry = self.failure_entry.clone();
            ids.iter()
                .map(|id| {
                    let mut state = merged_state();
                    state["failure.$"] = json!(format!("$.branches.merged.{id}.failure"));
                    let raise = self.name(
                        &StatePart::Raise.name(id),
                        |_| {
                            State::Pass(Pass {
                                comment: Some(
                                    "the failure its branch recorded, once every branch has ended"
                                        .to_owned(),
                                ),
                                parameters: Some(state),
                                ..Pass::to(Transition::Next(entry.clone()))
                            })
                        },
                        scope,
                    );
                    ChoiceRule {
                        rule: recorded(id),
                        next: raise,
                    }
                })
                .collect()
        };
        self.name(
            &format!("{title}: any failed?"),
            |_| {
                State::Choice(Choice {
                    comment: Some(
                        "a failing branch records its failure and ends; the first recorded is raised here"
                            .to_owned(),
                    ),
                    choices,
                    default: Some(merge),
                })
            },
            scope,
        )
    }

    /// The last state of a branch that was handed results from outside it: it hands back only its own steps'
    /// results, so that the `Parallel`'s result does not hold the others a second time beside `$.steps`. A
    /// `wait` step keeps no result (and is missing unless skipped), so its mark stays in the branch.
    pub(super) fn lower_hand_back(&mut self, scope: &mut Scope, tree: &Tree) -> String {
        let own: Map<String, Json> = tree
            .steps()
            .into_iter()
            .filter_map(|i| self.workflow.steps.get(i))
            .filter(|s| s.action.runtime != Runtime::Native)
            .map(|s| (computed(&s.id), json!(step_path(&s.id, ""))))
            .collect();
        let ids: Vec<&str> = own.keys().map(|k| k.trim_end_matches(".$")).collect();
        let title = format!("Hand back: {}", ids.join(", "));
        self.overhead_events += events::PASS;
        self.overhead_nominal += events::PASS;
        self.name(
            &title,
            |_| {
                State::Pass(Pass {
                    comment: Some(
                        "this branch's own step results, without those it was handed".to_owned(),
                    ),
                    parameters: Some(Json::Object(own)),
                    ..Pass::to(Transition::End)
                })
            },
            scope,
        )
    }

    /// At the top level, an error of the `Parallel` itself (its plumbing: the branches catch every error of
    /// their own) is attributed to the `Parallel`.
    pub(super) fn parallel_catchers(&mut self, scope: &mut Scope, parallel: &str) -> Vec<Catcher> {
        let entry = self.failure_entry.clone();
        let broken = self.name(
            &format!("{parallel}: error"),
            |_| failure_record(parallel, &entry),
            scope,
        );
        vec![Catcher {
            error_equals: vec!["States.ALL".to_owned()],
            result_path: raised(),
            next: broken,
        }]
    }

    /// Steps outside `tree` whose results a step inside it reads.
    pub(super) fn outside_reads(&self, tree: &Tree) -> BTreeSet<String> {
        let inside: BTreeSet<usize> = tree.steps().into_iter().collect();
        inside
            .iter()
            .flat_map(|&i| self.workflow.reads_of(i))
            .filter(|&read| !inside.contains(&read))
            .filter_map(|read| self.step_id(read).map(str::to_owned))
            .collect()
    }
}

/// For each step of `tree`, the steps that end before it starts: those of the earlier parts of every series it
/// is in.
pub(super) fn preceding(tree: &Tree, prefix: &BTreeSet<usize>, before: &mut [BTreeSet<usize>]) {
    match tree {
        Tree::Step(i) => {
            if let Some(slot) = before.get_mut(*i) {
                *slot = prefix.clone();
            }
        }
        Tree::Series(children) => {
            let mut prefix = prefix.clone();
            for child in children {
                preceding(child, &prefix, before);
                prefix.extend(child.steps());
            }
        }
        Tree::Parallel(children) => {
            for child in children {
                preceding(child, prefix, before);
            }
        }
    }
}

/// The state after a join: `$.steps` with every branch's results folded in.
pub(super) fn merged_state() -> Json {
    json!({
        "input.$": "$.input",
        "steps.$": "States.JsonMerge($.steps, $.branches.merged, false)",
    })
}

/// `States.JsonMerge` of the branch results, left to right (`$[i]` alone is portable; `$[i].x` is not in moto).
pub(super) fn merge_expression(branches: usize) -> String {
    let mut expression = "$[0]".to_owned();
    for i in 1..branches {
        expression = format!("States.JsonMerge({expression}, $[{i}], false)");
    }
    expression
}
