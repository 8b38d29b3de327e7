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
