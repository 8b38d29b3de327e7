//! The schedule tree and the steps to states.
//!
//! The state (`$`) is `{"input", "steps"}`. Each step writes `$.steps.<id>`: its `status` (or `skipped`, or its
//! failure), and its `output` only when a later step or `when` reads it (the rest stays in the history, where
//! the audit reads it); a `Parallel` hands its branches
//! `input` and only the step results they read, each branch ends with `OutputPath: $.steps`, and a merge
//! `Pass` folds the branch results back with `States.JsonMerge`. A `Catch` puts Step Functions' error output
//! (`{Error, Cause}`, either of which may be missing) at `$.failure` and a Pass adds `step`, so no state reads a
//! field that may be missing. Inside a branch a failure never fails the branch (in Step Functions a failed
//! branch stops its siblings, whatever they are in the middle of): the branch records it at
//! `$.steps.<id>.failure` and ends normally; once every branch has ended, a Choice after the `Parallel` raises
//! the first recorded failure (at the top level into the failure path, in a nested branch by ending that
//! branch too). The failure path first fills a missing `Error` or `Cause` and decodes a Lambda's JSON error,
//! and, when an `[on_failure]` step reads `${failure.completed}`, lists the steps done by then from their records
//! (each keeps the line its Lambda answered, `catalog::changed`), then runs the `[on_failure]` steps.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use catalog::contract::{Operation, Status, VERSION, field};
use catalog::manifest::StatePart;
use catalog::{ErrorName, HeldBack, LAMBDA_FUNCTION_TIMEOUTS, LAMBDA_SERVICE_ERRORS, Runtime};
use serde_json::{Map, Value as Json, json};
use workflow::Workflow;
use workflow::model::{AlarmField, FailureField, Reference, Step, Value};

use crate::CompileError;
use crate::asl;
use crate::asl::{
    Catcher, Choice, ChoiceRule, Comparison, Fail, FailCause, FailError, Jitter, LAMBDA_INVOKE,
    LAMBDA_INVOKE_WITH_TOKEN, Operand, Parallel, Pass, ResultPath, Retrier, Rule, State,
    StateMachine, States, Succeed, Task, Test, Transition, TypeTest, Wait, WaitFor,
};
use crate::condition::{self, Folded};
use crate::events;
use crate::payload::{self, step_path};
use crate::schedule::Tree;

/// The error Step Functions raises when a task passes its `TimeoutSeconds`.
const TIMEOUT: &str = "States.Timeout";
/// ASL: state names are at most 80 Unicode characters.
const MAX_NAME: usize = 80;
/// What the failure path reads when a failure came without an `Error` or a `Cause` (a SendTaskFailure from the
/// console may carry neither; in real Step Functions a path to a missing field is a `States.Runtime` error).
const NO_ERROR: &str = "unnamed error";
const NO_CAUSE: &str = "no cause given";
/// Where the failure path lists the steps done before the failure (`${failure.completed}`), and the list when
/// no step was.
const COMPLETED: &str = "$.failure.completed";
const NONE_COMPLETED: &str = "none";
/// How a Lambda function error's `Cause` starts: the runtime's `{"errorType", "errorMessage"}` as JSON (the
/// Rust runtime writes `errorType` first, others `errorMessage`).
const LAMBDA_ERROR_PATTERNS: [&str; 2] = ["{\"errorType\"*", "{\"errorMessage\"*"];

pub struct Lowered {
    pub machine: StateMachine,
    /// Worst-case history events of each step (main steps, then `on_failure` steps), in declaration order.
    pub step_events: Vec<(String, u64)>,
    pub total_events: u64,
    /// The history when every step runs and succeeds first try, each long one at its estimate.
    pub nominal_events: u64,
    /// The polling schedule of each long step, by step id.
    pub poll_plans: BTreeMap<String, events::PollPlan>,
    /// The states each step's lowering added, by step id.
    pub step_states: BTreeMap<String, Vec<String>>,
}

pub fn lower(
    workflow: &Workflow,
    tree: Option<&Tree>,
    substitutions: &BTreeMap<String, String>,
    speed: u64,
) -> Result<Lowered, Vec<CompileError>> {
    let mut lowering = Lowering {
        workflow,
        substitutions,
        speed,
        used_names: HashSet::new(),
        errors: Vec::new(),
        step_events: BTreeMap::new(),
        step_nominal: BTreeMap::new(),
        overhead_events: 0,
        overhead_nominal: events::EXECUTION,
        poll_plans: BTreeMap::new(),
        failure_entry: String::new(),
        step_states: BTreeMap::new(),
        recorded_in_branch: BTreeSet::new(),
        branch_records: BTreeSet::new(),
        carried: workflow
            .reads
            .iter()
            .filter_map(|read| workflow.steps.get(read.to))
            .map(|step| step.id.clone())
            .collect(),
        listed: listed(workflow, tree),
    };
    let mut top = Scope {
        states: Vec::new(),
        in_branch: false,
    };
    // Built back to front, since each state names the next one; `sort_by_visit` restores reading order.
    lowering.failure_entry = lowering.lower_failure_path(&mut top);
    let body = match tree {
        Some(tree) => lowering.lower_tree(&mut top, tree, &Transition::End),
        None => lowering.name(
            "Nothing to do",
            |_| {
                State::Succeed(Succeed {
                    comment: Some("the workflow has no steps".to_owned()),
                })
            },
            &mut top,
        ),
    };
    let guard = lowering.lower_guard(&mut top, body);
    let start = lowering.lower_input(&mut top, guard);
    if !lowering.errors.is_empty() {
        return Err(lowering.errors);
    }
    let comment = match &workflow.description {
        Some(d) => format!("{}: {} (stepback)", workflow.name, payload::comment(d)),
        None => format!("{} (stepback)", workflow.name),
    };
    let manifest = crate::manifest::manifest(workflow, lowering.step_states.clone());
    let mut machine = StateMachine {
        comment: Some(manifest.to_comment(&comment)),
        start_at: start,
        states: States(top.states),
    };
    machine.sort_by_visit();
    let step_events: Vec<(String, u64)> = workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .map(|s| {
            (
                s.id.clone(),
                lowering.step_events.get(&s.id).copied().unwrap_or(0),
            )
        })
        .collect();
    let total_events = lowering.overhead_events + step_events.iter().map(|(_, e)| e).sum::<u64>();
    let nominal_events = lowering.overhead_nominal
        + workflow
            .steps
            .iter()
            .filter_map(|s| lowering.step_nominal.get(&s.id))
            .sum::<u64>();
    Ok(Lowered {
        machine,
        step_events,
        total_events,
        nominal_events,
        poll_plans: lowering.poll_plans,
        step_states: lowering.step_states,
    })
}

struct Scope {
    states: Vec<(String, State)>,
    in_branch: bool,
}

impl Scope {
    /// How a state that would hand over to `next` ends: a branch's last state hands back only `$.steps`.
    fn exit(&self, next: &Transition) -> (Transition, Option<String>) {
        let output = (self.in_branch && *next == Transition::End).then(|| "$.steps".to_owned());
        (next.clone(), output)
    }
}

/// What happens after a step has failed past its retries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `continue_on_error` and `on_failure` steps: record the failure at `$.steps.<id>` and go on.
    Record,
    /// Go to the failure path (at the top level) or fail the branch.
    Abort,
}

