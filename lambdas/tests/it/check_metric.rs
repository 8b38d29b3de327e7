//! `check.metric` against moto's CloudWatch. aws-sdk-cloudwatch speaks rpc-v2-cbor, which moto 5.2.5 answers
//! with 404, so the SDK's requests go through `rehearsal_front::serve`, whose `moto_gaps` bridge carries them to moto as
//! JSON 1.0 and the answers back as CBOR (what `stepback rehearse` does). The datapoints are put with
//! PutMetricData the same way, at whole periods before now: the step reads only whole periods.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use catalog::ErrorName;
use catalog::contract::Status;
use serde_json::{Value, json};

use crate::{Aws, Step, error, output};

/// moto, with the function's CloudWatch client speaking CBOR to it through the bridge (and the IAM recorder).
/// Starts at least 20 s before a minute ends: the datapoints are put at whole minutes before the test's now and
/// the step reads whole minutes before its own, so a minute that turns in between moves the step's window.
async fn bridged() -> Aws {
    let into_minute = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() % 60);
    if into_minute >= 40 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - into_minute)).await;
    }
    bridge_cloudwatch(Aws::start().await).await
}

/// `aws` with the function's CloudWatch clients (the read-only one too) speaking CBOR to moto through the
/// front's bridge, since moto answers rpc-v2-cbor with 404.
pub async fn bridge_cloudwatch(aws: Aws) -> Aws {
    let served = rehearsal_front::serve::spawn(
        rehearsal_front::serve::bind().expect("a loopback port"),
        Default::default(),
        &aws.moto.sdk_config().await,
        Some(aws.moto.addr()),
    )
    .expect("the bridge serves");
    let config = aws_sdk_cloudwatch::config::Builder::from(&aws.moto.sdk_config().await)
        .endpoint_url(format!("http://{}", served.addr))
        .http_client(aws.recorder.clone())
        // The bridge reads CBOR, not gzip: PutMetricData compresses a body over 10 KB.
        .disable_request_compression(true)
        .build();
    aws.clients
        .insert(aws_sdk_cloudwatch::Client::from_conf(config.clone()));
    // A check's clients sit behind the read-only guard.
    let read_only = config
        .to_builder()
        .http_client(lambdas::read_only::ReadOnly::new(SharedHttpClient::new(
            aws.recorder.clone(),
        )))
        .build();
    aws.clients
        .read_only()
        .insert(aws_sdk_cloudwatch::Client::from_conf(read_only));
    aws
}

/// The start of the period `n` periods before the one now filling: `ago(60, 1)` is the newest whole minute.
fn ago(period: i64, n: i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now - now % period - n * period
}

fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .expect("a time")
}

/// Puts `(time, value)` samples of `Errors` in namespace `webapp`, with `dimensions`.
async fn put(aws: &Aws, dimensions: &[(&str, &str)], samples: &[(i64, f64)]) {
    let dimensions: Vec<Dimension> = dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(*name).value(*value).build())
        .collect();
    let data = samples
        .iter()
        .map(|(at, value)| {
            MetricDatum::builder()
                .metric_name("Errors")
                .set_dimensions(Some(dimensions.clone()))
                .timestamp(DateTime::from_secs(*at))
                .value(*value)
                .build()
        })
        .collect();
    aws.clients
        .aws(aws_sdk_cloudwatch::Client::new)
        .put_metric_data()
        .namespace("webapp")
        .set_metric_data(Some(data))
        .send()
        .await
        .expect("PutMetricData");
}

