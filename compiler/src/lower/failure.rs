//! The failure path: a failure recorded and raised, its missing `Error` or `Cause` filled, a Lambda's JSON
//! error decoded, `${failure.completed}` listed, then the `[on_failure]` steps and the final `Fail`.

use std::collections::BTreeSet;

use catalog::contract::{Status, field};
use catalog::manifest::StatePart;
use catalog::{ErrorName, Runtime};
use serde_json::json;
use workflow::Workflow;
use workflow::model::{FailureField, Step};

use super::tree::preceding;
use super::{Lowering, Route, Scope, TIMEOUT};
use crate::asl::{
    Catcher, Choice, ChoiceRule, Comparison, Fail, FailCause, FailError, Operand, Pass, ResultPath,
    Rule, State, Test, Transition, TypeTest,
};
use crate::condition::{self, Folded};
use crate::events;
use crate::payload::step_path;
use crate::schedule::Tree;

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

impl Lowering<'_> {
    /// The states a failed step goes to: where its `Catch` puts the error output, and the first state.
    pub(super) fn failure_states(
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
    pub(super) fn lower_failure_path(&mut self, scope: &mut Scope) -> String {
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
    pub(super) fn lower_completed(&mut self, scope: &mut Scope, next: String) -> String {
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
            next = self.name(
                &format!("Completed: {id}?"),
                |_| when_string(&line, add, &next),
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
    pub(super) fn reserved_error_names(&mut self, scope: &mut Scope, fail: String) -> String {
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
    pub(super) fn fill_missing(
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
    pub(super) fn lower_lambda_error(&mut self, scope: &mut Scope, next: String) -> String {
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
        let has_message = self.name(
            "Failure: has a message?",
            |_| when_string(message, take, &next),
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
}

/// Adds the failing step's id to the error output at `$.failure`, then `next`. The Pass reads nothing, so a
/// failure without an `Error` or a `Cause` reaches the failure path, which fills them.
/// A Choice to `string` when `variable` holds a string, else to `otherwise`. The rules are ordered: the type test
/// only sees a field that is present (a Choice rule on a missing field is a runtime error).
fn when_string(variable: &str, string: String, otherwise: &str) -> State {
    let not = |test: TypeTest| ChoiceRule {
        rule: Rule::Test {
            variable: variable.to_owned(),
            test: Test::Is(test, false),
        },
        next: otherwise.to_owned(),
    };
    State::Choice(Choice {
        comment: None,
        choices: vec![not(TypeTest::IsPresent), not(TypeTest::IsString)],
        default: Some(string),
    })
}

pub(super) fn failure_record(step: &str, next: &str) -> State {
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

/// Where a `Catch` on the way to the failure path puts Step Functions' error output `{Error, Cause}`.
pub(super) fn raised() -> ResultPath {
    ResultPath::At("$.failure".to_owned())
}

/// Where a failed step goes: its first failure state, and where its `Catch` (and the poll loop's reported and
/// timed-out failures) put the error output.
pub(super) struct Failed {
    pub(super) state: String,
    pub(super) raised_at: ResultPath,
}

impl Failed {
    pub(super) fn catch(&self) -> Vec<Catcher> {
        vec![Catcher {
            error_equals: vec!["States.ALL".to_owned()],
            result_path: self.raised_at.clone(),
            next: self.state.clone(),
        }]
    }
}
