//! `readiness`: what the readiness machine's checks found, recorded (`catalog::readiness`):
//! - metric `Ready` (1 or 0) per step and for the whole rollback, for the alarm and dashboards;
//! - when the steps that cannot run differ from the last run's (the lock table's `readiness` item), a notice to
//!   the topic naming each step, its resources and the fixes, as `stepback preflight` prints them: an alarm's own
//!   message cannot carry them. Published before the item is written, so a failed publish is sent again on the
//!   retry or the next run, and two runs at once may both send it (a duplicate, never a loss);
//! - `[trigger]`'s rule enabled the first time every step can run: the rule is deployed disabled. Once armed, the
//!   item says so and a person's DisableRule stays (during maintenance, say).

use std::time::SystemTime;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::RuleState;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use catalog::contract::{Execution, Finding, Response};
use catalog::readiness::{self as facts, StepChecked};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, Invoke, notify};
use crate::check::Known;
use crate::{ActionError, Call, Clients, done};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub workflow: String,
    pub checks: Vec<StepChecked>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub ready: bool,
    pub not_ready: Vec<String>,
}

/// Records one readiness run.
pub struct Readiness;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::invoke::<Readiness>()];

impl Action for Readiness {
    const NAME: &str = facts::ACTION;
    type Params = Params;

    /// Nothing of a rollback runs through it: `stepback preflight` does not check it.
    async fn check(_: &Clients, _: &Known, _: &Execution) -> Vec<Finding> {
        Vec::new()
    }
}

impl Invoke for Readiness {
    async fn invoke(clients: &Clients, call: Call<Params>) -> Result<Response, ActionError> {
        let params = call.params;
        let verdict = Run::of(&params.checks);
        put_metrics(clients, &params.workflow, &verdict).await?;
        let item = Item::new(&params.workflow);
        let last = item.read(clients).await?;
        let now = DateTime::from(SystemTime::now());
        let armed_now = match (&params.rule, verdict.not_ready.is_empty(), &last.armed) {
            (Some(rule), true, None) => Some(arm(clients, rule).await?),
            _ => None,
        };
        if last.not_ready.as_ref() != Some(&verdict.not_ready) {
            if let Some(topic) = &params.topic {
                let (subject, message) = notice(&params, &verdict, &last, armed_now, &now);
                notify::publish(clients, topic, Some(&subject), message).await?;
            }
            item.write(clients, &verdict.not_ready, &now).await?;
        }
        if armed_now.is_some() {
            item.armed(clients, &now).await?;
        }
        done(&Output {
            ready: verdict.not_ready.is_empty(),
            not_ready: verdict.not_ready,
        })
    }
}

/// Each step's verdict, in the order the checks came (the workflow's).
struct Run {
    steps: Vec<(String, bool)>,
    not_ready: Vec<String>,
}

impl Run {
    fn of(checks: &[StepChecked]) -> Run {
        let mut steps: Vec<(String, bool)> = Vec::new();
        for check in checks {
            match steps.iter_mut().find(|(step, _)| *step == check.step) {
                Some((_, ready)) => *ready &= check.ready(),
                None => steps.push((check.step.clone(), check.ready())),
            }
        }
        let not_ready = steps
            .iter()
            .filter(|(_, ready)| !ready)
            .map(|(step, _)| step.clone())
            .collect();
        Run { steps, not_ready }
    }
}

/// `Ready` per step and for the whole, in one request (CloudWatch takes up to 1,000 metrics a request:
/// PutMetricData API reference).
async fn put_metrics(clients: &Clients, workflow: &str, verdict: &Run) -> Result<(), ActionError> {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let datum = |dimensions: Vec<Dimension>, ready: bool| {
        MetricDatum::builder()
            .metric_name(facts::METRIC)
            .set_dimensions(Some(dimensions))
            .value(if ready { 1.0 } else { 0.0 })
            .build()
    };
    let whole = dimension(facts::WORKFLOW_DIMENSION, workflow);
    let mut data = vec![datum(vec![whole.clone()], verdict.not_ready.is_empty())];
    data.extend(verdict.steps.iter().map(|(step, ready)| {
        datum(
            vec![whole.clone(), dimension(facts::STEP_DIMENSION, step)],
            *ready,
        )
    }));
    clients
        .aws(aws_sdk_cloudwatch::Client::new)
        .put_metric_data()
        .namespace(facts::NAMESPACE)
        .set_metric_data(Some(data))
        .send()
        .await
        .map_err(|e| ActionError::aws(format!("put the metrics of `{workflow}`"), e))?;
    Ok(())
}

/// Enables the rule unless it already is (`stepback preflight` may have): whether this run enabled it.
async fn arm(clients: &Clients, rule: &str) -> Result<bool, ActionError> {
    let events = clients.aws(aws_sdk_eventbridge::Client::new);
    let described = events
        .describe_rule()
        .name(rule)
        .send()
        .await
        .map_err(|e| ActionError::aws(format!("describe the trigger's rule `{rule}`"), e))?;
    if described.state() == Some(&RuleState::Enabled) {
        return Ok(false);
    }
    events
        .enable_rule()
        .name(rule)
        .send()
        .await
        .map_err(|e| ActionError::aws(format!("enable the trigger's rule `{rule}`"), e))?;
    Ok(true)
}

/// The last run's verdict, as the item keeps it.
#[derive(Debug, Default)]
struct Last {
    /// `None` before the first run.
    not_ready: Option<Vec<String>>,
    /// Since when the steps have been as they are.
    since: Option<String>,
    /// When a readiness run armed the trigger.
    armed: Option<String>,
}

const NOT_READY: &str = "not_ready";
const SINCE: &str = "since";
const ARMED: &str = "armed";