struct Lowering<'a> {
    workflow: &'a Workflow,
    substitutions: &'a BTreeMap<String, String>,
    /// `Options::speed`: the poll waits travel in the state data, out of `StateMachine::speed_up`'s reach, so
    /// they are scaled where they are written.
    speed: u64,
    used_names: HashSet<String>,
    errors: Vec<CompileError>,
    step_events: BTreeMap<String, u64>,
    /// Each step's events in the nominal run.
    step_nominal: BTreeMap<String, u64>,
    /// Events of states that belong to no step: input, guard, `Parallel`s, the failure tail.
    overhead_events: u64,
    /// The same in the nominal run: the execution, the console input, the guard, the `Parallel`s.
    overhead_nominal: u64,
    poll_plans: BTreeMap<String, events::PollPlan>,
    /// The first state of the top-level failure path.
    failure_entry: String,
    /// The states each step's lowering added, for the audit's manifest.
    step_states: BTreeMap<String, Vec<String>>,
    /// The states that record a step's failure in its branch and end the branch.
    branch_records: BTreeSet<String>,
    /// The steps that record their failure in their branch (`$.steps.<id>.failure`) for a join to raise.
    recorded_in_branch: BTreeSet<String>,
    /// The steps whose outputs a later step or `when` reads: only their outputs stay in the state data, the
    /// others' only in the history (the task's result), where the audit reads them.
    carried: BTreeSet<String>,
    /// The steps that `${failure.completed}` lists when they are done ([`listed`]): each keeps its Lambda's
    /// `changed` line.
    listed: Vec<usize>,
}

