//! The model check: the AWS requests that the handlers sent, against each service's own model
//! (`tools/check_requests.py`: botocore's models, read with moto's request parsers). moto accepts almost any
//! request; AWS would refuse one that breaks its model (a required member missing, a value outside an enum, a
//! string too long or off its pattern, a number out of range) or a rule the checker lists beside the models.
//!
//! One checker process per test binary, started on first use (`$STEPBACK_PYTHON`, else the workspace's `.venv`,
//! which `scripts/setup` fills), ended when the binary exits and its standard input closes.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::Serialize;
use serde_json::Value;

/// The Python that has botocore and moto.
pub const PYTHON_ENV: &str = "STEPBACK_PYTHON";

struct Checker {
    /// Kept, never waited for: it ends with this process, when its standard input closes.
    _process: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

static CHECKER: OnceLock<Mutex<Checker>> = OnceLock::new();

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn start() -> Checker {
    let python = std::env::var_os(PYTHON_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let mut child = Command::new(&python)
        .arg(root().join("tools/check_requests.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "the model check needs a Python with botocore and moto at {} ({e}): run `scripts/test`, or set {PYTHON_ENV}",
                python.display()
            )
        });
    let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
        unreachable!("both pipes were asked for");
    };
    Checker {
        _process: child,
        input,
        output: BufReader::new(output),
    }
}

/// What the models and the listed rules refuse in `requests` (each as `rehearsal_front::sent::Sent` writes it), one line
/// per violation: `service:Operation member: rule`.
pub fn violations<T: Serialize>(requests: &[T]) -> Vec<String> {
    if requests.is_empty() {
        return Vec::new();
    }
    let line = serde_json::to_string(requests).expect("requests as JSON");
    let mut checker = CHECKER
        .get_or_init(|| Mutex::new(start()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    writeln!(checker.input, "{line}").expect("the model check reads");
    checker.input.flush().expect("the model check reads");
    let mut answer = String::new();
    let read = checker
        .output
        .read_line(&mut answer)
        .expect("the model check answers");
    assert!(read > 0, "the model check stopped: its error is above");
    let found: Vec<Value> = serde_json::from_str(&answer).expect("the model check's JSON");
    found
        .iter()
        .map(|v| {
            format!(
                "{} {}: {}",
                v["operation"].as_str().unwrap_or_default(),
                v["member"].as_str().unwrap_or_default(),
                v["rule"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Fails, naming every violation, unless AWS would accept each of `requests`.
pub fn assert_accepted<T: Serialize>(requests: &[T]) {
    let found = violations(requests);
    assert!(
        found.is_empty(),
        "AWS would refuse {} of the handlers' requests (tools/check_requests.py):\n{}",
        found.len(),
        found.join("\n")
    );
}