/// The lock table's `readiness` item.
struct Item {
    table: String,
}

impl Item {
    fn new(workflow: &str) -> Item {
        Item {
            table: catalog::names::lock_table(workflow),
        }
    }

    fn key() -> AttributeValue {
        AttributeValue::S(facts::ITEM.to_owned())
    }

    async fn read(&self, clients: &Clients) -> Result<Last, ActionError> {
        let answer = clients
            .aws(aws_sdk_dynamodb::Client::new)
            .get_item()
            .table_name(&self.table)
            .key(catalog::LOCK_KEY, Item::key())
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                ActionError::aws(format!("read the last verdict in `{}`", self.table), e)
            })?;
        let Some(item) = answer.item else {
            return Ok(Last::default());
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        Ok(Last {
            not_ready: item
                .get(NOT_READY)
                .and_then(|v| v.as_l().ok())
                .map(|steps| {
                    steps
                        .iter()
                        .filter_map(|s| s.as_s().ok().cloned())
                        .collect()
                }),
            since: text(SINCE),
            armed: text(ARMED),
        })
    }

    async fn write(
        &self,
        clients: &Clients,
        not_ready: &[String],
        now: &DateTime,
    ) -> Result<(), ActionError> {
        let steps = not_ready
            .iter()
            .map(|s| AttributeValue::S(s.clone()))
            .collect();
        self.set(
            clients,
            "SET #not_ready = :not_ready, #since = :now",
            &[
                (NOT_READY, ":not_ready", AttributeValue::L(steps)),
                (SINCE, ":now", time(now)),
            ],
        )
        .await
    }

    async fn armed(&self, clients: &Clients, now: &DateTime) -> Result<(), ActionError> {
        self.set(clients, "SET #armed = :now", &[(ARMED, ":now", time(now))])
            .await
    }

    async fn set(
        &self,
        clients: &Clients,
        expression: &str,
        values: &[(&str, &str, AttributeValue)],
    ) -> Result<(), ActionError> {
        let mut update = clients
            .aws(aws_sdk_dynamodb::Client::new)
            .update_item()
            .table_name(&self.table)
            .key(catalog::LOCK_KEY, Item::key())
            .update_expression(expression);
        for (name, placeholder, value) in values {
            update = update
                .expression_attribute_names(format!("#{name}"), *name)
                .expression_attribute_values(*placeholder, value.clone());
        }
        update
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ActionError::aws(format!("record the verdict in `{}`", self.table), e))
    }
}

fn time(at: &DateTime) -> AttributeValue {
    AttributeValue::S(at.fmt(Format::DateTime).unwrap_or_default())
}

/// The notice: which steps cannot run and why, each resource with its fix, or that every step can run again.
fn notice(
    params: &Params,
    verdict: &Run,
    last: &Last,
    armed_now: Option<bool>,
    now: &DateTime,
) -> (String, String) {
    let workflow = &params.workflow;
    let total = verdict.steps.len();
    let at = now.fmt(Format::DateTime).unwrap_or_default();
    let mut text = String::new();
    let subject = if verdict.not_ready.is_empty() {
        text.push_str(&format!(
            "{workflow} can run: the readiness checks of all {total} steps passed at {at}.\n"
        ));
        if let (Some(before), Some(since)) = (&last.not_ready, &last.since)
            && !before.is_empty()
        {
            text.push_str(&format!(
                "Not ready since {since}: {}.\n",
                before.join(", ")
            ));
        }
        format!("stepback: {workflow} is ready")
    } else {
        let count = verdict.not_ready.len();
        text.push_str(&format!(
            "{workflow} could not run now: {count} of {total} steps would fail, found by the readiness checks at {at}.\n"
        ));
        for check in params.checks.iter().filter(|c| !c.ready()) {
            let cases: Vec<&str> = check.cases.iter().map(|c| c.describe()).collect();
            text.push_str(&format!("\n{} ({})\n", check.step, cases.join(", and ")));
            if let Some(failed) = &check.failed {
                let error = failed["Error"].as_str().unwrap_or("an unnamed error");
                let cause = failed["Cause"].as_str().unwrap_or_default();
                text.push_str(&format!(
                    "  error      its check did not answer: {error} {cause}\n             fix: read the function's logs\n"
                ));
            }
            for finding in check.findings.iter().filter(|f| !f.verdict.lets_run()) {
                text.push_str(&format!(
                    "  {:<10} {}: {}\n",
                    finding.verdict.as_str(),
                    finding.resource,
                    finding.detail
                ));
                if !finding.fix.is_empty() {
                    text.push_str(&format!("             fix: {}\n", finding.fix));
                }
            }
        }
        let still: Vec<&str> = verdict
            .steps
            .iter()
            .filter(|(_, ready)| *ready)
            .map(|(step, _)| step.as_str())
            .collect();
        if !still.is_empty() {
            text.push_str(&format!("\nReady: {}.\n", still.join(", ")));
        }
        format!(
            "stepback: {workflow} could not run: {}",
            verdict.not_ready.join(", ")
        )
    };
    match (armed_now, &params.rule) {
        (Some(true), Some(rule)) => text.push_str(&format!(
            "The alarm trigger (EventBridge rule `{rule}`) is armed now: its alarms start the rollback.\n"
        )),
        (None, Some(rule)) if last.armed.is_none() && !verdict.not_ready.is_empty() => {
            text.push_str(&format!(
                "The alarm trigger (EventBridge rule `{rule}`) stays disabled until every step can run.\n"
            ))
        }
        _ => {}
    }
    text.push_str(
        "\n`stepback readiness --stack <stack>` shows the verdict and the last day; `stepback preflight` checks again now.\n",
    );
    (subject, text)
}
