//! The guard, the first task: the machine's lock, the cooldown, and the execution input checked (declared keys,
//! lengths, names never empty) and filled (defaults, an alarm's event).

use catalog::contract::Operation;
use catalog::{ErrorName, HeldBack};
use serde_json::{Map, Value as Json, json};
use workflow::model::{AlarmField, Reference, Value};

use super::failure::{failure_record, raised};
use super::poll::computed;
use super::steps::{contract_payload, retry_for};
use super::{Lowering, Scope};
use crate::asl::{
    Catcher, Choice, ChoiceRule, Comparison, Fail, FailCause, FailError, LAMBDA_INVOKE, Operand,
    Pass, ResultPath, Rule, State, Task, Test, Transition, TypeTest,
};
use crate::payload;
use crate::{CompileError, events};

impl Lowering<'_> {
    /// A guard task first: the execution ends cleanly when another one of this state machine is running.
    pub(super) fn lower_guard(&mut self, scope: &mut Scope, body: String) -> String {
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
        let payload = contract_payload(guard.name, "guard", Operation::Start, params);
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
    pub(super) fn lower_held_back(&mut self, ended: &str, why: &str, scope: &mut Scope) -> String {
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
    pub(super) fn lower_undeclared_input(&mut self, scope: &mut Scope) -> String {
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
    pub(super) fn names_resource(&self, input: &str) -> Option<&'static str> {
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
    pub(super) fn invalid_input(
        &mut self,
        title: &str,
        cause: String,
        scope: &mut Scope,
    ) -> String {
        let fail = State::Fail(Fail {
            comment: None,
            error: FailError::Error(ErrorName::InvalidInput.as_str().to_owned()),
            cause: FailCause::Cause(cause),
        });
        self.name(title, |_| fail, scope)
    }

    /// Fill the defaults, then reject a missing input or one of the wrong type with `Stepback.InvalidInput`.
    pub(super) fn lower_input(&mut self, scope: &mut Scope, next: String) -> String {
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
    pub(super) fn lower_alarm_input(
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
}

/// `$.alarm.reason` → `reason.$`: the key under `alarm` that [`payload::path`] reads back.
pub(super) fn alarm_key(path: &str) -> String {
    format!("{}.$", path.rsplit('.').next().unwrap_or_default())
}

/// A state name from a lowercase phrase: "another rollback is running" → "Another rollback is running".
pub(super) fn capitalised(phrase: &str) -> String {
    let mut chars = phrase.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
