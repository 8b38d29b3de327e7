//! Faults injected into the handlers' AWS calls on their way to the emulator, by [`serve`](crate::serve)'s
//! forwarding (`stepback rehearse --chaos P --seed N` and `--fail STEP[=ERROR]`).
//!
//! Only the handlers' calls carry [`STEP_HEADER`] (their HTTP client is [`Tagged`] with the invocation's step),
//! so only they are faulted; the rehearsal's own calls (the world, the stack, the execution's history) and the
//! Lambda invocations of the emulator's interpreter pass untouched. A fault is answered in the protocol the
//! emulator speaks for that request (before [`moto_gaps`](crate::moto_gaps) brings the answer back), as AWS
//! answers it:
//! - throttling: the error code the SDK's retry classifier counts as throttling (`ThrottlingException` in
//!   awsJson, `Throttling` in the query protocol, `RequestLimitExceeded` for EC2), so the SDK backs off and
//!   retries;
//! - a 5xx: `InternalFailure` (`InternalError` for EC2) with status 500, which the SDK retries too;
//! - a dropped reply: the request is forwarded and the emulator acts on it, then the connection is closed
//!   without an answer, so the caller cannot know whether its call happened.
//!
//! `--slow STEP=DURATION` holds a step's long operation in progress, since the emulator's finish at once: until
//! DURATION (real time, already divided by the speed) after the step's first call, the finished status in the
//! answers its poll reads is rewritten to an in-progress one ([`catalog::ActionSpec::polled`]). The calls
//! themselves are all made.
//!
//! Chaos is reproducible: whether the `n`th call of an operation by a step is faulted, and how, is drawn from a
//! generator seeded with the seed, the step, the operation and `n`, so the same seed faults the same calls
//! whatever order parallel branches run in.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use catalog::{ErrorName, PolledStatus};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::loopback::{Request, Response};
use lambdas::read_only;

/// The header that names the step whose handler sent a request.
pub const STEP_HEADER: &str = "x-stepback-step";

/// A fraction of the handlers' calls to fault, and the seed that picks them.
#[derive(Clone, Copy, Debug)]
pub struct Chaos {
    /// From 0 (none) to 1 (every call).
    pub probability: f64,
    pub seed: u64,
}

/// A kind of fault [`Chaos`] injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Throttled,
    ServerError,
    /// The call was forwarded and acted on; its answer was lost.
    Dropped,
}

impl Fault {
    pub const ALL: [Fault; 3] = [Fault::Throttled, Fault::ServerError, Fault::Dropped];

    /// How a person says it, after a count: "3 throttled".
    pub const fn describe(self) -> &'static str {
        match self {
            Fault::Throttled => "throttled",
            Fault::ServerError => "answered 5xx",
            Fault::Dropped => "replies dropped after the call was made",
        }
    }
}

/// What the forwarding does with one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Injection {
    /// Answer this (raw HTTP, in the emulator's protocol) instead of forwarding.
    Answer(Vec<u8>),
    /// Forward, then close the connection without the answer.
    Drop,
}

/// The handlers' calls seen, and the faults injected, so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every AWS call a handler sent.
    pub calls: usize,
    pub faults: BTreeMap<Fault, usize>,
    /// The same faults, per step whose handler's call they hit.
    pub by_step: BTreeMap<String, BTreeMap<Fault, usize>>,
    /// Calls failed by `--fail`.
    pub failed: usize,
}

/// How `--slow` holds `action` (a catalog action's name) in progress: the statuses its poll reads
/// ([`catalog::ActionSpec::polled`]); `None` when it cannot.
pub fn held(action: &str) -> Option<&'static [PolledStatus]> {
    catalog::action(action)
        .map(|spec| spec.polled)
        .filter(|polled| !polled.is_empty())
}

/// A step slowed by `--slow`: its action's status is held in progress for `real` after its first call.
#[derive(Debug)]
pub struct Slow {
    pub held: &'static [PolledStatus],
    pub real: Duration,
}

/// The faults to inject: chaos, steps whose every AWS call fails with an error, and steps held in progress.
#[derive(Debug, Default)]
pub struct Faults {
    chaos: Option<Chaos>,
    failing: BTreeMap<String, ErrorName>,
    slow: BTreeMap<String, Slow>,
    /// When each slowed step made its first call.
    first_calls: Mutex<BTreeMap<String, Instant>>,
    /// Per step and operation, how many calls were seen: the `n` of the draw.
    seen: Mutex<BTreeMap<(String, String), u64>>,
    counts: Mutex<Counts>,
}

impl Faults {
    pub fn new(
        chaos: Option<Chaos>,
        failing: BTreeMap<String, ErrorName>,
        slow: BTreeMap<String, Slow>,
    ) -> Faults {
        Faults {
            chaos,
            failing,
            slow,
            ..Faults::default()
        }
    }