fn errors(extra: Value) -> Step {
    let mut params = json!({
        "namespace": "webapp",
        "metric": "Errors",
        "dimensions": {"Service": "api"},
        "comparison": "<",
        "threshold": 50,
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        params[key] = value.clone();
    }
    Step::new("check.metric", params)
}

/// The progress line of an answer that keeps the step polling.
async fn waiting(aws: &Aws, step: &Step) -> String {
    let answer = step.start(aws).await.expect("an answer");
    assert_eq!(answer.status, Status::Running, "{answer:?}");
    let progress = answer.progress.unwrap_or_default();
    // A poll reads afresh and says the same.
    let again = step.poll(aws, Some(&json!(null))).await.expect("an answer");
    assert_eq!(again.status, Status::Running, "{again:?}");
    progress
}

#[tokio::test]
async fn done_after_the_newest_periods_are_good_in_a_row() {
    let aws = bridged().await;
    let api = [("Service", "api")];
    // An older bad minute does not matter: only the newest three are the run.
    put(
        &aws,
        &api,
        &[
            (ago(60, 4), 99.0),
            (ago(60, 3), 10.0),
            (ago(60, 2), 20.0),
            (ago(60, 1), 30.0),
        ],
    )
    .await;
    let out = output(errors(json!({"periods": 3})).run(&aws).await);
    assert_eq!(out["value"], json!(30.0));
    assert_eq!(
        out["series"],
        json!([
            {"time": rfc3339(ago(60, 4)), "value": 99.0},
            {"time": rfc3339(ago(60, 3)), "value": 10.0},
            {"time": rfc3339(ago(60, 2)), "value": 20.0},
            {"time": rfc3339(ago(60, 1)), "value": 30.0},
        ])
    );
}

#[tokio::test]
async fn a_bad_newest_value_keeps_the_step_waiting_and_is_named() {
    let aws = bridged().await;
    put(
        &aws,
        &[("Service", "api")],
        &[(ago(60, 3), 10.0), (ago(60, 2), 20.0), (ago(60, 1), 75.0)],
    )
    .await;
    let progress = waiting(&aws, &errors(json!({"periods": 3}))).await;
    assert_eq!(
        progress,
        format!(
            "webapp Errors {{Service=api}} (Average, 60s): 0 of 3 periods good in a row; 75 at {} is not < 50",
            rfc3339(ago(60, 1))
        )
    );
}

/// Missing data is not good: a period without a datapoint ends the run, and no datapoint at all never passes
/// (an error count published only when there are errors must publish zeros to pass).
#[tokio::test]
async fn a_period_without_a_datapoint_is_not_good() {
    let aws = bridged().await;
    let api = [("Service", "api")];
    put(&aws, &api, &[(ago(60, 3), 1.0), (ago(60, 1), 2.0)]).await;
    let gap = waiting(&aws, &errors(json!({"periods": 2}))).await;
    assert!(
        gap.ends_with(&format!(
            "1 of 2 periods good in a row; no datapoint for {}",
            rfc3339(ago(60, 2))
        )),
        "{gap}"
    );
    // Another service's dimension matches no datapoint: CloudWatch matches dimensions exactly.
    let other = errors(json!({"dimensions": {"Service": "web"}}));
    let nothing = waiting(&aws, &other).await;
    assert!(
        nothing.ends_with("no datapoint in the last 360s; a period without one is not good"),
        "{nothing}"
    );
    // The run's end may be older than the newest period (late publishing), within the window.
    let late = output(errors(json!({"periods": 1})).run(&aws).await);
    assert_eq!(late["value"], json!(2.0));
}

#[tokio::test]
async fn the_statistic_and_the_comparison_decide() {
    let aws = bridged().await;
    let api = [("Service", "api")];
    let minute = ago(60, 1);
    put(&aws, &api, &[(minute, 10.0), (minute, 30.0)]).await;
    let sum = output(
        errors(json!({"statistic": "Sum", "comparison": "<=", "threshold": 40}))
            .run(&aws)
            .await,
    );
    assert_eq!(sum["value"], json!(40.0));
    let average = output(
        errors(json!({"comparison": ">=", "threshold": 20}))
            .run(&aws)
            .await,
    );
    assert_eq!(average["value"], json!(20.0));
    let maximum = waiting(
        &aws,
        &errors(json!({"statistic": "Maximum", "comparison": "<", "threshold": 30})),
    )
    .await;
    assert!(
        maximum.ends_with(&format!(
            "0 of 1 periods good in a row; 30 at {} is not < 30",
            rfc3339(minute)
        )),
        "{maximum}"
    );
}

/// The series keeps the newest datapoints within the catalog's bound of the output.
#[tokio::test]
async fn the_series_is_bounded_to_the_newest_datapoints() {
    let aws = bridged().await;
    let samples: Vec<(i64, f64)> = (1..=150).map(|n| (ago(1, n), n as f64)).collect();
    put(&aws, &[("Service", "api")], &samples).await;
    let out = output(errors(json!({"period": 1})).run(&aws).await);
    let series = out["series"].as_array().expect("a list");
    assert_eq!(series.len(), catalog::metric::SERIES_POINTS);
    // Oldest first; the newest is the period before now's.
    assert_eq!(series.last().map(|p| &p["value"]), Some(&json!(1.0)));
    assert_eq!(series[0]["value"], json!(100.0));
    let bound = catalog::action("check.metric")
        .and_then(|a| a.output("series"))
        .map(|o| o.max_bytes);
    let bytes = serde_json::to_string(&out["series"]).ok().map(|s| s.len());
    assert!(bytes < bound, "{bytes:?} of {bound:?}");
}

#[tokio::test]
async fn values_the_language_refuses_are_invalid_input_before_any_read() {
    let aws = bridged().await;
    for (extra, named) in [
        (json!({"statistic": "p999"}), "statistic `p999`"),
        (json!({"comparison": "=="}), "comparison `==`"),
        (json!({"period": 90}), "period of 90s"),
        (json!({"periods": 0}), "periods = 0"),
        (
            json!({"periods": 5, "window": 120}),
            "a window of 120s cannot hold 5 periods of 60s",
        ),
    ] {
        let refused = error(errors(extra).start(&aws).await);
        assert_eq!(refused.name, ErrorName::InvalidInput, "{refused}");
        assert!(refused.message.contains(named), "{refused}");
    }
}

/// `stepback preflight`'s check: the metric has datapoints in the window, whatever their values.
#[tokio::test]
async fn the_check_finds_datapoints_or_says_the_metric_is_missing() {
    let aws = bridged().await;
    put(&aws, &[("Service", "api")], &[(ago(60, 2), 99.0)]).await;
    let found = finding(&aws, errors(json!({}))).await;
    assert_eq!(found["verdict"], "ok", "{found}");
    assert!(
        found["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("has datapoints: 1 in the last 360s, the newest 99 at ")),
        "{found}"
    );
    let missing = finding(&aws, errors(json!({"dimensions": {"Service": "web"}}))).await;
    assert_eq!(missing["verdict"], "missing", "{missing}");
}

async fn finding(aws: &Aws, step: Step) -> Value {
    let answer = crate::invoke(aws, "check.metric", step.payload("check", None)).await;
    output(answer)["findings"][0].clone()
}
