//! `check.http` against loopback servers: healthy, flapping, the wrong version, too slow, and nothing
//! listening.

use std::time::Duration;

use catalog::ErrorName;
use catalog::contract::{Response, Status};
use lambdas::ActionError;
use serde_json::{Value, json};

use crate::http::{Reply, Server};
use crate::{Aws, Step, error, output};

fn progress(response: Result<Response, ActionError>) -> (String, Option<Value>) {
    let response = response.unwrap_or_else(|e| panic!("a failed check is no error, got {e}"));
    assert_eq!(response.status, Status::Running, "{response:?}");
    (response.progress.unwrap_or_default(), response.state)
}

#[tokio::test]
async fn a_healthy_service_passes_after_the_consecutive_checks() {
    let aws = Aws::start().await;
    let server = Server::start(vec![Reply::new(200, "ok version=1.4.2")]).await;
    let step = Step::new(
        "check.http",
        json!({"url": server.url("/health"), "expect_body": "1.4.2", "consecutive": 2, "interval": 10}),
    );
    let out = output(step.run(&aws).await);
    assert_eq!(out["status"], 200);
    assert!(
        out["latency_ms"].as_u64().is_some_and(|ms| ms < 5_000),
        "{out:?}"
    );
    assert_eq!(server.requests().len(), 2, "one GET per invocation");
    assert!(server.requests()[0].starts_with("GET /health HTTP/1.1"));
}

#[tokio::test]
async fn a_flapping_service_must_pass_in_a_row() {
    let aws = Aws::start().await;
    let server = Server::start(vec![
        Reply::new(200, "ok"),
        Reply::new(503, "upstream connect error"),
        Reply::new(200, "ok"),
        Reply::new(200, "ok"),
    ])
    .await;
    let step = Step::new(
        "check.http",
        json!({"url": server.url("/"), "consecutive": 2}),
    );
    let (first, state) = progress(step.start(&aws).await);
    assert!(first.contains("1 of 2"), "{first}");
    let (flap, state) = progress(step.poll(&aws, state.as_ref()).await);
    assert!(
        flap.contains("answered 503") && flap.contains("upstream connect error"),
        "{flap}"
    );
    let (again, state) = progress(step.poll(&aws, state.as_ref()).await);
    assert!(again.contains("1 of 2"), "the count starts over: {again}");
    let done = output(step.poll(&aws, state.as_ref()).await);
    assert_eq!(done["status"], 200);
}

#[tokio::test]
async fn the_wrong_version_never_passes_and_shows_what_came_back() {
    let aws = Aws::start().await;
    let server = Server::start(vec![Reply::new(200, "{\"version\": \"1.4.1\"}")]).await;
    let step = Step::new(
        "check.http",
        json!({"url": server.url("/version"), "expect_body": "1.4.2"}),
    );
    let (mut line, mut state) = progress(step.start(&aws).await);
    for _ in 0..3 {
        (line, state) = progress(step.poll(&aws, state.as_ref()).await);
    }
    assert!(
        line.contains("expected 200 with `1.4.2`") && line.contains("1.4.1"),
        "{line}"
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_timed_out_check() {
    let aws = Aws::start().await;
    let server = Server::start(vec![Reply::new(200, "ok").after(Duration::from_secs(3))]).await;
    let step = Step::new(
        "check.http",
        json!({"url": server.url("/"), "request_timeout": 1}),
    );
    let (line, _) = progress(step.start(&aws).await);
    assert!(line.contains("timed out after"), "{line}");
}

#[tokio::test]
async fn nothing_listening_shows_the_reason_and_a_bad_url_is_invalid_input() {
    let aws = Aws::start().await;
    let closed = Server::start(vec![Reply::new(200, "")]).await.url("/");
    let step = Step::new("check.http", json!({"url": closed}));
    let (line, _) = progress(step.start(&aws).await);
    assert!(
        line.contains("failed after") && line.contains("tcp connect error"),
        "{line}"
    );
    let bad = error(
        Step::new("check.http", json!({"url": "ftp://example.invalid/"}))
            .start(&aws)
            .await,
    );
    assert_eq!(bad.name, ErrorName::InvalidInput, "{bad}");
}
