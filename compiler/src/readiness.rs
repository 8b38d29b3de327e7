//! `[readiness]` lowered: the readiness machine, an Express state machine that the stack's schedule starts. It
//! runs every step's read-only `check` in the step's own deployed function (so with the step's own role), all at
//! once in one `Parallel`, for the inputs an alarm's start gives and for the declared defaults, and hands what they
//! found to the `readiness` function, which records it (`catalog::readiness`).

use catalog::ActionSpec;
use catalog::contract::{Operation, field};
use catalog::readiness::{self as facts, Case};
use serde_json::{Map, Value as Json, json};
use workflow::Workflow;
use workflow::model::{Reference, Segment, Step, Value};

use crate::asl::{
    Catcher, LAMBDA_INVOKE, Parallel, Pass, ResultPath, State, StateMachine, States, Task,
    Transition,
};
use crate::lower::{contract_payload, retry_for};

/// One check the readiness machine runs: a step's, with the params known before a run in the cases it holds for
/// (a param whose value is not known then is `null`, which the check reports as not yet knowable).
#[derive(Clone, Debug)]
pub struct Check {
    pub step: String,
    pub action: &'static ActionSpec,
    pub cases: Vec<Case>,
    pub params: Map<String, Json>,
}

/// The step id under which the guard's check runs, as `stepback preflight` names it.
pub const GUARD_STEP: &str = "guard";

/// The input of a start in `case`: the declared defaults; for an alarm's start, with what `[trigger].input`
/// writes, a literal known now, a value from the alarm not.
pub fn case_input(workflow: &Workflow, case: Case) -> Map<String, Json> {
    let mut input: Map<String, Json> = workflow
        .inputs
        .iter()
        .filter_map(|i| Some((i.name.clone(), i.default.clone()?)))
        .collect();
    if case == Case::AlarmStart
        && let Some(trigger) = &workflow.trigger
    {
        for (name, value) in &trigger.input {
            match value {
                Value::Literal(literal) => input.insert(name.clone(), literal.clone()),
                _ => input.remove(name),
            };
        }
    }
    input
}

/// The cases a workflow's readiness checks: an alarm's start only with `[trigger]`.
pub fn cases(workflow: &Workflow) -> Vec<Case> {
    let mut cases = Vec::new();
    if workflow.trigger.is_some() {
        cases.push(Case::AlarmStart);
    }
    cases.push(Case::Defaults);
    cases
}

/// Every check of the readiness machine, in the workflow's order (`[on_failure]` steps too, then the guard): a
/// step checked once for the cases that give it the same params, and not at all in a case whose input makes its
/// `when` false.
pub fn checks(workflow: &Workflow) -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    for step in workflow.steps.iter().chain(&workflow.on_failure) {
        for case in cases(workflow) {
            let input = case_input(workflow, case);
            let off = step.when.as_ref().is_some_and(|when| {
                crate::timeline::holds(when, &|name| input.get(name).cloned()) == Some(false)
            });
            if off {
                continue;
            }
            let params = check_params(step, &input);
            match checks
                .iter_mut()
                .find(|c| c.step == step.id && c.params == params)
            {
                Some(same) => same.cases.push(case),
                None => checks.push(Check {
                    step: step.id.clone(),
                    action: step.action,
                    cases: vec![case],
                    params,
                }),
            }
        }
    }
    if let Some(guard) = catalog::action(GUARD_STEP) {
        checks.push(Check {
            step: GUARD_STEP.to_owned(),
            action: guard,
            cases: cases(workflow),
            params: Map::new(),
        });
    }
    checks
}

/// The step's params as a check gets them before a run: `null` for a value not known from `input`, and for text
/// holding `${`, which deploy-time substitution would read (it stays out of every definition).
fn check_params(step: &Step, input: &Map<String, Json>) -> Map<String, Json> {
    step.params
        .iter()
        .map(|(name, value)| {
            let known = known_value(value, input)
                .ok()
                .filter(|json| !json.to_string().contains("${"));
            (name.clone(), known.unwrap_or(Json::Null))
        })
        .collect()
}

/// A param's value known before a run: a literal, or what known inputs fill; else the first reference that is not
/// known then. `stepback preflight` resolves its params so too.
pub fn known_value(value: &Value, input: &Map<String, Json>) -> Result<Json, Reference> {
    let reference = |r: &Reference| match r {
        Reference::Input(name) => input.get(name).cloned().ok_or_else(|| r.clone()),
        other => Err(other.clone()),
    };
    match value {
        Value::Literal(json) => Ok(json.clone()),
        Value::Ref(r) => reference(r),
        Value::Template(segments) => {
            let mut text = String::new();
            for segment in segments {
                match segment {
                    Segment::Text(t) => text.push_str(t),
                    Segment::Ref(r) => match reference(r)? {
                        Json::String(s) => text.push_str(&s),
                        other => text.push_str(&other.to_string()),
                    },
                }
            }
            Ok(Json::String(text))
        }
        Value::List(items) => items
            .iter()
            .map(|item| known_value(item, input))
            .collect::<Result<_, _>>()
            .map(Json::Array),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| Ok((k.clone(), known_value(v, input)?)))
            .collect::<Result<_, _>>()
            .map(Json::Object),
    }
}

