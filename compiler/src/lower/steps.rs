//! One step: its `when`, its Task (a Lambda invoke, an approval's `waitForTaskToken`) or Wait, its `Retry` and
//! `Catch`, its payload and function.

use catalog::contract::{Operation, Status, VERSION, field};
use catalog::manifest::StatePart;
use catalog::{ErrorName, LAMBDA_FUNCTION_TIMEOUTS, LAMBDA_SERVICE_ERRORS, Runtime};
use serde_json::{Map, Value as Json, json};
use workflow::model::{Step, Value};

use super::failure::Failed;
use super::poll::{computed, response_selector};
use super::{Lowering, Route, Scope, TIMEOUT};
use crate::asl::{
    Catcher, Choice, ChoiceRule, Jitter, LAMBDA_INVOKE, LAMBDA_INVOKE_WITH_TOKEN, Pass, ResultPath,
    Retrier, State, Task, Transition, Wait, WaitFor,
};
use crate::condition::{self, Folded};
use crate::payload::{self, step_path};
use crate::{CompileError, events};

impl Lowering<'_> {
    /// Lowers one step, remembering the states it added (a step's states are all in the scope it is lowered in).
    pub(super) fn lower_step(
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

    pub(super) fn lower_step_states(
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
    pub(super) fn add_events(&mut self, step: &str, worst: u64, nominal: u64) {
        *self.step_events.entry(step.to_owned()).or_default() += worst;
        *self.step_nominal.entry(step.to_owned()).or_default() += nominal;
    }

    pub(super) fn lower_action(
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
    pub(super) fn timeout_catch(
        &mut self,
        scope: &mut Scope,
        step: &Step,
        failed: &Failed,
    ) -> Vec<Catcher> {
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

    pub(super) fn lower_wait(
        &mut self,
        scope: &mut Scope,
        step: &Step,
        next: &Transition,
    ) -> String {
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

    /// The contract's `start` request, with the step's params as a payload template.
    pub(super) fn payload(&self, step: &Step) -> Result<Map<String, Json>, String> {
        let mut params = Map::new();
        for (key, value) in &step.params {
            let shell = step
                .action
                .param(key)
                .map_or(catalog::Shell::Not, |p| p.shell);
            payload::insert_run_by(&mut params, key, value, shell)?;
        }
        Ok(contract_payload(
            step.action.name,
            &step.id,
            Operation::Start,
            params,
        ))
    }

    pub(super) fn invoke_parameters(&self, step: &Step, payload: Map<String, Json>) -> Json {
        json!({ "FunctionName": self.function(step.action), "Payload": payload })
    }

    /// The function ARN: a `DefinitionSubstitutions` placeholder unless a value was given for it.
    pub(super) fn function(&self, action: &catalog::ActionSpec) -> Json {
        let key = action.arn_substitution();
        Json::String(match self.substitutions.get(&key) {
            Some(arn) => arn.clone(),
            None => format!("${{{key}}}"),
        })
    }
}

/// `{version, action, operation, execution, params}` of [`catalog::contract::Request`].
pub(crate) fn contract_payload(
    action: &str,
    step: &str,
    operation: Operation,
    params: Map<String, Json>,
) -> Map<String, Json> {
    let mut request = Map::new();
    request.insert(field::VERSION.to_owned(), json!(VERSION));
    request.insert(field::ACTION.to_owned(), json!(action));
    request.insert(field::OPERATION.to_owned(), json!(operation));
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

pub(super) fn retriers(step: &Step) -> Vec<Retrier> {
    retry_for(&step.retry)
}

/// The transient error, the Lambda service errors and a function's timeout, with the step's policy. Permanent
/// errors are never retried: retrying them only delays the failure path.
pub(crate) fn retry_for(spec: &catalog::RetrySpec) -> Vec<Retrier> {
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

/// `<action>: <description or summary>`.
pub(super) fn describe(step: &Step) -> String {
    format!(
        "{}: {}",
        step.action.name,
        payload::comment(step.description.as_deref().unwrap_or(step.action.summary))
    )
}
