//! The `stepback` binary as a user runs it: exit codes, what it prints, what it writes.

mod aws;
mod chaos;
mod deploy;
mod output;
mod preflight;
mod readiness;
mod rehearse;
mod verbs;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `stepback` from the workspace root; returns (exit code, stdout, stderr).
pub fn stepback(args: &[&str]) -> (i32, String, String) {
    stepback_with(args, &[], "")
}

pub fn stepback_with(args: &[&str], env: &[(&str, String)], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepback"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("stepback runs");
    if let Some(mut input) = child.stdin.take() {
        std::io::Write::write_all(&mut input, stdin.as_bytes()).expect("stdin");
    }
    let output = child.wait_with_output().expect("stepback runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8 output");
    (
        output.status.code().unwrap_or(-1),
        text(output.stdout),
        text(output.stderr),
    )
}
