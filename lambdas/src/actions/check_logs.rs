//! `check.logs`: FilterLogEvents over the last `window` in each log group, counting the events that match the
//! pattern; `Stepback.Failed` when more than `threshold` match. The answer carries the count and the first few
//! matching lines, each cut to a bounded length, so the output stays far below Step Functions' 256 KB.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, Invoke};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub log_groups: Vec<String>,
    pub pattern: String,
    /// Seconds; default 15 minutes.
    pub window: Option<u64>,
    pub threshold: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub count: u64,
    pub samples: Vec<String>,
}

const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How many matching lines the answer shows.
const SAMPLES: usize = 5;
/// How much of one line it shows.
const SAMPLE_CHARS: usize = 200;

/// Counts, and fails above the threshold.
pub struct CheckLogs;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::invoke::<CheckLogs>()];

impl Action for CheckLogs {
    const NAME: &str = "check.logs";
    type Params = Params;

    /// Each log group answers a one-event search, the call the step makes; what it finds now does not matter.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let groups: Vec<String> = match params.required("log_groups") {
            Ok(groups) => groups,
            Err(unknown) => return vec![unknown.finding("log groups")],
        };
        let client = clients.aws(Client::new);
        let mut findings = Vec::new();
        for group in groups {
            let resource = format!("log group `{group}`");
            let searched = client
                .filter_log_events()
                .log_group_name(&group)
                .limit(1)
                .send()
                .await;
            findings.push(match searched {
                Ok(_) => check::ok(resource, "exists"),
                Err(e) => check::failed(
                    resource,
                    &ActionError::aws(format!("search log group `{group}`"), e),
                    "fix `log_groups`: names of log groups in the stack's region",
                ),
            });
        }
        findings
    }
}

impl Invoke for CheckLogs {
    async fn invoke(clients: &Clients, call: Call<Params>) -> Result<Response, ActionError> {
        let Params {
            log_groups,
            pattern,
            window,
            threshold,
        } = &call.params;
        let threshold = threshold.unwrap_or(0);
        let window = window.map_or(DEFAULT_WINDOW, Duration::from_secs);
        let end = SystemTime::now();
        let start = end.checked_sub(window).unwrap_or(UNIX_EPOCH);
        let client = clients.aws(Client::new);
        let mut count = 0;
        let mut samples = Vec::new();
        for group in log_groups {
            let mut pages = client
                .filter_log_events()
                .log_group_name(group)
                .filter_pattern(pattern)
                .start_time(millis(start))
                .end_time(millis(end))
                .into_paginator()
                .send();
            // Past the threshold the step fails whatever the rest holds, so the search stops there.
            while count <= threshold
                && let Some(page) = pages.next().await
            {
                let page = page.map_err(|e| {
                    ActionError::aws(format!("filter log group `{group}` with `{pattern}`"), e)
                })?;
                for event in page.events() {
                    count += 1;
                    if samples.len() < SAMPLES {
                        samples.push(sample(group, event.message().unwrap_or_default()));
                    }
                }
            }
        }
        if count > threshold {
            return Err(ActionError::new(
                ErrorName::Failed,
                format!(
                    "at least {count} events match `{pattern}` in the last {}s of {}, more than the \
                     threshold {threshold}; the first {}:\n{}",
                    window.as_secs(),
                    log_groups.join(", "),
                    samples.len(),
                    samples.join("\n")
                ),
            ));
        }
        done(&Output { count, samples })
    }
}

fn millis(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// `<group>: <message>`, with a long message cut and the cut said.
fn sample(group: &str, message: &str) -> String {
    let message = message.trim_end();
    let total = message.chars().count();
    if total <= SAMPLE_CHARS {
        return format!("{group}: {message}");
    }
    let shown: String = message.chars().take(SAMPLE_CHARS).collect();
    format!(
        "{group}: {shown}… ({} more characters)",
        total - SAMPLE_CHARS
    )
}