impl Lowering<'_> {
    /// A unique state name of at most 80 characters, made from `text`.
    fn fresh(&mut self, text: &str) -> String {
        let mut candidate: String = text.chars().take(MAX_NAME).collect();
        let mut n = 1;
        while !self.used_names.insert(candidate.clone()) {
            n += 1;
            let tag = format!(" ({n})");
            candidate = text.chars().take(MAX_NAME - tag.len()).collect::<String>() + &tag;
        }
        candidate
    }

    /// Adds a state under a fresh name; `build` gets the name (for self-references).
    fn name(&mut self, text: &str, build: impl FnOnce(&str) -> State, scope: &mut Scope) -> String {
        let name = self.fresh(text);
        let state = build(&name);
        scope.states.push((name.clone(), state));
        name
    }

    fn lower_tree(&mut self, scope: &mut Scope, tree: &Tree, next: &Transition) -> String {
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

    fn lower_parallel(
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
    fn lower_join(
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
    fn lower_hand_back(&mut self, scope: &mut Scope, tree: &Tree) -> String {
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
    fn parallel_catchers(&mut self, scope: &mut Scope, parallel: &str) -> Vec<Catcher> {
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

    /// The fields of a task's response that the step keeps at `$.steps.<id>`: `output` only when read,
    /// `changed` only when `${failure.completed}` lists the step.
    fn kept<'f>(&self, step: &Step, fields: &[&'f str]) -> Vec<&'f str> {
        let carried = self.carried.contains(&step.id);
        let listed = self.is_listed(step);
        fields
            .iter()
            .copied()
            .filter(|&f| carried || f != field::OUTPUT)
            .filter(|&f| listed || f != field::CHANGED)
            .collect()
    }

    fn is_listed(&self, step: &Step) -> bool {
        self.listed
            .iter()
            .any(|&i| self.workflow.steps.get(i).is_some_and(|s| s.id == step.id))
    }

    fn step_id(&self, index: usize) -> Option<&str> {
        self.workflow.steps.get(index).map(|s| s.id.as_str())
    }

    /// Steps outside `tree` whose results a step inside it reads.
    fn outside_reads(&self, tree: &Tree) -> BTreeSet<String> {
        let inside: BTreeSet<usize> = tree.steps().into_iter().collect();
        inside
            .iter()
            .flat_map(|&i| self.workflow.reads_of(i))
            .filter(|&read| !inside.contains(&read))
            .filter_map(|read| self.step_id(read).map(str::to_owned))
            .collect()
    }

    /// Lowers one step, remembering the states it added (a step's states are all in the scope it is lowered in).
    fn lower_step(
        &mut self,
        scope: &mut Scope,
        step: &Step,
        next: &Transition,
        route: Route,
    ) -> String {
        let first = scope.states.len();
        let entry = self.lower_step_states(scope, step, next, route);
        // A branch's record of a failure is the join's plumbing: the audit reads the failure from the step's
        // `failed` state before it.
        let added = scope.states[first..]
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| !self.branch_records.contains(name));
        self.step_states
            .entry(step.id.clone())
            .or_default()
            .extend(added);
        entry
    }

    fn lower_step_states(
        &mut self,
        scope: &mut Scope,
        step: &Step,
        next: &Transition,
        route: Route,
    ) -> String {
        let folded = match step.when.as_ref().map(condition::lower) {
            None => Folded::Always,
            Some(Ok(folded)) => folded,
            Some(Err(message)) => {
                self.errors.push(CompileError::Unsupported {
                    step: step.id.clone(),
                    message,
                });
                Folded::Always
            }
        };
        let skipped = |this: &mut Self, scope: &mut Scope| {
            let (transition, output_path) = scope.exit(next);
            this.name(
                &StatePart::Skipped.name(&step.id),
                |_| {
                    State::Pass(Pass {
                        comment: Some(
                            "the condition is false: the step is skipped and counts as done"
                                .to_owned(),
                        ),
                        result: Some(json!({ "skipped": true })),
                        result_path: Some(ResultPath::At(step_path(&step.id, ""))),
                        output_path,
                        ..Pass::to(transition)
                    })
                },
                scope,
            )
        };
        let rule = match folded {
            Folded::Never => {
                self.add_events(&step.id, events::PASS, events::PASS);
                return skipped(self, scope);
            }
            Folded::Always => None,
            Folded::Rule(rule) => Some(rule),
        };
        let body = self.lower_action(scope, step, next, route);
        let Some(rule) = rule else { return body };
        let skip = skipped(self, scope);
        self.add_events(&step.id, events::CHOICE, events::CHOICE);
        let comment = format!("run {} only when its `when` condition holds", step.id);
        self.name(
            &StatePart::When.name(&step.id),
            |_| {
                State::Choice(Choice {
                    comment: Some(comment),
                    choices: vec![ChoiceRule { rule, next: body }],
                    default: Some(skip),
                })
            },
            scope,
        )
    }

    /// A step's events in the worst case and in the nominal run.
    fn add_events(&mut self, step: &str, worst: u64, nominal: u64) {
        *self.step_events.entry(step.to_owned()).or_default() += worst;
        *self.step_nominal.entry(step.to_owned()).or_default() += nominal;
    }

    fn lower_action(
        &mut self,
        scope: &mut Scope,
        step: &Step,
        next: &Transition,
        route: Route,
    ) -> String {
        if step.action.runtime == Runtime::Native {
            return self.lower_wait(scope, step, next);
        }
        let failed = self.failure_states(scope, step, next, route);
        let failed = &failed;
        let payload = match self.payload(step) {
            Ok(payload) => payload,
            Err(message) => {
                self.errors.push(CompileError::Unsupported {
                    step: step.id.clone(),
                    message,
                });
                Map::new()
            }
        };
        let attempts = 1 + u64::from(step.retry.attempts);
        match step.action.runtime {
            Runtime::Poll => self.lower_poll(scope, step, next, payload, failed),
            Runtime::TaskToken => {
                self.add_events(
                    &step.id,
                    events::TASK_STATE + events::TOKEN_ATTEMPT * attempts,
                    events::TASK_STATE + events::TOKEN_ATTEMPT,
                );
                let mut payload = payload;
                payload.insert(computed(field::TASK_TOKEN), json!("$$.Task.Token"));
                let (transition, output_path) = scope.exit(next);
                let task = Task {
                    comment: Some(describe(step)),
                    resource: LAMBDA_INVOKE_WITH_TOKEN.to_owned(),
                    parameters: Some(self.invoke_parameters(step, payload)),
                    // SendTaskSuccess's output is the approval: {"approved_by", "comment"}, or whatever the
                    // console sent, so `changed` is written here rather than read from it.
                    result_selector: Some({
                        let mut kept = json!({ field::STATUS: Status::Done });
                        if self.carried.contains(&step.id) {
                            kept[computed(field::OUTPUT)] = json!("$");
                        }
                        if self.is_listed(step) {
                            kept[field::CHANGED] =
                                json!(format!("{} → approved", step.action.name));
                        }
                        kept
                    }),
                    result_path: Some(ResultPath::At(step_path(&step.id, ""))),
                    output_path,
                    timeout_seconds: Some(step.timeout_secs.max(1)),
                    retry: retriers(step),
                    catch: self.timeout_catch(scope, step, failed),
                    transition,
                };
                self.name(&step.id, |_| State::Task(task), scope)
            }
            Runtime::Invoke | Runtime::Native => {
                self.add_events(
                    &step.id,
                    events::TASK_STATE + events::TASK_ATTEMPT * attempts,
                    events::TASK,
                );
                let (transition, output_path) = scope.exit(next);
                let task = Task {
                    comment: Some(describe(step)),
                    resource: LAMBDA_INVOKE.to_owned(),
                    parameters: Some(self.invoke_parameters(step, payload)),
                    result_selector: Some(response_selector(
                        &self.kept(step, &[field::STATUS, field::OUTPUT, field::CHANGED]),
                    )),
                    result_path: Some(ResultPath::At(step_path(&step.id, ""))),
                    output_path,
                    timeout_seconds: (step.timeout_secs > 0).then_some(step.timeout_secs),
                    retry: retriers(step),
                    catch: if step.timeout_secs > 0 {
                        self.timeout_catch(scope, step, failed)
                    } else {
                        failed.catch()
                    },
                    transition,
                };
                self.name(&step.id, |_| State::Task(task), scope)
            }
        }
    }

    /// The `Catch` of a task with `TimeoutSeconds`: `States.Timeout`, whose `Cause` Step Functions leaves empty,
    /// first goes through a Pass that says which step ran out of time and after how long.
    fn timeout_catch(&mut self, scope: &mut Scope, step: &Step, failed: &Failed) -> Vec<Catcher> {
        let id = step.id.as_str();
        let limit = events::human(step.timeout_secs);
        let timed_out = self.name(
            &StatePart::TimedOut.name(id),
            |_| {
                State::Pass(Pass {
                    comment: Some(format!("no end within its timeout ({limit})")),
                    result: Some(json!({
                        "Error": TIMEOUT,
                        "Cause": format!("{id} did not finish within {limit}"),
                    })),
                    result_path: Some(failed.raised_at.clone()),
                    ..Pass::to(Transition::Next(failed.state.clone()))
                })
            },
            scope,
        );
        let mut catch = vec![Catcher {
            error_equals: vec![TIMEOUT.to_owned()],
            result_path: failed.raised_at.clone(),
            next: timed_out,
        }];
        catch.extend(failed.catch());
        catch
    }

    /// `start`, then Wait → `poll` → Choice until done, failed, or past the step's timeout. The poll task
    /// carries the loop's counter: its request's `poll` is one more than the last, the Lambda answers it back,
    /// and its `ResultSelector` keeps it with the next wait, so a poll is three states (no counting Pass).
    fn lower_poll(
        &mut self,
        scope: &mut Scope,
        step: &Step,
        next: &Transition,
        payload: Map<String, Json>,
        failed: &Failed,
    ) -> String {
        let id = step.id.as_str();
        let plan = events::PollPlan::for_step(step, step.timeout_secs);
        let cadence = match plan.cadence() {
            Some(seconds) => format!("a poll every {}", events::human(seconds)),
            None => format!(
                "first poll at a quarter of the {} estimate, then each a tenth later than the last",
                events::human(step.estimate_secs)
            ),
        };
        let polls = plan.polls();
        self.add_events(
            id,
            plan.worst_events(u64::from(step.retry.attempts)),
            events::PollPlan::events(plan.polls_until(step.estimate_secs)),
        );
        let here = step_path(id, "");
        let last = step_path(id, "last");
        let count = step_path(id, "n");
        let wait = step_path(id, "wait");

        let (transition, output_path) = scope.exit(next);
        let kept = self.kept(step, &[field::STATUS, field::OUTPUT, field::CHANGED]);
        let poll_fields = self.kept(step, &POLL_FIELDS);
        let done = self.name(
            &StatePart::Done.name(id),
            |_| {
                State::Pass(Pass {
                    comment: Some(
                        "keep the step's result: its outputs when a later step reads them"
                            .to_owned(),
                    ),
                    parameters: Some(
                        kept.iter()
                            .map(|&f| (computed(f), json!(format!("{last}.{f}"))))
                            .collect::<Map<_, _>>()
                            .into(),
                    ),
                    result_path: Some(ResultPath::At(here.clone())),
                    output_path,
                    ..Pass::to(transition)
                })
            },
            scope,
        );
        let reported = self.name(
            &StatePart::Reported.name(id),
            |_| {
                State::Pass(Pass {
                    comment: Some("the operation ran and failed".to_owned()),
                    parameters: Some(json!({
                        "Error.$": format!("{last}.{}", field::ERROR),
                        "Cause.$": format!("{last}.{}", field::CAUSE),
                    })),
                    result_path: Some(failed.raised_at.clone()),
                    ..Pass::to(Transition::Next(failed.state.clone()))
                })
            },
            scope,
        );
        let limit = events::human(step.timeout_secs);
        let timed_out = self.name(
            &StatePart::TimedOut.name(id),
            |_| {
                State::Pass(Pass {
                    comment: Some(format!("still running after {polls} polls ({limit})")),
                    // The id and the duration hold nothing an intrinsic string escapes (`payload::plain`).
                    parameters: Some(json!({
                        "Error": ErrorName::Timeout.as_str(),
                        "Cause.$": format!(
                            "States.Format('{id} did not finish within {limit} ({polls} polls); the last poll saw: {{}}', {last}.{})",
                            field::PROGRESS
                        ),
                    })),
                    result_path: Some(failed.raised_at.clone()),
                    ..Pass::to(Transition::Next(failed.state.clone()))
                })
            },
            scope,
        );

        let check_name = self.fresh(&StatePart::Check.name(id));
        let mut poll_payload = payload.clone();
        poll_payload.insert(field::OPERATION.to_owned(), json!(Operation::Poll));
        poll_payload.insert(
            computed(field::STATE),
            Json::String(format!("{last}.{}", field::STATE)),
        );
        poll_payload.insert(
            computed(field::POLL),
            Json::String(format!("States.MathAdd({count}, 1)")),
        );
        let poll_parameters = self.invoke_parameters(step, poll_payload);
        // After poll `n`, the next wait is `waits[n]`; the last poll's entry is never waited (the check times
        // out first) but must exist, since the selector reads it.
        let next_wait = match plan.cadence() {
            Some(seconds) => ("wait".to_owned(), json!(asl::scaled(seconds, self.speed))),
            None => {
                let waits: Vec<String> = plan
                    .waits
                    .iter()
                    .chain(plan.waits.last())
                    .map(|&seconds| asl::scaled(seconds, self.speed).to_string())
                    .collect();
                (
                    computed("wait"),
                    json!(format!(
                        "States.ArrayGetItem(States.Array({}), $.Payload.{})",
                        waits.join(", "),
                        field::POLL
                    )),
                )
            }
        };
        let mut poll_selector = Map::new();
        poll_selector.insert(computed("n"), json!(format!("$.Payload.{}", field::POLL)));
        poll_selector.insert(next_wait.0, next_wait.1);
        poll_selector.insert("last".to_owned(), response_selector(&poll_fields));
        let poll = self.name(
            &StatePart::Poll.name(id),
            |_| {
                State::Task(Task {
                    comment: Some(format!("{}: is it done?", step.action.name)),
                    resource: LAMBDA_INVOKE.to_owned(),
                    parameters: Some(poll_parameters),
                    result_selector: Some(Json::Object(poll_selector)),
                    result_path: Some(ResultPath::At(here.clone())),
                    output_path: None,
                    timeout_seconds: None,
                    retry: retriers(step),
                    catch: failed.catch(),
                    transition: Transition::Next(check_name.clone()),
                })
            },
            scope,
        );
        let waiting = self.name(
            &StatePart::Wait.name(id),
            |_| {
                State::Wait(Wait {
                    comment: None,
                    duration: WaitFor::SecondsPath(wait.clone()),
                    output_path: None,
                    transition: Transition::Next(poll),
                })
            },
            scope,
        );

        let status = format!("{last}.status");
        let is = |value: &str| Rule::Test {
            variable: status.clone(),
            test: Test::Compare(Comparison::StringEquals, Operand::Literal(json!(value))),
        };
        let choices = vec![
            ChoiceRule {
                rule: is("done"),
                next: done,
            },
            ChoiceRule {
                rule: is("failed"),
                next: reported,
            },
            ChoiceRule {
                rule: Rule::Test {
                    variable: count.clone(),
                    test: Test::Compare(
                        Comparison::NumericGreaterThanEquals,
                        Operand::Literal(json!(polls)),
                    ),
                },
                next: timed_out,
            },
        ];
        scope.states.push((
            check_name.clone(),
            State::Choice(Choice {
                comment: Some(cadence),
                choices,
                default: Some(waiting),
            }),
        ));

        let first_wait = asl::scaled(plan.waits.first().copied().unwrap_or(1), self.speed);
        let task = Task {
            comment: Some(describe(step)),
            resource: LAMBDA_INVOKE.to_owned(),
            parameters: Some(self.invoke_parameters(step, payload)),
            result_selector: Some(json!({
                "n": 0,
                "wait": first_wait,
                "last": response_selector(&poll_fields),
            })),
            result_path: Some(ResultPath::At(here)),
            output_path: None,
            timeout_seconds: None,
            retry: retriers(step),
            catch: failed.catch(),
            transition: Transition::Next(check_name),
        };
        self.poll_plans.insert(id.to_owned(), plan);
        self.name(id, |_| State::Task(task), scope)
    }

    fn lower_wait(&mut self, scope: &mut Scope, step: &Step, next: &Transition) -> String {
        self.add_events(&step.id, events::WAIT, events::WAIT);
        let duration = match step.params.get("duration") {
            Some(Value::Literal(seconds)) if seconds.as_u64().is_some() => {
                WaitFor::Seconds(seconds.as_u64().unwrap_or_default())
            }
            Some(Value::Ref(reference)) => WaitFor::SecondsPath(payload::path(reference)),
            _ => {
                self.errors.push(CompileError::Unsupported {
                    step: step.id.clone(),
                    message: "`duration` must be a duration or a reference to a number of seconds"
                        .to_owned(),
                });
                WaitFor::Seconds(0)
            }
        };
        let (transition, output_path) = scope.exit(next);
        let comment = describe(step);
        self.name(
            &step.id,
            |_| {
                State::Wait(Wait {
                    comment: Some(comment),
                    duration,
                    output_path,
                    transition,
                })
            },
            scope,
        )
    }

    /// The states a failed step goes to: where its `Catch` puts the error output, and the first state.
    fn failure_states(
        &mut self,
        scope: &mut Scope,
        step: &Step,
        next: &Transition,
        route: Route,
    ) -> Failed {
        let id = step.id.as_str();
        match route {
            Route::Record => {
                let (transition, output_path) = scope.exit(next);
                let here = step_path(id, "");
                let state = self.name(
                    &StatePart::Failed.name(id),
                    |_| {
                        State::Pass(Pass {
                            comment: Some(
                                "the error output is the step's result, marked failed; go on"
                                    .to_owned(),
                            ),
                            result: Some(json!("failed")),
                            result_path: Some(ResultPath::At(step_path(id, "status"))),
                            output_path,
                            ..Pass::to(transition)
                        })
                    },
                    scope,
                );
                Failed {
                    state,
                    raised_at: ResultPath::At(here),
                }
            }
            Route::Abort if scope.in_branch => {
                self.recorded_in_branch.insert(id.to_owned());
                let end = self.name(
                    &StatePart::EndBranch.name(id),
                    |_| {
                        State::Pass(Pass {
                            comment: Some(
                                "record the failure and end the branch: failing it would stop the siblings"
                                    .to_owned(),
                            ),
                            parameters: Some(json!({
                                field::STATUS: Status::Failed,
                                "failure.$": "$.failure",
                            })),
                            result_path: Some(ResultPath::At(step_path(id, ""))),
                            // The whole `$.steps`: its own results that exist (the rest never ran).
                            output_path: Some("$.steps".to_owned()),
                            ..Pass::to(Transition::End)
                        })
                    },
                    scope,
                );
                self.branch_records.insert(end.clone());
                Failed {
                    state: self.name(
                        &StatePart::Failed.name(id),
                        |_| failure_record(id, &end),
                        scope,
                    ),
                    raised_at: raised(),
                }
            }
            Route::Abort => {
                let entry = self.failure_entry.clone();
                Failed {
                    state: self.name(
                        &StatePart::Failed.name(id),
                        |_| failure_record(id, &entry),
                        scope,
                    ),
                    raised_at: raised(),
                }
            }
        }
    }

    /// The failure path: make `$.failure` whole (an `Error` and a `Cause`, a Lambda's JSON error decoded to its
    /// message), run the `[on_failure]` steps in order, then a `Fail` naming the step and the reason. Returns
    /// the entry.
    fn lower_failure_path(&mut self, scope: &mut Scope) -> String {
        // The longest failure tail: the step's failed Pass, a reported/timeout Pass, a branch Fail per level
        // and the decoding Pass, the four checks and four Passes that make the failure whole, then the final
        // Fail and the execution's end.
        self.overhead_events += 8 * events::PASS + 5 * events::CHOICE + 2;
        let fail = self.name(
            "Rollback failed",
            |_| {
                State::Fail(Fail {
                    comment: Some("the failing step and its error".to_owned()),
                    error: FailError::ErrorPath("$.failure.Error".to_owned()),
                    cause: FailCause::CausePath(
                        "States.Format('step {} failed: {}', $.failure.step, $.failure.Cause)"
                            .to_owned(),
                    ),
                })
            },
            scope,
        );
        let next = self.reserved_error_names(scope, fail);
        let mut next = Transition::Next(next);
        // The language runs `[on_failure]` steps one after another, in the order they are written.
        for step in self.workflow.on_failure.iter().rev() {
            next = Transition::Next(self.lower_step(scope, step, &next, Route::Record));
        }
        let Transition::Next(steps) = next else {
            return String::new();
        };
        let steps = if self.listed.is_empty() {
            steps
        } else {
            self.lower_completed(scope, steps)
        };
        let decoded = self.lower_lambda_error(scope, steps);
        let with_cause = self.fill_missing(scope, "Cause", NO_CAUSE, decoded);
        self.fill_missing(scope, "Error", NO_ERROR, with_cause)
    }

    /// `${failure.completed}`: `$.failure.completed` starts empty; for each listed step in declaration order a
    /// Choice finds whether its record holds a `changed` line (only a done step's does: a skipped, failed or
    /// unrun step's record has none, or there is no record) and a Pass adds `[<id>: <line>]`; an empty list
    /// ends as `none`. Ordered rules: the type test only sees a line that is present. Each item is bracketed
    /// rather than separated, since no state can know which item is the first without states that some
    /// workflows never reach. Returns the entry.
    fn lower_completed(&mut self, scope: &mut Scope, next: String) -> String {
        let ids: Vec<String> = self
            .listed
            .iter()
            .map(|&i| self.workflow.steps[i].id.clone())
            .collect();
        self.overhead_events +=
            events::PASS + 2 * events::CHOICE + ids.len() as u64 * (events::CHOICE + events::PASS);
        let none = self.name(
            "Completed: none",
            |_| {
                State::Pass(Pass {
                    comment: Some("no step was done before the failure".to_owned()),
                    result: Some(json!(NONE_COMPLETED)),
                    result_path: Some(ResultPath::At(COMPLETED.to_owned())),
                    ..Pass::to(Transition::Next(next.clone()))
                })
            },
            scope,
        );
        let mut next = self.name(
            "Completed: any?",
            |_| {
                State::Choice(Choice {
                    comment: None,
                    choices: vec![ChoiceRule {
                        rule: Rule::Test {
                            variable: COMPLETED.to_owned(),
                            test: Test::Compare(
                                Comparison::StringEquals,
                                Operand::Literal(json!("")),
                            ),
                        },
                        next: none,
                    }],
                    default: Some(next),
                })
            },
            scope,
        );
        for id in ids.iter().rev() {
            let line = step_path(id, field::CHANGED);
            let add = {
                let next = next.clone();
                // Step ids are `[a-z_][a-z0-9_]*`: nothing an intrinsic string escapes (`payload::plain`).
                let format = format!("States.Format('{{}}[{id}: {{}}]', {COMPLETED}, {line})");
                self.name(
                    &format!("Completed: {id}"),
                    |_| {
                        State::Pass(Pass {
                            comment: Some("the step was done: add what it changed".to_owned()),
                            parameters: Some(json!({
                                "step.$": "$.failure.step",
                                "Error.$": "$.failure.Error",
                                "Cause.$": "$.failure.Cause",
                                "completed.$": format,
                            })),
                            result_path: Some(raised()),
                            ..Pass::to(Transition::Next(next))
                        })
                    },
                    scope,
                )
            };
            let not = |test: TypeTest| Rule::Test {
                variable: line.clone(),
                test: Test::Is(test, false),
            };
            let choices = vec![
                ChoiceRule {
                    rule: not(TypeTest::IsPresent),
                    next: next.clone(),
                },
                ChoiceRule {
                    rule: not(TypeTest::IsString),
                    next: next.clone(),
                },
            ];
            next = self.name(
                &format!("Completed: {id}?"),
                |_| {
                    State::Choice(Choice {
                        comment: None,
                        choices,
                        default: Some(add),
                    })
                },
                scope,
            );
        }
        self.name(
            "Completed: list",
            |_| {
                State::Pass(Pass {
                    comment: Some(
                        "list the steps done before the failure, with what each changed".to_owned(),
                    ),
                    result: Some(json!("")),
                    result_path: Some(ResultPath::At(COMPLETED.to_owned())),
                    ..Pass::to(Transition::Next(next))
                })
            },
            scope,
        )
    }

    /// A Choice before the final `Fail`: a `States.*` error (a task's `States.Timeout`, say) cannot end the
    /// execution under its own name. The States Language: "States MAY report errors with other names, which MUST
    /// NOT begin with the prefix \"States.\"", and an interpreter that keeps the rule (moto, LocalStack) ends the
    /// execution `States.Runtime` instead, with no word of the step. Such an error ends as `Stepback.Timeout` (for
    /// `States.Timeout`) or `Stepback.Failed`, its own name kept in the Cause. Returns the Choice.
    fn reserved_error_names(&mut self, scope: &mut Scope, fail: String) -> String {
        let renamed = |this: &mut Self, name: &str, error: ErrorName, scope: &mut Scope| {
            this.name(
                name,
                |_| {
                    State::Fail(Fail {
                        comment: Some(
                            "the failing step, its error under a name a Fail may raise".to_owned(),
                        ),
                        error: FailError::Error(error.as_str().to_owned()),
                        cause: FailCause::CausePath(
                            "States.Format('step {} failed: {}: {}', $.failure.step, $.failure.Error, $.failure.Cause)"
                                .to_owned(),
                        ),
                    })
                },
                scope,
            )
        };
        let timed_out = renamed(
            self,
            "Rollback failed: timed out",
            ErrorName::Timeout,
            scope,
        );
        let reserved = renamed(
            self,
            "Rollback failed: Step Functions error",
            ErrorName::Failed,
            scope,
        );
        let error = |test: Test| Rule::Test {
            variable: "$.failure.Error".to_owned(),
            test,
        };
        let choices = vec![
            ChoiceRule {
                rule: error(Test::Compare(
                    Comparison::StringEquals,
                    Operand::Literal(json!(TIMEOUT)),
                )),
                next: timed_out,
            },
            ChoiceRule {
                rule: error(Test::Matches("States.*".to_owned())),
                next: reserved,
            },
        ];
        self.name(
            "Rollback failed: reserved error name?",
            |_| {
                State::Choice(Choice {
                    comment: None,
                    choices,
                    default: Some(fail),
                })
            },
            scope,
        )
    }

    /// A Choice that sends a missing, non-string or empty `$.failure.<field>` to a Pass that sets it to `value`.
    /// The rules run in order, so the type test only sees a field that is present.
    fn fill_missing(
        &mut self,
        scope: &mut Scope,
        field: &str,
        value: &str,
        next: String,
    ) -> String {
        let path = format!("$.failure.{field}");
        let fill = self.name(
            &format!("Failure: no {}", field.to_lowercase()),
            |_| {
                State::Pass(Pass {
                    comment: Some(format!("the failure came without a string {field}")),
                    result: Some(json!(value)),
                    result_path: Some(ResultPath::At(path.clone())),
                    ..Pass::to(Transition::Next(next.clone()))
                })
            },
            scope,
        );
        let is = |test: TypeTest| Rule::Test {
            variable: path.clone(),
            test: Test::Is(test, false),
        };
        let choices = vec![
            ChoiceRule {
                rule: is(TypeTest::IsPresent),
                next: fill.clone(),
            },
            ChoiceRule {
                rule: is(TypeTest::IsString),
                next: fill.clone(),
            },
            // What a Catch of `States.Timeout` gives: a `Cause` that says nothing.
            ChoiceRule {
                rule: Rule::Test {
                    variable: path.clone(),
                    test: Test::Compare(Comparison::StringEquals, Operand::Literal(json!(""))),
                },
                next: fill,
            },
        ];
        self.name(
            &format!("Failure: has {}?", field.to_lowercase()),
            |_| {
                State::Choice(Choice {
                    comment: None,
                    choices,
                    default: Some(next),
                })
            },
            scope,
        )
    }

    /// A Lambda function error arrives with the runtime's `{"errorType", "errorMessage"}` as a JSON string in
    /// `Cause`: keep the message as the cause (`Error` already names the type). A cause that is not such JSON,
    /// or JSON without a string message, passes unchanged.
    fn lower_lambda_error(&mut self, scope: &mut Scope, next: String) -> String {
        let message = "$.failure.lambda.errorMessage";
        let take = self.name(
            "Failure: Lambda error message",
            |_| {
                State::Pass(Pass {
                    comment: Some("the message of the Lambda's error as the cause".to_owned()),
                    parameters: Some(json!({
                        "step.$": "$.failure.step",
                        "Error.$": "$.failure.Error",
                        "Cause.$": message,
                    })),
                    result_path: Some(raised()),
                    ..Pass::to(Transition::Next(next.clone()))
                })
            },
            scope,
        );
        // Ordered rules: the type test only sees a message that is present (a Choice rule on a missing field
        // is a runtime error).
        let not = |test: TypeTest| Rule::Test {
            variable: message.to_owned(),
            test: Test::Is(test, false),
        };
        let choices = vec![
            ChoiceRule {
                rule: not(TypeTest::IsPresent),
                next: next.clone(),
            },
            ChoiceRule {
                rule: not(TypeTest::IsString),
                next: next.clone(),
            },
        ];
        let has_message = self.name(
            "Failure: has a message?",
            |_| {
                State::Choice(Choice {
                    comment: None,
                    choices,
                    default: Some(take),
                })
            },
            scope,
        );
        let decode = self.name(
            "Failure: decode Lambda error",
            |_| {
                State::Pass(Pass {
                    comment: Some("the Cause is the function's error as JSON".to_owned()),
                    parameters: Some(json!({
                        "step.$": "$.failure.step",
                        "Error.$": "$.failure.Error",
                        "Cause.$": "$.failure.Cause",
                        "lambda.$": "States.StringToJson($.failure.Cause)",
                    })),
                    result_path: Some(raised()),
                    ..Pass::to(Transition::Next(has_message))
                })
            },
            scope,
        );
        let rules = LAMBDA_ERROR_PATTERNS
            .iter()
            .map(|pattern| Rule::Test {
                variable: "$.failure.Cause".to_owned(),
                test: Test::Matches((*pattern).to_owned()),
            })
            .collect();
        self.name(
            "Failure: Lambda error?",
            |_| {
                State::Choice(Choice {
                    comment: None,
                    choices: vec![ChoiceRule {
                        rule: Rule::Or(rules),
                        next: decode,
                    }],
                    default: Some(next),
                })
            },
            scope,
        )
    }

    /// A guard task first: the execution ends cleanly when another one of this state machine is running.
    fn lower_guard(&mut self, scope: &mut Scope, body: String) -> String {
        let Some(guard) = catalog::action("guard") else {
            self.errors.push(CompileError::Internal(
                "the catalog has no `guard` action".to_owned(),
            ));
            return body;
        };
        let entry = self.failure_entry.clone();
        let attempts = 1 + u64::from(guard.default_retry.attempts);
        self.overhead_events += events::TASK_STATE + events::TASK_ATTEMPT * attempts + events::PASS;
        self.overhead_nominal += events::TASK;
        let busy = self.lower_held_back(
            "another rollback is running",
            "the oldest running execution acts; this one ends, naming it",
            scope,
        );
        let failed = self.name("Guard: failed", |_| failure_record("guard", &entry), scope);
        let undeclared = self.lower_undeclared_input(scope);
        // The input after the defaults: the console's and the alarm's alike.
        let declared: Vec<&str> = self
            .workflow
            .inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        let mut params = Map::new();
        params.insert(catalog::GUARD_DECLARED.to_owned(), json!(declared));
        params.insert(computed(catalog::GUARD_INPUT), json!("$.input"));
        // Choice rules cannot measure a string, so the guard checks each input's `max_length`: the state data's
        // bound counts every input at it.
        let max_lengths: Map<String, Json> = self
            .workflow
            .inputs
            .iter()
            .filter_map(|i| Some((i.name.clone(), json!(self.workflow.max_length(i)?))))
            .collect();
        params.insert(
            catalog::GUARD_MAX_LENGTHS.to_owned(),
            Json::Object(max_lengths),
        );
        // Only an alarm-started execution waits out the cooldown; the guard tells one from the input it started
        // with, which the rule passes on unchanged.
        let cooling = self.workflow.trigger.as_ref().map(|trigger| {
            params.insert(
                computed(catalog::GUARD_STARTED_WITH),
                json!("$$.Execution.Input"),
            );
            params.insert(
                catalog::GUARD_COOLDOWN.to_owned(),
                json!(trigger.cooldown_secs),
            );
            if let Some(topic) = &trigger.topic {
                params.insert(catalog::GUARD_TOPIC.to_owned(), json!(topic));
            }
            self.lower_held_back(
                "a rollback already ran",
                "an alarm within [trigger].cooldown of the last execution's end: this one does not act",
                scope,
            )
        });
        let payload = contract_payload(guard.name, "guard", params);
        let parameters = json!({ "FunctionName": self.function(guard), "Payload": payload });
        let retry = retry_for(&guard.default_retry);
        self.name(
            "Guard: one rollback at a time",
            |_| {
                State::Task(Task {
                    comment: Some(format!("guard: {}", guard.summary)),
                    resource: LAMBDA_INVOKE.to_owned(),
                    parameters: Some(parameters),
                    result_selector: None,
                    result_path: Some(ResultPath::Discard),
                    output_path: None,
                    timeout_seconds: Some(guard.default_timeout_secs),
                    retry,
                    catch: vec![
                        Catcher {
                            error_equals: vec![ErrorName::AlreadyRunning.as_str().to_owned()],
                            result_path: raised(),
                            next: busy,
                        },
                        Catcher {
                            error_equals: vec![ErrorName::InvalidInput.as_str().to_owned()],
                            result_path: raised(),
                            next: undeclared,
                        },
                    ]
                    .into_iter()
                    .chain(cooling.map(|next| Catcher {
                        error_equals: vec![ErrorName::CoolingDown.as_str().to_owned()],
                        result_path: raised(),
                        next,
                    }))
                    .chain([Catcher {
                        error_equals: vec!["States.ALL".to_owned()],
                        result_path: raised(),
                        next: failed,
                    }])
                    .collect(),
                    transition: Transition::Next(body),
                })
            },
            scope,
        )
    }

    /// The guard held this execution back: it ends cleanly before any step, its output saying what `ended` it
    /// and the guard's message (`why`: what the state's comment records) naming the other execution.
    fn lower_held_back(&mut self, ended: &str, why: &str, scope: &mut Scope) -> String {
        let end = self.name(
            &capitalised(ended),
            |_| {
                State::Pass(Pass {
                    comment: Some(why.to_owned()),
                    parameters: Some(json!({
                        HeldBack::ENDED: ended,
                        format!("{}.$", HeldBack::BECAUSE): "$.failure.lambda.errorMessage",
                    })),
                    ..Pass::to(Transition::End)
                })
            },
            scope,
        );
        self.name(
            &format!("{}: the guard's message", capitalised(ended)),
            |_| {
                State::Pass(Pass {
                    comment: Some("the Lambda's error JSON, whose message names it".to_owned()),
                    parameters: Some(json!({ "lambda.$": "States.StringToJson($.failure.Cause)" })),
                    result_path: Some(raised()),
                    ..Pass::to(Transition::Next(end))
                })
            },
            scope,
        )
    }

    /// The guard found a key that `[input]` does not declare: the execution ends before any step, and before
    /// the failure path (whose `[on_failure]` steps are steps too), with the guard's message as the cause.
    fn lower_undeclared_input(&mut self, scope: &mut Scope) -> String {
        let fail = self.name(
            "Invalid input: undeclared",
            |_| {
                State::Fail(Fail {
                    comment: Some(
                        "an input that [input] does not declare, e.g. a misspelt one".to_owned(),
                    ),
                    error: FailError::Error(ErrorName::InvalidInput.as_str().to_owned()),
                    cause: FailCause::CausePath("$.failure.lambda.errorMessage".to_owned()),
                })
            },
            scope,
        );
        self.name(
            "Invalid input: the guard's message",
            |_| {
                State::Pass(Pass {
                    comment: Some(
                        "the Lambda's error JSON, whose message names the key".to_owned(),
                    ),
                    parameters: Some(json!({ "lambda.$": "States.StringToJson($.failure.Cause)" })),
                    result_path: Some(raised()),
                    ..Pass::to(Transition::Next(fail))
                })
            },
            scope,
        )
    }

    /// The first param that names a resource ([`catalog::Constraint::Name`]) and takes this input whole.
    fn names_resource(&self, input: &str) -> Option<&'static str> {
        let mut steps = self.workflow.steps.iter().chain(&self.workflow.on_failure);
        steps.find_map(|step| {
            step.action.params.iter().find_map(|param| {
                let whole = matches!(
                    step.params.get(param.name),
                    Some(Value::Ref(Reference::Input(name))) if name == input
                );
                (whole && param.constraint == catalog::Constraint::Name).then_some(param.name)
            })
        })
    }

    /// A `Stepback.InvalidInput` Fail state whose Cause names the field.
    fn invalid_input(&mut self, title: &str, cause: String, scope: &mut Scope) -> String {
        let fail = State::Fail(Fail {
            comment: None,
            error: FailError::Error(ErrorName::InvalidInput.as_str().to_owned()),
            cause: FailCause::Cause(cause),
        });
        self.name(title, |_| fail, scope)
    }

    /// Fill the defaults, then reject a missing input or one of the wrong type with `Stepback.InvalidInput`.
    fn lower_input(&mut self, scope: &mut Scope, next: String) -> String {
        let mut choices = Vec::new();
        for input in &self.workflow.inputs {
            let variable = payload::path(&Reference::Input(input.name.clone()));
            let is = |test: TypeTest| Rule::Test {
                variable: variable.clone(),
                test: Test::Is(test, true),
            };
            if input.default.is_none() {
                let fail = self.invalid_input(
                    &format!("Invalid input: {} is missing", input.name),
                    format!("input `{}` is required ({})", input.name, input.ty.name()),
                    scope,
                );
                choices.push(ChoiceRule {
                    rule: Rule::Not(Box::new(is(TypeTest::IsPresent))),
                    next: fail,
                });
            }
            let wrong = match input.ty {
                catalog::ValueType::String => Rule::Not(Box::new(is(TypeTest::IsString))),
                catalog::ValueType::Number => Rule::Not(Box::new(is(TypeTest::IsNumeric))),
                catalog::ValueType::Bool => Rule::Not(Box::new(is(TypeTest::IsBoolean))),
                // JSONPath Choice rules cannot tell a list from an object: reject every scalar.
                _ => Rule::Or(vec![
                    is(TypeTest::IsString),
                    is(TypeTest::IsNumeric),
                    is(TypeTest::IsBoolean),
                    is(TypeTest::IsNull),
                ]),
            };
            let fail = self.invalid_input(
                &format!("Invalid input: {} is not a {}", input.name, input.ty.name()),
                format!("input `{}` must be a {}", input.name, input.ty.name()),
                scope,
            );
            choices.push(ChoiceRule {
                rule: wrong,
                next: fail,
            });
            // A required string is never meant empty (an empty `to_version` deploys nothing), nor is one that
            // names a resource (an empty snapshot id filters nothing: RDS would answer its first snapshot); the
            // rule comes after the type test, so the value is a string here.
            let names = self.names_resource(&input.name);
            if (input.default.is_none() || names.is_some())
                && input.ty == catalog::ValueType::String
            {
                let cause = match names {
                    Some(param) => format!(
                        "input `{}` names a resource (`{param}`) and must not be empty",
                        input.name
                    ),
                    None => format!("input `{}` is required and must not be empty", input.name),
                };
                let fail = self.invalid_input(
                    &format!("Invalid input: {} is empty", input.name),
                    cause,
                    scope,
                );
                choices.push(ChoiceRule {
                    rule: Rule::Test {
                        variable: variable.clone(),
                        test: Test::Compare(Comparison::StringEquals, Operand::Literal(json!(""))),
                    },
                    next: fail,
                });
            }
        }
        let validated = if choices.is_empty() {
            next
        } else {
            self.overhead_events += events::CHOICE;
            self.overhead_nominal += events::CHOICE;
            self.name(
                "Input: validate",
                |_| {
                    State::Choice(Choice {
                        comment: Some(
                            "required inputs are present and every input has its type".to_owned(),
                        ),
                        choices,
                        default: Some(next),
                    })
                },
                scope,
            )
        };
        let mut defaults = Map::new();
        for input in &self.workflow.inputs {
            if let Some(default) = &input.default {
                let value = Value::Literal(default.clone());
                if let Err(message) = payload::insert(&mut defaults, &input.name, &value) {
                    self.errors.push(CompileError::Internal(message));
                }
            }
        }
        self.overhead_events += 2 * events::PASS;
        self.overhead_nominal += 2 * events::PASS;
        let merge = self.name("Input: normalise", |_| {
            State::Pass(Pass {
                comment: Some("the execution input over the defaults; no step results yet".to_owned()),
                parameters: Some(json!({ "input.$": "States.JsonMerge($.defaults, $.given, false)", "steps": {} })),
                ..Pass::to(Transition::Next(validated))
            })
        }, scope);
        let console = self.name(
            "Input: defaults",
            |_| {
                State::Pass(Pass {
                    comment: Some("start from the workflow's input defaults".to_owned()),
                    parameters: Some(
                        json!({ "defaults": defaults.clone(), "given.$": "$$.Execution.Input" }),
                    ),
                    ..Pass::to(Transition::Next(merge.clone()))
                })
            },
            scope,
        );
        match &self.workflow.trigger {
            Some(trigger) => self.lower_alarm_input(scope, trigger, defaults, merge, console),
            None => console,
        }
    }

    /// An EventBridge rule starts the machine with the alarm's event as its input (no InputTransformer, which
    /// would not escape a reason's quotes). These states recognise the event, keep the alarm's name, state,
    /// reason and time in the history, and fill the inputs from `[trigger].input`; any other input is a console
    /// or CLI start and goes on unchanged.
    fn lower_alarm_input(
        &mut self,
        scope: &mut Scope,
        trigger: &workflow::model::Trigger,
        defaults: Map<String, Json>,
        merge: String,
        console: String,
    ) -> String {
        let mut given = Map::new();
        for (name, value) in &trigger.input {
            if let Err(message) = payload::insert(&mut given, name, value) {
                self.errors.push(CompileError::Internal(format!(
                    "[trigger].input.{name}: {message}"
                )));
            }
        }
        self.overhead_events += 2 * events::PASS + events::CHOICE;
        let fill = self.name(
            "Input: from the alarm",
            |_| {
                State::Pass(Pass {
                    comment: Some(
                        "the inputs that [trigger].input fills from the alarm".to_owned(),
                    ),
                    parameters: Some(
                        json!({ "defaults": defaults, "given": given, "alarm.$": "$.alarm" }),
                    ),
                    ..Pass::to(Transition::Next(merge))
                })
            },
            scope,
        );
        // Where the event carries each `${alarm.*}` field (CloudWatch: "Alarm events and EventBridge").
        let fields: Map<String, Json> = [
            (AlarmField::Name, "$.detail.alarmName"),
            (AlarmField::State, "$.detail.state.value"),
            (AlarmField::Reason, "$.detail.state.reason"),
            (AlarmField::Time, "$.detail.state.timestamp"),
        ]
        .into_iter()
        .map(|(field, event_path)| {
            let path = payload::path(&Reference::Alarm(field));
            (alarm_key(&path), json!(event_path))
        })
        .collect();
        let read = self.name(
            "Input: read the alarm",
            |_| {
                State::Pass(Pass {
                    comment: Some(
                        "who started this rollback: the alarm's name, state, reason and time"
                            .to_owned(),
                    ),
                    parameters: Some(json!({ "alarm": fields })),
                    ..Pass::to(Transition::Next(fill))
                })
            },
            scope,
        );
        let detail_type = "$['detail-type']".to_owned();
        self.name(
            "Input: started by an alarm?",
            |_| {
                State::Choice(Choice {
                    comment: Some(format!(
                        "the `{}` event of one of the trigger's alarms, or a console start",
                        catalog::ALARM_DETAIL_TYPE
                    )),
                    choices: vec![ChoiceRule {
                        rule: Rule::And(vec![
                            Rule::Test {
                                variable: detail_type.clone(),
                                test: Test::Is(TypeTest::IsPresent, true),
                            },
                            Rule::Test {
                                variable: detail_type,
                                test: Test::Compare(
                                    Comparison::StringEquals,
                                    Operand::Literal(json!(catalog::ALARM_DETAIL_TYPE)),
                                ),
                            },
                        ]),
                        next: read,
                    }],
                    default: Some(console),
                })
            },
            scope,
        )
    }

    /// The contract's `start` request, with the step's params as a payload template.
    fn payload(&self, step: &Step) -> Result<Map<String, Json>, String> {
        let mut params = Map::new();
        for (key, value) in &step.params {
            let shell = step
                .action
                .param(key)
                .map_or(catalog::Shell::Not, |p| p.shell);
            payload::insert_run_by(&mut params, key, value, shell)?;
        }
        Ok(contract_payload(step.action.name, &step.id, params))
    }

    fn invoke_parameters(&self, step: &Step, payload: Map<String, Json>) -> Json {
        json!({ "FunctionName": self.function(step.action), "Payload": payload })
    }

    /// The function ARN: a `DefinitionSubstitutions` placeholder unless a value was given for it.
    fn function(&self, action: &catalog::ActionSpec) -> Json {
        let key = action.arn_substitution();
        Json::String(match self.substitutions.get(&key) {
            Some(arn) => arn.clone(),
            None => format!("${{{key}}}"),
        })
    }
}

