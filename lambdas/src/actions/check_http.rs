//! `check.http`: one GET per invocation; done after `consecutive` expected answers in a row. A wrong answer
//! is not an error: the service may still be starting, so it resets the count and the state machine polls
//! again until the step's timeout. Its progress line shows what came back.

use std::time::{Duration, Instant};

use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, LongAction};
use crate::check::{self as checking, Known};
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub url: String,
    pub expect_status: Option<u16>,
    pub expect_body: Option<String>,
    pub consecutive: Option<u32>,
    /// The state machine's Wait between polls uses it; the function has nothing to do with it.
    #[serde(rename = "interval")]
    pub _interval: Option<IgnoredAny>,
    /// Seconds.
    pub request_timeout: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub status: u16,
    pub latency_ms: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    successes: u32,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Enough of a body to find a version string in; a health page larger than this is cut.
const BODY_LIMIT: usize = 64 * 1024;
/// How much of an unexpected body the progress line shows.
const BODY_SHOWN: usize = 200;

/// Every invocation, `start` included, makes one request.
pub struct CheckHttp;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<CheckHttp>()];

impl Action for CheckHttp {
    const NAME: &str = "check.http";
    type Params = Params;

    /// The URL answers one GET, from where the function runs (its VPC, its DNS); any status will do, since the
    /// service may be what the rollback repairs.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let url: String = match params.required("url") {
            Ok(url) => url,
            Err(unknown) => return vec![unknown.finding("URL")],
        };
        let resource = format!("URL {url}");
        let parsed = match reqwest::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => parsed,
            _ => {
                return vec![checking::bad(
                    Verdict::Error,
                    resource,
                    "not an http or https URL",
                    "fix `url`",
                )];
            }
        };
        let timeout = match params.optional::<u64>("request_timeout") {
            Ok(secs) => secs.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            Err(_) => DEFAULT_TIMEOUT,
        };
        let finding = match get(clients, parsed, timeout).await {
            Ok((status, _)) => checking::ok(resource, format!("answers {status}")),
            Err(e) => checking::bad(
                Verdict::NotReady,
                resource,
                format!("no answer: {}", with_causes(&e)),
                "fix `url`, or let the function reach it (its VPC, security groups and DNS)",
            ),
        };
        vec![finding]
    }
}

impl LongAction for CheckHttp {
    type State = State;

    async fn start(_: &Clients, _: &Call<Params>) -> Result<State, ActionError> {
        Ok(State::default())
    }

    async fn observe(
        clients: &Clients,
        call: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        check(clients, &call.params, state).await
    }
}

async fn check(clients: &Clients, p: &Params, state: State) -> Result<Response, ActionError> {
    let url = reqwest::Url::parse(&p.url)
        .map_err(|e| ActionError::invalid_input(format!("url `{}`: {e}", p.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ActionError::invalid_input(format!(
            "url `{url}` is not http or https"
        )));
    }
    let expect_status = p.expect_status.unwrap_or(200);
    let needed = p.consecutive.unwrap_or(1).max(1);
    let timeout = p
        .request_timeout
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let started = Instant::now();
    let answer = get(clients, url.clone(), timeout).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mismatch = match &answer {
        Err(e) if e.is_timeout() => Some(format!("GET {url} timed out after {latency_ms} ms")),
        Err(e) => Some(format!(
            "GET {url} failed after {latency_ms} ms: {}",
            with_causes(e)
        )),
        Ok((status, body)) => {
            let body_ok = p
                .expect_body
                .as_deref()
                .is_none_or(|wanted| body.contains(wanted));
            (*status != expect_status || !body_ok).then(|| {
                let expected = match &p.expect_body {
                    Some(wanted) => format!("{expect_status} with `{wanted}` in the body"),
                    None => expect_status.to_string(),
                };
                format!("GET {url} answered {status} in {latency_ms} ms, expected {expected}; body starts: {}", first_chars(body))
            })
        }
    };
    match (mismatch, answer) {
        (Some(progress), _) => running(&State { successes: 0 }, progress),
        (None, Ok((status, _))) if state.successes + 1 >= needed => {
            done(&Output { status, latency_ms })
        }
        (None, _) => {
            let successes = state.successes + 1;
            running(
                &State { successes },
                format!("GET {url}: {successes} of {needed} checks passed in a row"),
            )
        }
    }
}

async fn get(
    clients: &Clients,
    url: reqwest::Url,
    timeout: Duration,
) -> Result<(u16, String), reqwest::Error> {
    let mut response = clients.http()?.get(url).timeout(timeout).send().await?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() >= BODY_LIMIT {
            body.truncate(BODY_LIMIT);
            break;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn first_chars(body: &str) -> String {
    let shown: String = body.chars().take(BODY_SHOWN).collect();
    let shown = shown.escape_debug().to_string();
    if body.chars().count() > BODY_SHOWN {
        format!("\"{shown}…\"")
    } else {
        format!("\"{shown}\"")
    }
}

/// reqwest's own message is only "error sending request"; the reason (refused, reset, TLS) is in its sources.
fn with_causes(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