    /// `answer` (raw HTTP) to `request`, which `step`'s handler sent, with the finished status held in progress
    /// while the step is slowed.
    pub fn hold(&self, step: &str, request: &Request, answer: Vec<u8>) -> Vec<u8> {
        let Some(slow) = self.slow.get(step) else {
            return answer;
        };
        let first = *self
            .first_calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(step.to_owned())
            .or_insert_with(Instant::now);
        let operation = read_only::named(
            &request.method,
            |name| request.header(name).unwrap_or_default(),
            &request.path,
            &request.body,
        );
        let held = operation.and_then(|o| slow.held.iter().find(|h| h.operation == o.name));
        match held {
            Some(held) if first.elapsed() < slow.real => held_in_progress(held, answer),
            _ => answer,
        }
    }

    pub fn counts(&self) -> Counts {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What to do with `request`, which `step`'s handler sent: `None` forwards it as it is.
    pub fn draw(&self, step: &str, request: &Request) -> Option<Injection> {
        let operation = read_only::named(
            &request.method,
            |name| request.header(name).unwrap_or_default(),
            &request.path,
            &request.body,
        );
        let name = operation
            .as_ref()
            .map_or_else(|| request.path.clone(), |o| o.name.clone());
        let ec2 = operation.is_some_and(|o| o.service == "ec2");
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.calls += 1;
        if let Some((status, code)) = self.failing.get(step).copied().and_then(aws_error) {
            counts.failed += 1;
            let message = format!("{name} failed by `stepback rehearse --fail {step}`");
            return Some(Injection::Answer(answer(
                request, ec2, status, code, &message,
            )));
        }
        let chaos = self.chaos?;
        let n = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let n = seen.entry((step.to_owned(), name.clone())).or_default();
            *n += 1;
            *n
        };
        let digest = Sha256::digest(format!("{}\n{step}\n{name}\n{n}", chaos.seed));
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        let mut rng = fastrand::Rng::with_seed(u64::from_le_bytes(seed));
        if rng.f64() >= chaos.probability {
            return None;
        }
        let fault = Fault::ALL[rng.usize(..Fault::ALL.len())];
        *counts.faults.entry(fault).or_default() += 1;
        *counts
            .by_step
            .entry(step.to_owned())
            .or_default()
            .entry(fault)
            .or_default() += 1;
        let injected = format!("injected by `stepback rehearse --chaos` into {name}");
        Some(match fault {
            Fault::Throttled => {
                let code = if ec2 {
                    "RequestLimitExceeded"
                } else if is_json(request) {
                    "ThrottlingException"
                } else {
                    "Throttling"
                };
                let status = if ec2 { 503 } else { 400 };
                Injection::Answer(answer(request, ec2, status, code, &injected))
            }
            Fault::ServerError => {
                let code = if ec2 {
                    "InternalError"
                } else {
                    "InternalFailure"
                };
                Injection::Answer(answer(request, ec2, 500, code, &injected))
            }
            Fault::Dropped => Injection::Drop,
        })
    }
}

/// `answer` with `held`'s finished status rewritten to its in-progress one, as the answer writes the member: a
/// JSON key (the body compacted first, so that the status reads the same whatever the emulator's spacing), else
/// an XML element.
fn held_in_progress(held: &PolledStatus, answer: Vec<u8>) -> Vec<u8> {
    let Some(response) = Response::parse(&answer) else {
        return answer;
    };
    let (body, finished, in_progress) =
        match serde_json::from_slice::<serde_json::Value>(&response.body) {
            Ok(json) => {
                let member = |value: &str| format!("{}:{}", json!(held.member), json!(value));
                (
                    json.to_string(),
                    member(held.finished),
                    member(held.in_progress),
                )
            }
            Err(_) => {
                let element = |value: &str| format!("<{0}>{value}</{0}>", held.member);
                (
                    String::from_utf8_lossy(&response.body).into_owned(),
                    element(held.finished),
                    element(held.in_progress),
                )
            }
        };
    if !body.contains(&finished) {
        return answer;
    }
    let content_type = crate::loopback::header(&response.head, "content-type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    let body = body.replace(&finished, &in_progress);
    response.with_body(&content_type, &[], body.into_bytes())
}

/// The AWS answer that a handler maps to `error` (`error::classify`), as status and code; `None` for the errors
/// no AWS answer gives (a person's rejection, the guard's, a poll loop's timeout).
pub fn aws_error(error: ErrorName) -> Option<(u16, &'static str)> {
    match error {
        ErrorName::Transient => Some((503, "ServiceUnavailable")),
        ErrorName::NotFound => Some((404, "ResourceNotFoundException")),
        ErrorName::Precondition => Some((400, "IncorrectState")),
        ErrorName::InvalidInput => Some((400, "ValidationError")),
        ErrorName::Failed => Some((403, "AccessDenied")),
        ErrorName::Rejected
        | ErrorName::AlreadyRunning
        | ErrorName::CoolingDown
        | ErrorName::Timeout => None,
    }
}

/// awsJson (`X-Amz-Target`), or rpc-v2-cbor, which reaches the emulator as JSON 1.0.
fn is_json(request: &Request) -> bool {
    request.header("x-amz-target").is_some() || request.path.contains("/operation/")
}

/// An AWS error answer to `request`, in the protocol the emulator speaks for it: awsJson's `__type`, EC2's
/// `<Response><Errors>`, or the query protocol's `<ErrorResponse>`.
pub(crate) fn answer(
    request: &Request,
    ec2: bool,
    status: u16,
    code: &str,
    message: &str,
) -> Vec<u8> {
    let (content_type, extra, body) = if is_json(request) {
        let content_type = request
            .header("content-type")
            .filter(|t| t.starts_with("application/x-amz-json"))
            .unwrap_or("application/x-amz-json-1.0");
        let body = serde_json::json!({ "__type": code, "message": message }).to_string();
        (content_type, format!("X-Amzn-ErrorType: {code}\r\n"), body)
    } else if ec2 {
        let body = format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>\
             <RequestID>stepback-rehearse</RequestID></Response>"
        );
        ("text/xml", String::new(), body)
    } else {
        let kind = if status >= 500 { "Receiver" } else { "Sender" };
        let body = format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>stepback-rehearse</RequestId></ErrorResponse>"
        );
        ("text/xml", String::new(), body)
    };
    format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An HTTP client that names `step` in [`STEP_HEADER`] on every request: the client of one step's handler.
