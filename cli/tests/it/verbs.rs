use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `stepback` from the workspace root; returns (exit code, stdout, stderr).
fn stepback(args: &[&str]) -> (i32, String, String) {
    stepback_with(args, &[], "")
}

fn stepback_with(args: &[&str], env: &[(&str, String)], stdin: &str) -> (i32, String, String) {
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

#[test]
fn check_accepts_the_examples() {
    let (code, _, stderr) = stepback(&[
        "check",
        "examples/webapp-rollback.toml",
        "examples/ec2-compose-rollback.toml",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("examples/webapp-rollback.toml: ok (0 errors, 1 warnings)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("examples/ec2-compose-rollback.toml: ok (0 errors, 0 warnings)"),
        "{stderr}"
    );
}

#[test]
fn check_exit_codes() {
    let (code, _, stderr) = stepback(&["check", "workflow/tests/data/err/e017-cycle.toml"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("e017-cycle.toml:6:9"),
        "diagnostics name file:line:col: {stderr}"
    );

    let (code, _, stderr) =
        stepback(&["check", "--deny-warnings", "examples/webapp-rollback.toml"]);
    assert_eq!(code, 1, "warnings fail with --deny-warnings: {stderr}");

    let (code, _, stderr) = stepback(&[
        "check",
        "examples/webapp-rollback.toml",
        "no/such/file.toml",
    ]);
    assert_eq!(code, 2, "an unreadable file is an IO error: {stderr}");
    assert!(stderr.contains("cannot read no/such/file.toml"), "{stderr}");

    let (code, _, _) = stepback(&["check"]);
    assert_eq!(code, 2, "usage error");
}

#[test]
fn graph_formats() {
    let (code, dot, _) = stepback(&["graph", "examples/webapp-rollback.toml", "--format", "dot"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(dot);
    let (code, stdout, _) =
        stepback(&["graph", "workflow/tests/data/err/e016-self-dependency.toml"]);
    assert_eq!(
        (code, stdout.as_str()),
        (1, ""),
        "nothing is printed for an invalid workflow"
    );
}

/// The committed schema that `#:schema` lines point at is what `stepback schema` prints.
#[test]
fn committed_schema_is_current() {
    let (code, stdout, _) = stepback(&["schema"]);
    assert_eq!(code, 0);
    let committed =
        std::fs::read_to_string(root().join("stepback.schema.json")).expect("stepback.schema.json");
    assert_eq!(
        stdout, committed,
        "run `stepback schema > stepback.schema.json`"
    );
}

/// `approve` and `reject` reach Step Functions (moto, which takes any token) with the credentials and endpoint
/// of the environment; the state-machine test drives the same code against a waiting execution.
#[test]
fn approve_and_reject_answer_through_step_functions() {
    let moto = tests::Moto::start();
    let env: Vec<(&str, String)> = moto.env().into_iter().collect();
    let (code, _, stderr) = stepback_with(
        &[
            "approve",
            "--token",
            "t-1",
            "--by",
            "bob",
            "--comment",
            "ok",
        ],
        &env,
        "",
    );
    assert_eq!((code, stderr.trim()), (0, "approved by bob"));
    let (code, _, stderr) =
        stepback_with(&["reject", "--token", "-", "--by", "bob"], &env, "t-2\n");
    assert_eq!((code, stderr.trim()), (0, "rejected by bob"));
    let (code, _, _) = stepback(&["approve"]);
    assert_eq!(code, 2, "--token is required");
}

/// The committed schema, as an editor applies it (Python's jsonschema, draft 7): every valid workflow passes,
/// and the fixtures whose errors are about shape, not meaning, are flagged.
#[test]
fn editors_schema_accepts_valid_workflows_and_flags_shape_errors() {
    let python = std::env::var("STEPBACK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no Python with jsonschema at {}: run `scripts/test`",
        python.display()
    );
    let valid = [
        "examples/webapp-rollback.toml",
        "examples/ec2-compose-rollback.toml",
        "workflow/tests/data/ok/conditions.toml",
        "workflow/tests/data/ok/references.toml",
        "workflow/tests/data/ok/trigger.toml",
    ];
    let shape_errors = [
        "e002-unknown-key",
        "e005-version",
        "e006-name",
        "e007-identifier",
        "e008-unknown-action",
        "e009-unknown-param",
        "e010-missing-param",
        "e011-param-type",
        "e012-input-type",
        "e014-duration",
        "e031-no-steps",
    ];
    let shape_files: Vec<String> = shape_errors
        .iter()
        .map(|f| format!("workflow/tests/data/err/{f}.toml"))
        .collect();
    let output = Command::new(&python)
        .arg("cli/tests/it/schema_check.py")
        .arg("stepback.schema.json")
        .args(valid)
        .args(&shape_files)
        .current_dir(root())
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in stdout.lines() {
        let (file, errors) = line.rsplit_once(' ').expect("`file count`");
        let errors: usize = errors.parse().expect("a count");
        if valid.contains(&file) {
            assert_eq!(errors, 0, "the schema rejects valid {file}");
        } else {
            assert!(errors > 0, "the schema misses the shape error in {file}");
        }
    }
    assert_eq!(stdout.lines().count(), valid.len() + shape_files.len());
}
