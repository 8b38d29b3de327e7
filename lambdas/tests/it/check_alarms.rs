//! `check.alarms` at the HTTP layer. aws-sdk-cloudwatch speaks the rpc-v2-cbor protocol (POST
//! `/service/GraniteServiceVersion20100801/operation/DescribeAlarms`, `application/cbor`), which moto 5.2.5
//! does not implement: it answers 404 with an HTML page. So the SDK gets real CBOR responses from
//! aws-smithy-mocks, and its own deserializer reads them, as it would read CloudWatch's.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_smithy_cbor::Encoder;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use catalog::ErrorName;
use catalog::contract::Status;
use serde_json::json;
use ::tests::mock_client;

use crate::{Aws, Step, error, output};

/// A DescribeAlarms answer in CBOR, as CloudWatch sends it.
fn alarms(metric: &[(&str, &str)], composite: &[(&str, &str)]) -> HttpResponse {
    let mut cbor = Encoder::new(Vec::new());
    cbor.map(2);
    for (key, alarms) in [("MetricAlarms", metric), ("CompositeAlarms", composite)] {
        cbor.str(key).array(alarms.len());
        for (name, state) in alarms {
            cbor.map(2)
                .str("AlarmName")
                .str(name)
                .str("StateValue")
                .str(state);
        }
    }
    response(200, cbor)
}

fn throttled() -> HttpResponse {
    let mut cbor = Encoder::new(Vec::new());
    cbor.map(2)
        .str("__type")
        .str("ThrottlingException")
        .str("message")
        .str("Rate exceeded");
    response(400, cbor)
}

fn response(status: u16, cbor: Encoder) -> HttpResponse {
    let status = StatusCode::try_from(status).expect("a status");
    let mut response = HttpResponse::new(status, SdkBody::from(cbor.into_writer()));
    response
        .headers_mut()
        .insert("smithy-protocol", "rpc-v2-cbor");
    response
        .headers_mut()
        .insert("content-type", "application/cbor");
    response
}

/// The function's clients with CloudWatch answered by `rules`, one call each, without the SDK's retries
/// (so a throttled call reaches the handler).
async fn with_cloudwatch(rules: &[&Rule]) -> Aws {
    let aws = Aws::start().await;
    let recorded = aws.recorder.mocked();
    aws.clients.insert(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        rules,
        |c| c
            .retry_config(RetryConfig::disabled())
            .http_client(recorded.clone())
    ));
    aws
}

fn asks_for(
    names: &'static [&'static str],
) -> impl Fn(&aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsInput) -> bool {
    move |request| request.alarm_names() == names
}

#[tokio::test]
async fn done_when_every_alarm_is_in_the_expected_state() {
    let answer = mock!(Client::describe_alarms)
        .match_requests(asks_for(&["api-5xx", "slo"]))
        .then_http_response(|| alarms(&[("api-5xx", "OK")], &[("slo", "OK")]));
    let aws = with_cloudwatch(&[&answer]).await;
    let out = output(
        Step::new("check.alarms", json!({"alarms": ["api-5xx", "slo"]}))
            .run(&aws)
            .await,
    );
    assert_eq!(out["states"], json!({"api-5xx": "OK", "slo": "OK"}));
    assert_eq!(answer.num_calls(), 1);
}

#[tokio::test]
async fn an_alarm_in_another_state_keeps_the_step_waiting_and_is_named() {
    let firing = mock!(Client::describe_alarms)
        .then_http_response(|| alarms(&[("api-5xx", "ALARM"), ("latency", "OK")], &[]));
    let aws = with_cloudwatch(&[&firing]).await;
    let step = Step::new("check.alarms", json!({"alarms": ["api-5xx", "latency"]}));
    let started = step.start(&aws).await.expect("started");
    assert_eq!(started.status, Status::Running);
    let progress = started.progress.unwrap_or_default();
    assert!(
        progress.contains("1 of 2 alarms OK") && progress.contains("api-5xx (ALARM)"),
        "{progress}"
    );
}

#[tokio::test]
async fn waiting_for_alarm_state_is_allowed_and_a_bad_state_is_invalid_input() {
    let firing =
        mock!(Client::describe_alarms).then_http_response(|| alarms(&[("canary", "ALARM")], &[]));
    let aws = with_cloudwatch(&[&firing]).await;
    let out = output(
        Step::new(
            "check.alarms",
            json!({"alarms": ["canary"], "state": "ALARM"}),
        )
        .run(&aws)
        .await,
    );
    assert_eq!(out["states"], json!({"canary": "ALARM"}));
    let bad = error(
        Step::new(
            "check.alarms",
            json!({"alarms": ["canary"], "state": "RED"}),
        )
        .start(&aws)
        .await,
    );
    assert_eq!(bad.name, ErrorName::InvalidInput, "{bad}");
}

#[tokio::test]
async fn a_missing_alarm_is_not_found() {
    let partial =
        mock!(Client::describe_alarms).then_http_response(|| alarms(&[("api-5xx", "OK")], &[]));
    let aws = with_cloudwatch(&[&partial]).await;
    let failure = error(
        Step::new("check.alarms", json!({"alarms": ["api-5xx", "typo"]}))
            .start(&aws)
            .await,
    );
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(
        failure.message.contains("typo") && !failure.message.contains("api-5xx"),
        "{failure}"
    );
}

#[tokio::test]
async fn throttling_is_transient_on_start_and_on_poll() {
    let throttle = || mock!(Client::describe_alarms).then_http_response(throttled);
    let aws = with_cloudwatch(&[&throttle(), &throttle()]).await;
    let step = Step::new("check.alarms", json!({"alarms": ["api-5xx"]}));
    let on_start = error(step.start(&aws).await);
    assert_eq!(on_start.name, ErrorName::Transient, "{on_start}");
    assert!(
        on_start.message.contains("ThrottlingException") && on_start.message.contains("api-5xx"),
        "{on_start}"
    );
    // A poll raises transient errors too, so the state machine's Retry applies instead of the failure path.
    let on_poll = error(step.poll(&aws, Some(&json!(null))).await);
    assert_eq!(on_poll.name, ErrorName::Transient, "{on_poll}");
}

/// `stepback preflight`'s check: the alarms exist, whatever their state; a missing one is named. The mocked
/// client sits behind the read-only guard, as a check's clients do.
#[tokio::test]
async fn the_check_names_the_alarms_that_do_not_exist() {
    let answer = mock!(Client::describe_alarms)
        .match_requests(asks_for(&["api-5xx", "slo"]))
        .then_http_response(|| alarms(&[("api-5xx", "ALARM")], &[]));
    let aws = Aws::start().await;
    aws.clients.read_only().insert(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&answer],
        |c| c
            .retry_config(RetryConfig::disabled())
            .http_client(lambdas::read_only::ReadOnly::new(
                aws_smithy_mocks::create_mock_http_client()
            ))
    ));
    let step = Step::new("check.alarms", json!({"alarms": ["api-5xx", "slo"]}));
    let out = output(crate::invoke(&aws, "check.alarms", step.payload("check", None)).await);
    let findings = &out["findings"];
    assert_eq!(findings[0]["verdict"], "missing", "{findings}");
    assert_eq!(findings[0]["detail"], "not found: slo", "{findings}");
    assert_eq!(answer.num_calls(), 1);
}