/// The `DefinitionSubstitutions` key of the rollback's state machine ARN, which the checks act for.
pub const ROLLBACK_MACHINE: &str = "StepbackRollbackMachineArn";

/// The state that runs the checks, and the one that records them.
const CHECKS_STATE: &str = "Check every step";
const RECORD_STATE: &str = "Record";

/// The readiness machine of `workflow` (whose `[readiness]` is on): a `Parallel` of one branch per [`Check`],
/// each invoking the step's function (`${Stepback<Action>Arn}`, as the rollback's machine names it) with
/// `operation: check`; a check that fails is caught into a branch result that says so, so that one broken
/// function never hides the others' findings. Then the `readiness` function gets them all.
pub fn machine(workflow: &Workflow) -> StateMachine {
    let has_trigger = workflow.trigger.is_some();
    let branches = checks(workflow)
        .iter()
        .map(|check| branch(check, has_trigger))
        .collect();
    let mut params = Map::new();
    params.insert(facts::WORKFLOW.to_owned(), json!(workflow.name));
    params.insert(format!("{}.$", facts::CHECKS), json!("$"));
    let readiness = workflow.readiness.as_ref();
    if let Some(topic) = readiness.and_then(|r| r.topic.as_ref()) {
        params.insert(facts::TOPIC.to_owned(), json!(topic));
    }
    if workflow.trigger.is_some() {
        params.insert(
            facts::RULE.to_owned(),
            json!(facts::trigger_rule(&workflow.name)),
        );
    }
    let record = catalog::action(facts::ACTION).map(|action| {
        let payload = contract_payload(action.name, facts::ACTION, Operation::Start, params);
        Task {
            comment: Some(
                "the metrics, the notice when the steps that cannot run change, the trigger armed"
                    .to_owned(),
            ),
            resource: LAMBDA_INVOKE.to_owned(),
            parameters: Some(
                json!({ "FunctionName": function(action), "Payload": Json::Object(payload) }),
            ),
            result_selector: Some(
                json!({ format!("{}.$", field::OUTPUT): format!("$.Payload.{}", field::OUTPUT) }),
            ),
            result_path: None,
            output_path: None,
            timeout_seconds: Some(u64::from(action.function.timeout_secs)),
            retry: retry_for(&action.default_retry),
            catch: Vec::new(),
            transition: Transition::End,
        }
    });
    let mut states = vec![(
        CHECKS_STATE.to_owned(),
        State::Parallel(Parallel {
            comment: Some(format!(
                "each step's read-only check with its own function and role: {}",
                cases(workflow)
                    .iter()
                    .map(|c| c.describe())
                    .collect::<Vec<_>>()
                    .join(", and ")
            )),
            branches,
            parameters: None,
            result_selector: None,
            result_path: None,
            output_path: None,
            catch: Vec::new(),
            transition: match record {
                Some(_) => Transition::Next(RECORD_STATE.to_owned()),
                None => Transition::End,
            },
        }),
    )];
    if let Some(record) = record {
        states.push((RECORD_STATE.to_owned(), State::Task(record)));
    }
    StateMachine {
        comment: Some(format!(
            "stepback readiness of `{}`: whether the rollback could run now",
            workflow.name
        )),
        start_at: CHECKS_STATE.to_owned(),
        states: States(states),
    }
}

fn function(action: &ActionSpec) -> Json {
    json!(format!("${{{}}}", action.arn_substitution()))
}

/// One branch: the check, and what a failed invocation becomes.
fn branch(check: &Check, has_trigger: bool) -> StateMachine {
    // State names are unique in the whole machine: a step checked apart per case names its case.
    let name = match check.cases.as_slice() {
        [Case::AlarmStart] => format!("{} (alarm start)", check.step),
        [Case::Defaults] if has_trigger => format!("{} (defaults)", check.step),
        _ => check.step.clone(),
    };
    let failed = format!("{name}: failed");
    let mut payload = contract_payload(
        check.action.name,
        &check.step,
        Operation::Check,
        check.params.clone(),
    );
    // The check looks on behalf of the rollback's machine, as `stepback preflight` does: the guard finds its
    // lock table by that machine's name.
    if let Some(execution) = payload
        .get_mut(field::EXECUTION)
        .and_then(Json::as_object_mut)
    {
        execution.remove(&format!("{}.$", field::STATE_MACHINE));
        execution.insert(
            field::STATE_MACHINE.to_owned(),
            json!(format!("${{{ROLLBACK_MACHINE}}}")),
        );
    }
    let task = Task {
        comment: None,
        resource: LAMBDA_INVOKE.to_owned(),
        parameters: Some(
            json!({ "FunctionName": function(check.action), "Payload": Json::Object(payload) }),
        ),
        result_selector: Some(json!({
            "step": check.step,
            "cases": check.cases,
            "findings.$": format!("$.Payload.{}.findings", field::OUTPUT),
        })),
        result_path: None,
        output_path: None,
        timeout_seconds: Some(u64::from(check.action.function.timeout_secs)),
        retry: retry_for(&check.action.default_retry),
        catch: vec![Catcher {
            error_equals: vec!["States.ALL".to_owned()],
            result_path: ResultPath::At("$.failed".to_owned()),
            next: failed.clone(),
        }],
        transition: Transition::End,
    };
    // The error output's `Error` and `Cause` may each be missing: it is handed on whole, and the function reads it.
    let caught = Pass {
        parameters: Some(json!({
            "step": check.step,
            "cases": check.cases,
            "findings": [],
            "failed.$": "$.failed",
        })),
        ..Pass::to(Transition::End)
    };
    StateMachine {
        comment: None,
        start_at: name.clone(),
        states: States(vec![
            (name, State::Task(task)),
            (failed, State::Pass(caught)),
        ]),
    }
}