/// `{version, action, operation: start, execution, params}` of [`catalog::contract::Request`].
fn contract_payload(action: &str, step: &str, params: Map<String, Json>) -> Map<String, Json> {
    let mut request = Map::new();
    request.insert(field::VERSION.to_owned(), json!(VERSION));
    request.insert(field::ACTION.to_owned(), json!(action));
    request.insert(field::OPERATION.to_owned(), json!(Operation::Start));
    request.insert(
        field::EXECUTION.to_owned(),
        json!({
            computed(field::EXECUTION_ID): "$$.Execution.Id",
            computed(field::EXECUTION_NAME): "$$.Execution.Name",
            computed(field::STATE_MACHINE): "$$.StateMachine.Id",
            field::STEP: step,
        }),
    );
    request.insert(field::PARAMS.to_owned(), Json::Object(params));
    request
}

/// The fields of a `start` or `poll` response that a polling loop reads.
const POLL_FIELDS: [&str; 7] = [
    field::STATUS,
    field::OUTPUT,
    field::STATE,
    field::PROGRESS,
    field::ERROR,
    field::CAUSE,
    field::CHANGED,
];

/// A payload key whose value is a path or an intrinsic: `<field>.$`.
fn computed(field: &str) -> String {
    format!("{field}.$")
}