#[derive(Clone, Debug)]
pub struct Tagged {
    inner: SharedHttpClient,
    step: String,
}

impl Tagged {
    pub fn new(inner: SharedHttpClient, step: &str) -> Tagged {
        Tagged {
            inner,
            step: step.to_owned(),
        }
    }
}

impl HttpClient for Tagged {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(TaggedConnector {
            inner: self.inner.http_connector(settings, components),
            step: self.step.clone(),
        })
    }
}

#[derive(Debug)]
struct TaggedConnector {
    inner: SharedHttpConnector,
    step: String,
}

impl HttpConnector for TaggedConnector {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        request.headers_mut().insert(STEP_HEADER, self.step.clone());
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--fail STEP=ERROR` answers with an AWS error that the handlers map back to ERROR.
    /// `--slow` holds each action's status in progress while the step is slowed, and lets it finish after.
    #[test]
    fn a_slowed_step_reads_in_progress_until_its_time_is_up() {
        let answer = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        let request = |operation: &str| Request {
            method: "POST".to_owned(),
            path: "/".to_owned(),
            head: String::new(),
            body: format!("Action={operation}&Version=2014-10-31").into_bytes(),
        };
        let snapshots =
            "<DBSnapshots><DBSnapshot><Status>available</Status></DBSnapshot></DBSnapshots>";
        let slowed = |real| {
            let slow = Slow {
                held: held("rds.snapshot").expect("rds.snapshot can be slowed"),
                real,
            };
            Faults::new(None, BTreeMap::new(), [("backup".to_owned(), slow)].into())
        };
        let faults = slowed(Duration::from_secs(60));
        let held_answer = faults.hold("backup", &request("DescribeDBSnapshots"), answer(snapshots));
        let body = Response::parse(&held_answer).expect("an answer").body;
        assert_eq!(
            String::from_utf8_lossy(&body),
            snapshots.replace("available", "creating")
        );
        // Other steps, and other operations of the slowed one, pass unchanged.
        for (step, operation) in [
            ("other", "DescribeDBSnapshots"),
            ("backup", "CreateDBSnapshot"),
        ] {
            let raw = answer(snapshots);
            assert_eq!(faults.hold(step, &request(operation), raw.clone()), raw);
        }
        let over = slowed(Duration::ZERO);
        let raw = answer(snapshots);
        assert_eq!(
            over.hold("backup", &request("DescribeDBSnapshots"), raw.clone()),
            raw
        );
    }

    /// A JSON answer's status is found whatever the emulator's spacing.
    #[test]
    fn a_json_status_is_held_whatever_its_spacing() {
        let held = &held("ssm.command").expect("ssm.command can be slowed")[0];
        let body = r#"{"Commands": [{"Status": "Success"}]}"#;
        let raw = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let rewritten = held_in_progress(held, raw.into_bytes());
        let body = Response::parse(&rewritten).expect("an answer").body;
        assert_eq!(
            String::from_utf8_lossy(&body),
            r#"{"Commands":[{"Status":"InProgress"}]}"#
        );
    }

    #[test]
    fn each_injected_error_maps_back_to_its_name() {
        for name in ErrorName::ALL {
            if let Some((status, code)) = aws_error(name) {
                assert_eq!(lambdas::error::classify(code, status), name, "{code}");
            }
        }
    }
}
