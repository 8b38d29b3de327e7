//! What a verb that talks to AWS says when AWS cannot be reached or refuses: one line, with what to do.
//! The answers come from a loopback server that replies as Step Functions does (awsJson1_0 errors); moto
//! never throttles, expires a token or denies access.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A loopback Step Functions that gives every request the same answer, and counts them.
struct Answering {
    endpoint: String,
    requests: Arc<AtomicUsize>,
}

impl Answering {
    fn start(status: u16, body: &'static str) -> Answering {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = Arc::clone(&counted);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    // One request after another on a kept-alive connection.
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut request = vec![0; length];
                        if reader.read_exact(&mut request).is_err() {
                            return;
                        }
                        counted.fetch_add(1, Ordering::SeqCst);
                        let answer = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if reader.get_mut().write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Answering { endpoint, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// `stepback approve` in an environment that holds only `env`: no AWS variables of the test's own, an empty
/// home, no instance metadata. Returns (exit code, stderr).
fn approve(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let home = tempfile::tempdir().expect("a temporary home");
    let output = Command::new(env!("CARGO_BIN_EXE_stepback"))
        .args(["approve", "--token", "t-1", "--by", "bob"])
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("stepback runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    )
}

const KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
];

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    KEYS.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn no_region_says_where_to_give_one() {
    let aws = Answering::start(200, "{}");
    let endpoint = [("AWS_ENDPOINT_URL", aws.endpoint.as_str())];
    let (code, stderr) = approve(&[], &with(&endpoint));
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "error: no AWS region: pass --region, or set AWS_REGION, or set `region` in profile `default`"
        )
    );
    assert_eq!(aws.requests(), 0, "nothing is sent without a region");
    let (code, stderr) = approve(&["--region", "eu-west-1"], &with(&endpoint));
    assert_eq!((code, stderr.as_str()), (0, "approved by bob"));
}

#[test]
fn no_credentials_says_what_was_tried() {
    let aws = Answering::start(200, "{}");
    let env = [
        ("AWS_ENDPOINT_URL", aws.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
    ];
    let (code, stderr) = approve(&[], &env);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        "error: no AWS credentials: tried AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile `default` in \
         ~/.aws/credentials and ~/.aws/config, AWS_WEB_IDENTITY_TOKEN_FILE, the ECS container endpoint and EC2 \
         instance metadata; set the variables or pass --profile"
    );
    assert_eq!(aws.requests(), 0, "nothing is sent without credentials");
}

#[test]
fn a_profile_gives_region_and_credentials() {
    let aws = Answering::start(200, "{}");
    let dir = tempfile::tempdir().expect("a directory");
    let config = dir.path().join("config");
    let credentials = dir.path().join("credentials");
    std::fs::write(&config, "[profile ops]\nregion = eu-west-1\n").expect("config");
    std::fs::write(
        &credentials,
        "[ops]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n",
    )
    .expect("credentials");
    let env = [
        ("AWS_ENDPOINT_URL", aws.endpoint.as_str()),
        ("AWS_CONFIG_FILE", config.to_str().expect("utf-8")),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.to_str().expect("utf-8"),
        ),
    ];
    let (code, stderr) = approve(&["--profile", "ops"], &env);
    assert_eq!((code, stderr.as_str()), (0, "approved by bob"));
    assert_eq!(aws.requests(), 1);
    let (code, stderr) = approve(&["--profile", "nosuch", "--region", "eu-west-1"], &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("profile `nosuch`"), "{stderr}");
}

/// Off EC2 the chain ends at the instance metadata; when that refuses rather than stays silent, its answer
/// is added to the list, not put in its place.
#[test]
fn refusing_instance_metadata_is_reported_with_what_was_tried() {
    let metadata = Answering::start(403, "");
    let env = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "false"),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            metadata.endpoint.as_str(),
        ),
    ];
    let (code, stderr) = approve(&[], &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: no AWS credentials: tried AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile `default`"),
        "{stderr}"
    );
    assert!(stderr.contains("(the last answered: "), "{stderr}");
    assert!(metadata.requests() > 0, "the instance metadata was asked");
}

/// stepback's SDK is built without SSO: a profile that uses it gets the way around, not a cargo feature name.
#[test]
fn an_sso_profile_says_how_to_export_its_credentials() {
    let dir = tempfile::tempdir().expect("a directory");
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile ops]\nregion = eu-west-1\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n\
         sso_account_id = 123456789012\nsso_role_name = Admin\n",
    )
    .expect("config");
    let env = [("AWS_CONFIG_FILE", config.to_str().expect("utf-8"))];
    let (code, stderr) = approve(&["--profile", "ops"], &env);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "error: the credentials of profile `ops` cannot be loaded: it uses IAM Identity Center (SSO), which \
             stepback does not read; export its credentials with `aws configure export-credentials --profile ops \
             --format env`"
        )
    );
}

/// Every answer below is what Step Functions sends: HTTP 400 with `__type` naming the error.
fn answered(body: &'static str) -> (i32, String, usize) {
    let aws = Answering::start(400, body);
    let env = with(&[
        ("AWS_ENDPOINT_URL", aws.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
    ]);
    let (code, stderr) = approve(&[], &env);
    (code, stderr, aws.requests())
}

#[test]
fn an_expired_token_says_renew_it() {
    let (code, stderr, _) = answered(
        r#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#,
    );
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "error: the AWS session token has expired (ExpiredTokenException): renew it, e.g. `aws sso login` or a new `aws sts` session, and try again"
        )
    );
}

#[test]
fn access_denied_names_the_iam_action() {
    let (code, stderr, _) = answered(
        r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/bob is not authorized to perform: states:SendTaskSuccess on resource: * because no identity-based policy allows the states:SendTaskSuccess action"}"#,
    );
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "error: access denied: arn:aws:iam::123456789012:user/bob may not call `states:SendTaskSuccess`; grant it in an IAM policy"
        )
    );
}

#[test]
fn throttling_is_retried_then_said() {
    let (code, stderr, requests) =
        answered(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "error: Step Functions is throttling requests (ThrottlingException); 3 attempts with backoff were refused: wait a minute and try again"
        )
    );
    assert_eq!(requests, 3, "retried before giving up");
}

#[test]
fn an_unreachable_endpoint_is_said() {
    let closed = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let endpoint = format!("http://{}", closed.local_addr().expect("an address"));
    drop(closed);
    let env = with(&[
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
    ]);
    let (code, stderr) = approve(&[], &env);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        "error: cannot reach Step Functions: Connection refused (os error 111); check the network or proxy, and AWS_ENDPOINT_URL if set"
    );
}