/// Selects `fields` of [`catalog::contract::Response`] from a Lambda invoke's result. The Response always
/// carries them (null when unset), since selecting an absent field is a runtime error.
fn response_selector(fields: &[&str]) -> Json {
    fields
        .iter()
        .map(|&field| (computed(field), Json::String(format!("$.Payload.{field}"))))
        .collect::<Map<_, _>>()
        .into()
}

/// Adds the failing step's id to the error output at `$.failure`, then `next`. The Pass reads nothing, so a
/// failure without an `Error` or a `Cause` reaches the failure path, which fills them.
fn failure_record(step: &str, next: &str) -> State {
    State::Pass(Pass {
        comment: Some("remember which step failed, for the failure path".to_owned()),
        result: Some(json!(step)),
        result_path: Some(ResultPath::At("$.failure.step".to_owned())),
        ..Pass::to(Transition::Next(next.to_owned()))
    })
}

/// The steps that `${failure.completed}` lists, by index in declaration order, when an `[on_failure]` step reads
/// it: every step of `[steps]` that runs a Lambda and can be done when a failure comes, i.e. that some step which
/// can fail does not precede in the compiled nesting (`tree`). A step that every failing step precedes is never
/// done before a failure: listing it would add states that no execution reaches.
pub(crate) fn listed(workflow: &Workflow, tree: Option<&Tree>) -> Vec<usize> {
    let Some(tree) = tree.filter(|_| workflow.reads_failure(FailureField::Completed)) else {
        return Vec::new();
    };
    let mut before = vec![BTreeSet::new(); workflow.steps.len()];
    preceding(tree, &BTreeSet::new(), &mut before);
    let runs = |step: &Step| {
        step.action.runtime != Runtime::Native
            && !matches!(
                step.when.as_ref().map(condition::lower),
                Some(Ok(Folded::Never))
            )
    };
    let can_fail: Vec<usize> = (0..workflow.steps.len())
        .filter(|&i| {
            workflow
                .steps
                .get(i)
                .is_some_and(|s| runs(s) && !s.continue_on_error)
        })
        .collect();
    (0..workflow.steps.len())
        .filter(|&i| workflow.steps.get(i).is_some_and(runs))
        .filter(|&i| {
            can_fail
                .iter()
                .any(|&j| j != i && !before.get(i).is_some_and(|b| b.contains(&j)))
        })
        .collect()
}