/// AWS's published prices that readiness pays, in US dollars, us-east-1, before any free tier (which is the
/// account's, shared with everything else), as read on [`PRICES_DATE`]: Step Functions Express $1.00 per million
/// requests and $0.00001667 per GB-second of duration, billed in 100 ms and 64 MB steps
/// (aws.amazon.com/step-functions/pricing); Lambda on arm64 $0.20 per million requests and $0.0000133334 per
/// GB-second (aws.amazon.com/lambda/pricing); CloudWatch $0.30 per custom metric a month (the first 10,000),
/// $0.01 per 1,000 API requests (PutMetricData), $0.10 per standard-resolution alarm metric a month
/// (aws.amazon.com/cloudwatch/pricing); EventBridge's scheduled rules are not charged ("All events except custom
/// events are included", ibid.). The GB-second prices are as remembered, not read again: the stored copies of the
/// pages stop before their tables.
pub const PRICES_DATE: &str = "2026-12-08";
const EXPRESS_REQUEST: f64 = 1.00 / 1e6;
const EXPRESS_GB_SECOND: f64 = 0.000_016_67;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
const METRIC_MONTH: f64 = 0.30;
const API_REQUEST: f64 = 0.01 / 1000.0;
const ALARM_MONTH: f64 = 0.10;
/// What a run takes, for the duration charges: the Express machine waits for its slowest check (a few API calls,
/// 2 s assumed) in its smallest memory step (64 MB), and each function runs a few calls (300 ms assumed).
const RUN_SECS: f64 = 2.0;
const EXPRESS_GB: f64 = 64.0 / 1024.0;
const INVOCATION_SECS: f64 = 0.3;
/// A month as the prices count it.
const MONTH_SECS: u64 = 30 * 24 * 60 * 60;

/// What readiness costs a month at its interval, part by part.
#[derive(Clone, Debug, PartialEq)]
pub struct Cost {
    pub runs: u64,
    /// `(what, dollars a month)`.
    pub parts: Vec<(String, f64)>,
}

impl Cost {
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|(_, dollars)| dollars).sum()
    }
}

/// The monthly cost of `workflow`'s readiness; `None` when it is off.
pub fn monthly_cost(workflow: &Workflow) -> Option<Cost> {
    let readiness = workflow.readiness.as_ref()?;
    let runs = MONTH_SECS / readiness.interval_secs.max(1);
    let checks = checks(workflow);
    let steps = {
        let mut steps: Vec<&str> = checks.iter().map(|c| c.step.as_str()).collect();
        steps.dedup();
        steps.len()
    };
    let runs_f = runs as f64;
    let invocations = checks.len() + 1;
    let gb_seconds: f64 = checks
        .iter()
        .map(|c| c.action)
        .chain(catalog::action(facts::ACTION))
        .map(|a| f64::from(a.function.memory_mb) / 1024.0 * INVOCATION_SECS)
        .sum();
    Some(Cost {
        runs,
        parts: vec![
            (
                format!("{runs} Express runs ({RUN_SECS} s at 64 MB each)"),
                runs_f * (EXPRESS_REQUEST + RUN_SECS * EXPRESS_GB * EXPRESS_GB_SECOND),
            ),
            (
                format!(
                    "{} Lambda invocations ({invocations} a run, {INVOCATION_SECS} s each)",
                    runs * invocations as u64
                ),
                runs_f * (invocations as f64 * LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND),
            ),
            (
                format!("{} metrics (each step and the whole)", steps + 1),
                (steps + 1) as f64 * METRIC_MONTH,
            ),
            (
                format!("{runs} PutMetricData requests"),
                runs_f * API_REQUEST,
            ),
            ("1 alarm".to_owned(), ALARM_MONTH),
            ("the schedule (EventBridge rule)".to_owned(), 0.0),
        ],
    })
}
