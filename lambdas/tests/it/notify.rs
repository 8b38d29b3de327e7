//! `notify` and `approval` against moto, which delivers to an HTTP subscription on loopback.

use catalog::ErrorName;
use catalog::contract::Status;
use serde_json::{Value, json};

use crate::http::{Reply, Server};
use crate::{Aws, Step, error, output, str_of};

/// A topic with a loopback HTTP subscriber that records what SNS delivers.
pub async fn topic(aws: &Aws) -> (String, Server) {
    let subscriber = Server::start(vec![Reply::new(200, "")]).await;
    let sns = &aws.clients.aws(aws_sdk_sns::Client::new);
    let topic = sns
        .create_topic()
        .name("rollbacks")
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("http")
        .endpoint(subscriber.url("/sns"))
        .send()
        .await
        .expect("subscribe");
    (topic, subscriber)
}

/// The SNS notifications the subscriber received, as JSON.
pub fn delivered(subscriber: &Server) -> Vec<Value> {
    subscriber
        .requests()
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(r.split_once("\r\n\r\n")?.1).ok())
        .filter(|n| n["Type"] == "Notification")
        .collect()
}

#[tokio::test]
async fn notify_publishes_with_a_subject_sns_accepts() {
    let aws = Aws::start().await;
    let (topic, subscriber) = topic(&aws).await;
    let subject = format!("Rollback of orders\nstarted – {}", "x".repeat(120));
    crate::check_ok(
        &aws,
        &Step::new("notify", json!({"topic": topic, "message": "m"})),
    )
    .await;
    let out = output(
        Step::new(
            "notify",
            json!({"topic": topic, "subject": subject, "message": "rolling back"}),
        )
        .run(&aws)
        .await,
    );
    let notifications = delivered(&subscriber);
    assert_eq!(notifications.len(), 1, "{:?}", subscriber.requests());
    let notification = &notifications[0];
    assert_eq!(notification["MessageId"], str_of(&out, "message_id"));
    assert_eq!(notification["Message"], "rolling back");
    let sent = notification["Subject"].as_str().expect("a subject");
    assert!(
        sent.starts_with("Rollback of orders started ? xxx"),
        "{sent}"
    );
    assert!(sent.len() < 100 && sent.is_ascii(), "{sent}");
}

#[tokio::test]
async fn notify_to_a_missing_topic_is_not_found_and_names_the_topic() {
    let aws = Aws::start().await;
    let topic = "arn:aws:sns:us-east-1:123456789012:gone";
    let failure = error(
        Step::new("notify", json!({"topic": topic, "message": "m"}))
            .start(&aws)
            .await,
    );
    assert_eq!(failure.name, ErrorName::NotFound, "{failure}");
    assert!(failure.message.contains(topic), "{failure}");
}

fn approval_payload(step: &Step, token: &str) -> Value {
    let mut payload = step.payload("start", None);
    payload["task_token"] = json!(token);
    payload
}

#[tokio::test]
async fn approval_says_what_where_and_how_to_answer() {
    let aws = Aws::start().await;
    let (topic, subscriber) = topic(&aws).await;
    let step = Step::new(
        "approval",
        json!({"topic": topic, "message": "Restore orders from the 09:00 snapshot?"}),
    );
    crate::check_ok(&aws, &step).await;
    let token = "AQCEAAAAKgAAAAMAAAAAAAAAAS0secret-token";
    let response = crate::invoke(&aws, "approval", approval_payload(&step, token))
        .await
        .expect("published");
    // The step's output comes from SendTaskSuccess; the function only asks.
    assert_eq!(response.status, Status::Running);
    assert!(
        !format!("{response:?}").contains(token),
        "the token stays out of the answer: {response:?}"
    );
    let notifications = delivered(&subscriber);
    let message = notifications[0]["Message"].as_str().expect("a message");
    for expected in [
        "Restore orders from the 09:00 snapshot?",
        "run-1",
        "s1",
        "stepback approve arn:",
        "stepback reject arn:",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing from {message}"
        );
    }
    // Anyone on the topic could answer with the token; the approver's `stepback approve EXECUTION_ARN` reads it
    // from the history instead.
    assert!(
        !message.contains(token),
        "the token is in the message: {message}"
    );
}

#[tokio::test]
async fn approval_failures_never_show_the_token() {
    let aws = Aws::start().await;
    let step = Step::new(
        "approval",
        json!({"topic": "arn:aws:sns:us-east-1:123456789012:gone", "message": "m"}),
    );
    let token = "AQCEAAAAKgAAAAMAAAAAAAAAAS0secret-token";
    let failure = error(crate::invoke(&aws, "approval", approval_payload(&step, token)).await);
    assert_eq!(failure.name, ErrorName::NotFound);
    assert!(!failure.message.contains(token), "{failure}");
    let without_token = error(step.start(&aws).await);
    assert_eq!(
        without_token.name,
        ErrorName::InvalidInput,
        "{without_token}"
    );
}
