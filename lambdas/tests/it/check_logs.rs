//! `check.logs` against moto, whose FilterLogEvents honours the time range and single or quoted terms.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use catalog::ErrorName;
use serde_json::json;

use crate::{Aws, Step, error, output};

/// A log group with one stream holding `events`: (seconds ago, message).
async fn log_group(aws: &Aws, name: &str, events: &[(u64, &str)]) {
    let logs = aws.clients.aws(Client::new);
    logs.create_log_group()
        .log_group_name(name)
        .send()
        .await
        .expect("log group");
    logs.create_log_stream()
        .log_group_name(name)
        .log_stream_name("app")
        .send()
        .await
        .expect("log stream");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let mut events = events.to_vec();
    // Oldest first, as PutLogEvents wants them.
    events.sort_by_key(|(ago, _)| std::cmp::Reverse(*ago));
    let events = events.iter().map(|(ago, message)| {
        InputLogEvent::builder()
            .timestamp(now - *ago as i64 * 1000)
            .message(*message)
            .build()
            .expect("an event")
    });
    logs.put_log_events()
        .log_group_name(name)
        .log_stream_name("app")
        .set_log_events(Some(events.collect()))
        .send()
        .await
        .expect("events");
}

#[tokio::test]
async fn counts_the_matches_of_the_window_in_every_group() {
    let aws = Aws::start().await;
    log_group(
        &aws,
        "/app/web",
        &[
            (7200, "ERROR before the window"),
            (60, "ERROR db timeout"),
            (30, "INFO all good"),
        ],
    )
    .await;
    log_group(&aws, "/app/worker", &[(10, "ERROR queue full")]).await;
    let out = output(
        Step::new(
            "check.logs",
            json!({"log_groups": ["/app/web", "/app/worker"], "pattern": "ERROR", "threshold": 2}),
        )
        .run(&aws)
        .await,
    );
    assert_eq!(out["count"], json!(2));
    assert_eq!(
        out["samples"],
        json!([
            "/app/web: ERROR db timeout",
            "/app/worker: ERROR queue full"
        ])
    );
}

#[tokio::test]
async fn more_matches_than_the_threshold_fail_the_step_and_show_cut_samples() {
    let aws = Aws::start().await;
    let long = format!("ERROR {}", "x".repeat(500));
    let events: Vec<_> = (1..=8)
        // The oldest line is long: FilterLogEvents answers oldest first, and the samples are the first five.
        .map(|ago| {
            (
                ago,
                if ago == 8 {
                    long.as_str()
                } else {
                    "ERROR again"
                },
            )
        })
        .collect();
    log_group(&aws, "/app/web", &events).await;
    let failure = error(
        Step::new(
            "check.logs",
            json!({"log_groups": ["/app/web"], "pattern": "\"ERROR\"", "window": 3600}),
        )
        .start(&aws)
        .await,
    );
    assert_eq!(failure.name, ErrorName::Failed, "{failure}");
    let message = &failure.message;
    assert!(
        message.contains("at least 8 events match") && message.contains("threshold 0"),
        "{message}"
    );
    // Five samples, the long line cut to 200 characters and saying by how much.
    assert_eq!(message.matches("/app/web: ").count(), 5, "{message}");
    assert!(message.contains("x… (306 more characters)"), "{message}");
}

#[tokio::test]
async fn a_missing_log_group_is_not_found() {
    let aws = Aws::start().await;
    let failure = error(
        Step::new(
            "check.logs",
            json!({"log_groups": ["/app/gone"], "pattern": "ERROR"}),
        )
        .start(&aws)
        .await,
    );
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(failure.message.contains("/app/gone"), "{failure}");
}
