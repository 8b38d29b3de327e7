//! `check.alarms`: DescribeAlarms until every alarm is in the expected state.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub alarms: Vec<String>,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`; default `OK`.
    pub state: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub states: BTreeMap<String, String>,
}

/// Start and poll look the same: every invocation reads the alarms afresh, so there is no state.
pub struct CheckAlarms;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<CheckAlarms>()];

impl Action for CheckAlarms {
    const NAME: &str = "check.alarms";
    type Params = Params;

    /// Every alarm exists; their states now say nothing about after the rollback.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let alarms: Vec<String> = match params.required("alarms") {
            Ok(alarms) => alarms,
            Err(unknown) => return vec![unknown.finding("CloudWatch alarms")],
        };
        let resource = format!("CloudWatch alarms {}", alarms.join(", "));
        let states = match alarm_states(clients, &alarms).await {
            Ok(states) => states,
            Err(error) => return vec![check::failed(resource, &error, "")],
        };
        let missing: Vec<_> = alarms
            .iter()
            .filter(|a| !states.contains_key(*a))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            let now: Vec<_> = states.iter().map(|(a, s)| format!("{a} {s}")).collect();
            return vec![check::ok(
                resource,
                format!("exist; now {}", now.join(", ")),
            )];
        }
        vec![check::bad(
            Verdict::Missing,
            resource,
            format!("not found: {}", missing.join(", ")),
            "create the alarms, or fix their names in `alarms` (names are case-sensitive)",
        )]
    }
}

impl LongAction for CheckAlarms {
    type State = ();

    async fn start(_: &Clients, _: &Call<Params>) -> Result<(), ActionError> {
        Ok(())
    }

    async fn observe(
        clients: &Clients,
        call: &Call<Params>,
        (): (),
    ) -> Result<Response, ActionError> {
        check(clients, &call.params).await
    }
}

async fn check(
    clients: &Clients,
    Params { alarms, state }: &Params,
) -> Result<Response, ActionError> {
    let expected = state.as_deref().unwrap_or("OK");
    if !StateValue::values().contains(&expected) {
        return Err(ActionError::invalid_input(format!(
            "alarm state `{expected}` is not one of {}",
            StateValue::values().join(", ")
        )));
    }
    let states = alarm_states(clients, alarms).await?;
    let missing: Vec<_> = alarms
        .iter()
        .filter(|a| !states.contains_key(*a))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ActionError::new(
            ErrorName::NotFound,
            format!("CloudWatch alarms not found: {}", missing.join(", ")),
        ));
    }
    let waiting: Vec<_> = states
        .iter()
        .filter(|(_, s)| *s != expected)
        .map(|(a, s)| format!("{a} ({s})"))
        .collect();
    if waiting.is_empty() {
        return done(&Output { states });
    }
    let progress = format!(
        "{} of {} alarms {expected}; waiting for {}",
        states.len() - waiting.len(),
        states.len(),
        waiting.join(", ")
    );
    running(&(), progress)
}

/// Each named alarm's state, metric and composite alike; absent ones are not in the map.
async fn alarm_states(
    clients: &Clients,
    alarms: &[String],
) -> Result<BTreeMap<String, String>, ActionError> {
    let mut states = BTreeMap::new();
    let mut pages = clients
        .aws(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .set_alarm_names(Some(alarms.to_vec()))
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            ActionError::aws(
                format!("describe CloudWatch alarms {}", alarms.join(", ")),
                e,
            )
        })?;
        let metric = page
            .metric_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value()));
        let composite = page
            .composite_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value()));
        for (name, value) in metric.chain(composite) {
            if let (Some(name), Some(value)) = (name, value) {
                states.insert(name.to_owned(), value.as_str().to_owned());
            }
        }
    }
    Ok(states)
}
