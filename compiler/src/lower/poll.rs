//! A long step's poll loop: `start`, then Wait and `poll` until done, failed or past its timeout.

use catalog::ErrorName;
use catalog::contract::{Operation, field};
use catalog::manifest::StatePart;
use serde_json::{Map, Value as Json, json};
use workflow::model::Step;

use super::failure::Failed;
use super::steps::{describe, retriers};
use super::{Lowering, Scope};
use crate::asl::{
    self, Choice, ChoiceRule, Comparison, LAMBDA_INVOKE, Operand, Pass, ResultPath, Rule, State,
    Task, Test, Transition, Wait, WaitFor,
};
use crate::events;
use crate::payload::step_path;

impl Lowering<'_> {
    /// `start`, then Wait → `poll` → Choice until done, failed, or past the step's timeout. The poll task
    /// carries the loop's counter: its request's `poll` is one more than the last, the Lambda answers it back,
    /// and its `ResultSelector` keeps it with the next wait, so a poll is three states (no counting Pass).
    pub(super) fn lower_poll(
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
}

/// The fields of a `start` or `poll` response that a polling loop reads.
pub(super) const POLL_FIELDS: [&str; 7] = [
    field::STATUS,
    field::OUTPUT,
    field::STATE,
    field::PROGRESS,
    field::ERROR,
    field::CAUSE,
    field::CHANGED,
];

/// A payload key whose value is a path or an intrinsic: `<field>.$`.
pub(super) fn computed(field: &str) -> String {
    format!("{field}.$")
}

/// Selects `fields` of [`catalog::contract::Response`] from a Lambda invoke's result. The Response always
/// carries them (null when unset), since selecting an absent field is a runtime error.
pub(super) fn response_selector(fields: &[&str]) -> Json {
    fields
        .iter()
        .map(|&field| (computed(field), Json::String(format!("$.Payload.{field}"))))
        .collect::<Map<_, _>>()
        .into()
}
