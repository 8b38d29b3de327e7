use std::path::PathBuf;
use std::process::Command;

use crate::{root, stepback, stepback_with};

/// Our own examples pass even with warnings denied.
#[test]
fn check_accepts_the_examples() {
    let examples: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            format!(
                "examples/{}",
                p.file_name().expect("a name").to_string_lossy()
            )
        })
        .collect();
    assert!(examples.len() >= 2);
    let mut args = vec!["check", "--deny-warnings"];
    args.extend(examples.iter().map(String::as_str));
    let (code, _, stderr) = stepback(&args);
    assert_eq!(code, 0, "{stderr}");
    for example in &examples {
        assert!(
            stderr.contains(&format!("{example}: ok (0 errors, 0 warnings)")),
            "{stderr}"
        );
    }
    let (_, _, stderr) = stepback(&["check", "workflow/tests/data/ok/conditions.toml"]);
    assert!(
        stderr.ends_with("conditions.toml: ok (0 errors, 1 warning)\n"),
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

    let (code, _, stderr) = stepback(&[
        "check",
        "--deny-warnings",
        "workflow/tests/data/ok/conditions.toml",
    ]);
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

/// `check` refuses what `compile`, `template` and `deploy` refuse, rendered the same way (with the span and the
/// help): a workflow that passes `check` in CI compiles at deploy time.
#[test]
fn check_runs_the_limits_compile_runs() {
    for (fixture, code) in [("e033-history-budget", "E033"), ("e039-state-size", "E039")] {
        let path = format!("compiler/tests/data/err/{fixture}.toml");
        let (check_code, _, checked) = stepback(&["check", &path]);
        assert_eq!(check_code, 1, "{checked}");
        let diagnostic = |out: &str| {
            out.split_once(code)
                .map(|(_, rest)| rest.split("\n\n").next().unwrap_or_default().to_owned())
        };
        assert!(diagnostic(&checked).is_some(), "{checked}");
        // `deploy` refuses before it reads the zip or asks AWS anything.
        for verb in [
            &["compile", &path][..],
            &["template", &path],
            &["deploy", &path, "--stack", "rb"],
        ] {
            let (verb_code, _, refused) = stepback(verb);
            assert_eq!(verb_code, 1, "{verb:?}: {refused}");
            assert_eq!(
                diagnostic(&checked),
                diagnostic(&refused),
                "{verb:?}: the same diagnostic"
            );
        }
    }
}

#[test]
fn graph_formats() {
    let (code, dot, _) = stepback(&["graph", "examples/webapp-rollback.toml", "--format", "dot"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(dot);
    // Not series-parallel: the compiler adds an order, which `plan` lists and the graph draws, dashed.
    let (code, mermaid, _) = stepback(&["graph", "compiler/tests/data/n-shape.toml"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("graph_shows_added_edges", mermaid);
    let (_, plan, _) = stepback(&["plan", "compiler/tests/data/n-shape.toml"]);
    let added: Vec<&str> = mermaid
        .lines()
        .filter(|l| l.contains("-. added .->"))
        .collect();
    assert_eq!(added.len(), 1, "{mermaid}");
    let (before, after) = added[0]
        .trim()
        .split_once(" -. added .-> ")
        .expect("an added edge");
    assert!(
        plan.contains(&format!("{before} -> {after}")),
        "plan names the same edge:\n{plan}"
    );
    let (code, stdout, _) =
        stepback(&["graph", "workflow/tests/data/err/e016-self-dependency.toml"]);
    assert_eq!(
        (code, stdout.as_str()),
        (1, ""),
        "nothing is printed for an invalid workflow"
    );
}

/// The committed schema that `#:schema` lines point at is what `stepback schema` prints: generated, never
/// edited. `STEPBACK_BLESS=1` rewrites it (a new action changes it).
#[test]
fn committed_schema_is_current() {
    let (code, stdout, _) = stepback(&["schema"]);
    assert_eq!(code, 0);
    let path = root().join("stepback.schema.json");
    if std::env::var_os("STEPBACK_BLESS").is_some() {
        std::fs::write(&path, &stdout).expect("stepback.schema.json writable");
    }
    let committed = std::fs::read_to_string(&path).expect("stepback.schema.json");
    assert_eq!(
        stdout, committed,
        "stale: run `STEPBACK_BLESS=1 cargo test -p cli --test it committed_schema` and review the diff"
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
        "examples/aurora-rollback.toml",
        "examples/eks-rollback.toml",
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

#[test]
fn actions_lists_the_catalog_and_shows_one_action() {
    let (code, list, _) = stepback(&["actions"]);
    assert_eq!(code, 0);
    for action in catalog::user_actions() {
        assert!(
            list.lines()
                .any(|l| l.starts_with(action.name) && l.ends_with(action.summary)),
            "{} is not listed:\n{list}",
            action.name
        );
    }
    assert!(
        !list.contains("guard "),
        "stepback's own actions are not listed"
    );
    let (code, shown, _) = stepback(&["actions", "check.http"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(shown);
    // An instance or a cluster: each grant for the steps that give its param.
    let (code, shown, _) = stepback(&["actions", "rds.restore"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("rds_restore", shown);
    let (code, _, stderr) = stepback(&["actions", "ecs.deploi"]);
    assert_eq!(
        (code, stderr.trim()),
        (
            2,
            "error: no action `ecs.deploi`; did you mean `ecs.deploy`? `stepback actions` lists them"
        )
    );
}

/// The example step `stepback actions <ACTION>` prints is a step the checker accepts: right params, right types.
#[test]
fn every_actions_example_step_is_valid() {
    for action in catalog::user_actions() {
        let (code, shown, _) = stepback(&["actions", action.name]);
        assert_eq!(code, 0, "{}", action.name);
        let example: String = shown
            .split_once("\nExample\n")
            .map(|(_, example)| example)
            .unwrap_or_default()
            .lines()
            .map(|line| format!("{}\n", line.trim_start()))
            .collect();
        assert!(
            example.contains(&format!("action = \"{}\"", action.name)),
            "{shown}"
        );
        let source = format!("version = 1\nname = \"example\"\n\n{example}");
        let errors: Vec<String> = workflow::check(&source)
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            // A destructive action's example still needs its guards, which are other steps.
            .filter(|d| !matches!(d.code.as_str(), "E025" | "E026"))
            .map(|d| format!("{}: {}", d.code.as_str(), d.message))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}\n{source}", action.name);
    }
}

#[test]
fn explain_prints_why_an_example_and_the_fix() {
    let (code, shown, _) = stepback(&["explain", "E020"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(shown);
    let (code, lower, _) = stepback(&["explain", "e020"]);
    assert_eq!((code, lower), (0, shown));
    for when in ["E023", "E024"] {
        let (code, shown, _) = stepback(&["explain", when]);
        assert_eq!(code, 0);
        assert!(
            shown.contains(workflow::CONDITION_GRAMMAR),
            "`explain {when}` shows the `when` grammar:\n{shown}"
        );
    }
    let (code, _, stderr) = stepback(&["explain", "E999"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no code `E999`"), "{stderr}");
}

/// What an on-call engineer reads first: each step's estimate, start and end, and what the total assumes.
#[test]
fn plan_for_people() {
    let (code, plan, stderr) = stepback(&["plan", "examples/webapp-rollback.toml"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(plan);
}

#[test]
fn example_input_says_what_is_required() {
    let dir = tempfile::tempdir().expect("a directory");
    let workflow = dir.path().join("w.toml");
    std::fs::write(
        &workflow,
        "version = 1\nname = \"w\"\n\n[input]\nto_version = { type = \"string\", description = \"image tag\" }\n\
         reason = { type = \"string\", default = \"manual\" }\n\n[steps.pause]\naction = \"wait\"\n\
         when = \"input.to_version != input.reason\"\nduration = \"1m\"\n",
    )
    .expect("a workflow");
    let file = workflow.to_str().expect("utf-8");
    let (code, stdout, stderr) = stepback(&["compile", file, "--example-input"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "{\n  \"to_version\": null,\n  \"reason\": \"manual\"\n}\n"
    );
    assert_eq!(
        stderr.trim(),
        "required, replace each null: to_version (string: image tag); a required string must not be empty"
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = stepback(&[
        "compile",
        file,
        "--example-input",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    let written = std::fs::read_to_string(out.join("w.input.json")).expect("-o writes the input");
    assert!(written.contains("\"to_version\": null"), "{written}");
}

/// `--region` puts the region's partition in the task ARNs; the function ARNs stay placeholders without
/// `--account`, and take the partition with it.
#[test]
fn compile_for_a_region_names_its_partition() {
    let example = "examples/webapp-rollback.toml";
    let (code, stdout, stderr) = stepback(&["compile", example, "--region", "cn-north-1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\"Resource\": \"arn:aws-cn:states:::lambda:invoke\""),
        "{stdout}"
    );
    assert!(!stdout.contains("arn:aws:states"), "{stdout}");
    assert!(
        stdout.contains("\"FunctionName\": \"${StepbackNotifyArn}\""),
        "{stdout}"
    );
    let (code, stdout, stderr) = stepback(&[
        "compile",
        example,
        "--region",
        "us-gov-west-1",
        "--account",
        "123456789012",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\"Resource\": \"arn:aws-us-gov:states:::lambda:invoke\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"FunctionName\": \"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:stepback-notify\""),
        "{stdout}"
    );
}

#[test]
fn help_names_every_argument_and_lists_verbs_in_the_order_they_are_met() {
    let (_, help, _) = stepback(&["--help"]);
    let order = [
        "actions", "check", "explain", "graph", "plan", "compile", "template", "approve", "reject",
        "schema",
    ];
    let listed: Vec<&str> = help
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|word| order.contains(word))
        .collect();
    assert_eq!(listed, order, "{help}");
    for (verb, argument) in [
        ("check", "<FILE>..."),
        ("graph", "<FILE>"),
        ("plan", "<FILE>"),
        ("compile", "<FILE>"),
        ("compile", "--account <ID>"),
        ("template", "<FILE>"),
        ("approve", "--region <REGION>"),
        ("approve", "--profile <NAME>"),
    ] {
        let (code, help, _) = stepback(&[verb, "--help"]);
        assert_eq!(code, 0);
        assert!(help.contains("Example: stepback"), "{help}");
        // `-h` puts each argument's description on its line; the last mention is the argument's own.
        let (_, short, _) = stepback(&[verb, "-h"]);
        let described = short
            .rsplit_once(argument)
            .map(|(_, rest)| rest.lines().next().unwrap_or_default().trim())
            .unwrap_or_default();
        assert!(
            described.len() > 10,
            "`{verb} -h` leaves {argument} undescribed:\n{short}"
        );
    }
}

/// `audit --history` renders a saved history offline; a file that is not one is exit 1 and writes nothing.
#[test]
fn audit_a_saved_history() {
    let history = "audit/tests/data/fail-deploy.json";
    let (code, stdout, stderr) = stepback(&["audit", "--history", history]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("webapp-rollback: fail-deploy FAILED\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("step deploy failed: Stepback.Failed: the deployment rolled back"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let page = dir.path().join("audit.html");
    let page_arg = page.display().to_string();
    let (code, stdout, stderr) = stepback(&[
        "audit",
        "--history",
        history,
        "--format",
        "html",
        "-o",
        &page_arg,
    ]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html:.100}");

    let text = std::fs::read_to_string(root().join(history)).expect("fixture");
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 3]).expect("written");
    let out = dir.path().join("never.md");
    let (code, stdout, stderr) = stepback(&[
        "audit",
        "--history",
        &truncated.display().to_string(),
        "--format",
        "md",
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.starts_with("error: the history is not JSON: EOF while parsing"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written on failure");

    let (code, _, stderr) = stepback(&["audit"]);
    assert_eq!(
        code, 2,
        "an execution, --history or --list is required: {stderr}"
    );
}

/// `audit ARN` asks Step Functions; an execution that does not exist is exit 2, and `--list` of a state machine
/// with no executions prints none.
#[test]
fn audit_asks_step_functions() {
    let moto = tests::Moto::start();
    let env: Vec<(&str, String)> = moto.env().into_iter().collect();
    let arn = "arn:aws:states:us-east-1:123456789012:execution:webapp-rollback:none";
    let (code, stdout, stderr) = stepback_with(&["audit", arn], &env, "");
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:webapp-rollback";
    let (code, stdout, stderr) = stepback_with(
        &["audit", "--list", "--arn", machine, "--since", "1d"],
        &env,
        "",
    );
    assert_eq!(code, 2, "moto: no such state machine: {stdout}{stderr}");
}
