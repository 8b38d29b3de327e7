//! The `bootstrap` binary as Lambda runs it: the action from `STEPBACK_ACTION`, the AWS config from the
//! environment, and an error that reaches the Runtime API with a name `Retry` and `Catch` can match.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Step;
use crate::http::{Reply, Server};

/// The Runtime API's answer to `GET /runtime/invocation/next`: a `notify` to a topic that does not exist.
const EVENT_HEADERS: &[(&str, &str)] = &[
    ("Lambda-Runtime-Aws-Request-Id", "req-1"),
    ("Lambda-Runtime-Deadline-Ms", "4102444800000"),
    (
        "Lambda-Runtime-Invoked-Function-Arn",
        "arn:aws:lambda:us-east-1:123456789012:function:stepback-notify",
    ),
    (
        "Lambda-Runtime-Trace-Id",
        "Root=1-00000000-000000000000000000000000",
    ),
];

#[tokio::test]
async fn the_binary_reports_a_failed_action_with_its_table_name() {
    let moto = tests::Moto::start();
    let step = Step::new(
        "notify",
        json!({"topic": "arn:aws:sns:us-east-1:123456789012:gone", "message": "m"}),
    );
    let event = step.payload("start", None).to_string();
    let runtime_api = Server::start(vec![
        Reply::new(200, event).with_headers(EVENT_HEADERS),
        Reply::new(202, "{}"),
        // The next event never comes; the test ends the process.
        Reply::new(200, "").after(Duration::from_secs(60)),
    ])
    .await;
    let address = runtime_api.url("").trim_start_matches("http://").to_owned();
    let mut function = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .envs(moto.env())
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", address.as_str()),
            ("STEPBACK_ACTION", "notify"),
            ("AWS_LAMBDA_FUNCTION_NAME", "stepback-notify"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/stepback-notify"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the bootstrap binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let reported = loop {
        let posted = runtime_api
            .requests()
            .into_iter()
            .find(|r| r.starts_with("POST "));
        if let Some(posted) = posted {
            break posted;
        }
        assert!(
            Instant::now() < deadline,
            "no result posted; requests: {:?}",
            runtime_api.requests()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    function.kill().expect("the function stops");
    function.wait().expect("reaped");
    assert!(
        reported.starts_with("POST /2018-06-01/runtime/invocation/req-1/error"),
        "{reported}"
    );
    let body: Value =
        serde_json::from_str(reported.split_once("\r\n\r\n").expect("a body").1).expect("JSON");
    assert_eq!(body["errorType"], "Stepback.NotFound", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("gone")),
        "{body}"
    );
}

#[test]
fn an_unknown_action_in_the_environment_stops_the_function_at_init() {
    let refused = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .env("STEPBACK_ACTION", "rds.snapshto")
        .output()
        .expect("the bootstrap binary runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("STEPBACK_ACTION=rds.snapshto is not an action in the catalog"),
        "{stderr}"
    );
}

/// Runs the `approval` function on one event with the most verbose logging a function can be given
/// (`AWS_LAMBDA_LOG_LEVEL=TRACE`, and `RUST_LOG=trace` for every crate, the SDK's and the runtime's included):
/// everything it logged, and what it posted to the Runtime API.
async fn run_logged(moto: &tests::Moto, event: String) -> (String, String) {
    let runtime_api = Server::start(vec![
        Reply::new(200, event).with_headers(EVENT_HEADERS),
        Reply::new(202, "{}"),
        Reply::new(200, "").after(Duration::from_secs(60)),
    ])
    .await;
    let address = runtime_api.url("").trim_start_matches("http://").to_owned();
    let function = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .envs(moto.env())
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", address.as_str()),
            ("STEPBACK_ACTION", "approval"),
            ("AWS_LAMBDA_FUNCTION_NAME", "stepback-approval"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/stepback-approval"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("RUST_LOG", "trace"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bootstrap binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let posted = loop {
        let posted = runtime_api
            .requests()
            .into_iter()
            .find(|r| r.starts_with("POST "));
        if let Some(posted) = posted {
            break posted;
        }
        assert!(
            Instant::now() < deadline,
            "no result posted; requests: {:?}",
            runtime_api.requests()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Stopped with SIGTERM, then its output collected.
    Command::new("kill")
        .arg(function.id().to_string())
        .status()
        .expect("kill runs");
    let output = function.wait_with_output().expect("the function's output");
    let logged = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (logged, posted)
}

/// The approval path, which publishes through `notify`'s, at the most verbose logging: one approval published,
/// one refused by a missing topic. The task token appears in nothing the function logs or answers, while the logs
/// do show its calls to SNS.
#[tokio::test]
async fn the_task_token_appears_in_no_log() {
    let moto = tests::Moto::start();
    let config = moto.sdk_config().await;
    let topic = aws_sdk_sns::Client::new(&config)
        .create_topic()
        .name("approvals")
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    let token = "AQCEAAAAKgAAAAMAAAAAAAAAAS0secret-token-for-the-log-test";
    let approval = |topic: &str| {
        let mut payload = Step::new("approval", json!({"topic": topic, "message": "Restore?"}))
            .payload("start", None);
        payload["task_token"] = json!(token);
        payload.to_string()
    };
    for (topic, answer) in [
        (topic.as_str(), "/invocation/req-1/response"),
        (
            "arn:aws:sns:us-east-1:123456789012:gone",
            "/invocation/req-1/error",
        ),
    ] {
        let (logged, posted) = run_logged(&moto, approval(topic)).await;
        assert!(posted.contains(answer), "{posted}");
        // The logs are on and verbose: the SDK's call to SNS is in them.
        assert!(
            logged.contains("Publish"),
            "nothing was logged about Publish:\n{logged}"
        );
        assert!(
            !logged.contains(token),
            "the task token is in the logs:\n{logged}"
        );
        assert!(!posted.contains(token), "{posted}");
    }
}