/// For each step of `tree`, the steps that end before it starts: those of the earlier parts of every series it
/// is in.
fn preceding(tree: &Tree, prefix: &BTreeSet<usize>, before: &mut [BTreeSet<usize>]) {
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

/// Where a `Catch` on the way to the failure path puts Step Functions' error output `{Error, Cause}`.
fn raised() -> ResultPath {
    ResultPath::At("$.failure".to_owned())
}

/// Where a failed step goes: its first failure state, and where its `Catch` (and the poll loop's reported and
/// timed-out failures) put the error output.
struct Failed {
    state: String,
    raised_at: ResultPath,
}

impl Failed {
    fn catch(&self) -> Vec<Catcher> {
        vec![Catcher {
            error_equals: vec!["States.ALL".to_owned()],
            result_path: self.raised_at.clone(),
            next: self.state.clone(),
        }]
    }
}

fn retriers(step: &Step) -> Vec<Retrier> {
    retry_for(&step.retry)
}

/// The transient error, the Lambda service errors and a function's timeout, with the step's policy. Permanent
/// errors are never retried: retrying them only delays the failure path.
fn retry_for(spec: &catalog::RetrySpec) -> Vec<Retrier> {
    if spec.attempts == 0 {
        return Vec::new();
    }
    let mut errors = vec![ErrorName::Transient.as_str().to_owned()];
    errors.extend(
        LAMBDA_SERVICE_ERRORS
            .iter()
            .chain(&LAMBDA_FUNCTION_TIMEOUTS)
            .map(|e| (*e).to_owned()),
    );
    vec![Retrier {
        error_equals: errors,
        interval_seconds: spec.interval_secs.max(1),
        max_attempts: spec.attempts,
        backoff_rate: if spec.backoff.is_finite() {
            spec.backoff.max(1.0)
        } else {
            1.0
        },
        max_delay_seconds: spec.max_delay_secs.max(1),
        jitter_strategy: spec.jitter.then_some(Jitter::Full),
    }]
}

/// The state after a join: `$.steps` with every branch's results folded in.
fn merged_state() -> Json {
    json!({
        "input.$": "$.input",
        "steps.$": "States.JsonMerge($.steps, $.branches.merged, false)",
    })
}

/// `States.JsonMerge` of the branch results, left to right (`$[i]` alone is portable; `$[i].x` is not in moto).
fn merge_expression(branches: usize) -> String {
    let mut expression = "$[0]".to_owned();
    for i in 1..branches {
        expression = format!("States.JsonMerge({expression}, $[{i}], false)");
    }
    expression
}

/// `<action>: <description or summary>`.
fn describe(step: &Step) -> String {
    format!(
        "{}: {}",
        step.action.name,
        payload::comment(step.description.as_deref().unwrap_or(step.action.summary))
    )
}

/// `$.alarm.reason` → `reason.$`: the key under `alarm` that [`payload::path`] reads back.
fn alarm_key(path: &str) -> String {
    format!("{}.$", path.rsplit('.').next().unwrap_or_default())
}

/// A state name from a lowercase phrase: "another rollback is running" → "Another rollback is running".
fn capitalised(phrase: &str) -> String {
    let mut chars = phrase.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
