//! A reader that goes away (`stepback plan x.toml | head -2`) ends the run quietly, as `ls | head` does.

use std::process::{Command, Stdio};

use crate::root;

/// Runs `stepback` with its standard output (or error) on a pipe whose reader is closed before it starts, so
/// its first write fails with EPIPE; returns (exit code, what it wrote to the other stream).
fn with_closed(args: &[&str], close_stderr: bool) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepback"));
    command
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    if close_stderr {
        command.stdout(Stdio::piped()).stderr(writer);
    } else {
        command.stdout(writer).stderr(Stdio::piped());
    }
    let output = command.output().expect("stepback runs");
    let other = if close_stderr {
        output.stdout
    } else {
        output.stderr
    };
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&other).into_owned(),
    )
}

const EXAMPLE: &str = "examples/webapp-rollback.toml";

#[test]
fn every_verb_that_prints_ends_quietly_when_stdout_is_closed() {
    let verbs: &[&[&str]] = &[
        &["schema"],
        &["compile", EXAMPLE],
        &["compile", EXAMPLE, "--example-input"],
        &["template", EXAMPLE],
        &["template", EXAMPLE, "--format", "yaml"],
        &["actions"],
        &["actions", "ecs.deploy"],
        &["explain", "E020"],
        &["plan", EXAMPLE],
        &["graph", EXAMPLE],
        &["graph", EXAMPLE, "--format", "dot"],
        &["--help"],
        &["plan", "--help"],
    ];
    for args in verbs {
        let (code, stderr) = with_closed(args, false);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
}

#[test]
fn diagnostics_end_quietly_when_stderr_is_closed() {
    let (code, stdout) = with_closed(&["check", "workflow/tests/data/err/e017-cycle.toml"], true);
    assert_eq!(
        (code, stdout.as_str()),
        (1, ""),
        "the exit code still says invalid"
    );
    let (code, _) = with_closed(&["plan", EXAMPLE], true);
    assert_eq!(code, 0);
}

/// A full disk is not a closed reader: the run fails with exit 2 and says why.
#[test]
fn a_failed_write_is_an_io_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = Command::new(env!("CARGO_BIN_EXE_stepback"))
        .arg("schema")
        .stdout(full)
        .output()
        .expect("stepback runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "error: cannot write to standard output: No space left on device (os error 28)"
    );
}
