//! `stepback deploy` and `stepback start` against moto's CloudFormation, S3, STS and Step Functions: a create, a
//! redeploy that changes nothing, a changed workflow that updates only the definition, and a start. One moto
//! serves the whole sequence, since each step builds on the last.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::{root, stepback_with};

const TASK_ROLE: &str = "arn:aws:iam::123456789012:role/webapp-task";

fn deploy(moto: &tests::Moto, file: &Path, zip: &Path) -> (i32, String, String) {
    let (file, zip) = (file.display().to_string(), zip.display().to_string());
    stepback_with(
        &[
            "deploy",
            &file,
            "--stack",
            "webapp",
            "--code",
            &zip,
            "--task-role",
            TASK_ROLE,
            "--yes",
        ],
        &moto.env(),
        "",
    )
}

/// Function name by logical id, and the state machine's definition, as moto holds them.
async fn deployed(moto: &tests::Moto) -> (BTreeMap<String, String>, Json) {
    let config = moto.sdk_config().await;
    let resources = aws_sdk_cloudformation::Client::new(&config)
        .describe_stack_resources()
        .stack_name("webapp")
        .send()
        .await
        .expect("stack resources");
    let physical: BTreeMap<String, String> = resources
        .stack_resources()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_owned(),
                r.physical_resource_id().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let machine = physical.get("StateMachine").cloned().unwrap_or_default();
    let described = aws_sdk_sfn::Client::new(&config)
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("the state machine exists");
    let definition = serde_json::from_str(described.definition()).expect("definition is JSON");
    (physical, definition)
}

/// The compiled definition with each `${Stepback<Action>Arn}` filled with the stack's function of that action.
fn expected_definition(source: &str, functions: &BTreeMap<String, String>) -> Json {
    let workflow = workflow::check(source).workflow.expect("valid");
    let compiled = compiler::compile(&workflow, &compiler::Options::default()).expect("compiles");
    let mut json = compiled.json.clone();
    for action in catalog::ACTIONS {
        let id = compiler::template::function_id(action);
        if let Some(name) = functions.get(&id) {
            let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
            json = json.replace(&format!("${{{}}}", action.arn_substitution()), &arn);
        }
    }
    serde_json::from_str(&json).expect("definition is JSON")
}

#[test]
fn deploy_creates_then_changes_nothing_then_updates_only_the_definition() {
    let moto = tests::Moto::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let zip = dir.path().join("bootstrap.zip");
    std::fs::write(&zip, b"not really a zip: moto does not run the code").expect("zip written");
    let example = root().join("examples/webapp-rollback.toml");
    let source = std::fs::read_to_string(&example).expect("example");

    let (code, out, err) = deploy(&moto, &example, &zip);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("uploaded stepback/bootstrap-"), "{err}");
    assert!(
        err.lines()
            .any(|l| words(l) == "Add StateMachine AWS::StepFunctions::StateMachine"),
        "{err}"
    );
    assert!(out.contains("webapp: CREATE_COMPLETE"), "{out}");
    assert!(
        out.contains("  alarm trigger: disabled (EventBridge rule `webapp-rollback`) until a readiness run or `stepback preflight --stack webapp` finds every step ready"),
        "{out}"
    );
    assert!(
        out.contains(
            "StateMachineArn: arn:aws:states:us-east-1:123456789012:stateMachine:webapp-rollback"
        ),
        "{out}"
    );
    let (created, definition) = runtime.block_on(deployed(&moto));
    assert_eq!(definition, expected_definition(&source, &created));

    // The same workflow and zip: nothing uploaded, nothing changed.
    let (code, out, err) = deploy(&moto, &example, &zip);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("unchanged code"), "{err}");
    assert!(out.contains("no changes"), "{out}");

    // A changed message: the definition changes, and no function or role is replaced.
    let changed_source = source.replace("Rollback finished", "Rollback is done");
    assert_ne!(changed_source, source, "the example's message moved");
    let changed = dir.path().join("webapp-rollback.toml");
    std::fs::write(&changed, &changed_source).expect("changed workflow written");
    // Without --yes, nobody can answer the question when standard input is not a terminal: nothing changes.
    let (file, code_zip) = (changed.display().to_string(), zip.display().to_string());
    let unasked = [
        "deploy",
        &file,
        "--stack",
        "webapp",
        "--code",
        &code_zip,
        "--task-role",
        TASK_ROLE,
    ];
    let (code, out, err) = stepback_with(&unasked, &moto.env(), "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        !err.contains("execute these changes"),
        "no question without a terminal: {err}"
    );
    assert!(
        err.contains("not a terminal: pass --yes to execute the change set"),
        "{err}"
    );
    assert_eq!(
        runtime.block_on(deployed(&moto)).1,
        definition,
        "declined: the definition is unchanged"
    );
    let (code, out, err) = deploy(&moto, &changed, &zip);
    assert_eq!(code, 0, "{out}{err}");
    let change_lines: Vec<String> = err
        .lines()
        .filter(|l| {
            l.starts_with("  Add") || l.starts_with("  Modify") || l.starts_with("  Remove")
        })
        .map(words)
        .collect();
    // The readiness machine's checks carry what a step's params say before a run: this subject reads a step's
    // output, so they send it as `null` and the readiness machine stays.
    assert_eq!(
        change_lines,
        ["Modify StateMachine AWS::StepFunctions::StateMachine"],
        "{err}"
    );
    assert!(out.contains("webapp: UPDATE_COMPLETE"), "{out}");
    let (updated, definition) = runtime.block_on(deployed(&moto));
    assert_eq!(
        updated, created,
        "a physical id changed: something was replaced"
    );
    assert_eq!(definition, expected_definition(&changed_source, &updated));

    // A start by stack: named after the caller (moto's STS user is `moto`) and the time.
    let (code, out, err) = stepback_with(
        &[
            "start",
            "examples/webapp-rollback.toml",
            "--stack",
            "webapp",
            "--input",
            "to_version=v41",
        ],
        &moto.env(),
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "started arn:aws:states:us-east-1:123456789012:execution:webapp-rollback:rollback-20"
        ),
        "{out}"
    );
    assert!(
        out.lines().next().is_some_and(|l| l.ends_with("-moto")),
        "{out}"
    );
    let started = out
        .split_whitespace()
        .nth(1)
        .and_then(|arn| arn.rsplit(':').next())
        .unwrap_or_default()
        .to_owned();

    // The stack's past rollbacks: the one just started, still running (moto's interpreter is off here).
    let (code, out, err) =
        stepback_with(&["audit", "--list", "--stack", "webapp"], &moto.env(), "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("{started}  RUNNING"))),
        "{started} not listed: {out}{err}"
    );

    // By stack alone, the workflow comes from the stack's template: an unknown input is refused before the
    // execution starts, and nothing starts.
    let (code, out, err) = stepback_with(
        &["start", "--stack", "webapp", "--input", "no_such_input=1"],
        &moto.env(),
        "",
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("error[E019]: unknown input `no_such_input`"),
        "{err}"
    );
    let (_, listed, _) = stepback_with(&["audit", "--list", "--stack", "webapp"], &moto.env(), "");
    assert_eq!(
        listed.lines().filter(|l| l.contains("RUNNING")).count(),
        1,
        "{listed}"
    );

    // Once it has ended, a person's start still goes ahead (no cooldown holds it back), and says so.
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:webapp-rollback";
    runtime
        .block_on(
            aws_sdk_sfn::Client::new(&runtime.block_on(moto.sdk_config()))
                .stop_execution()
                .execution_arn(format!(
                    "{}:{started}",
                    machine.replace(":stateMachine:", ":execution:")
                ))
                .send(),
        )
        .expect("the execution stops");
    let (code, out, err) = stepback_with(
        &["start", "--arn", machine, "--name", "by-hand"],
        &moto.env(),
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "note: a rollback finished 0 minute(s) ago: execution `{started}`, ABORTED"
        )),
        "{out}"
    );
}

/// A mistyped or unknown input is refused before any AWS call: with no credentials at all, an AWS call would
/// end in exit code 2.
#[test]
fn start_refuses_a_bad_input_before_calling_aws() {
    let (code, out, err) = stepback_with(
        &[
            "start",
            "examples/webapp-rollback.toml",
            "--arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:webapp-rollback",
            "--input",
            "restor_data=true",
            "--input",
            "restore_data=yes",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", String::new()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
        ],
        "",
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err,
        "error[E019]: unknown input `restor_data`\n  help: did you mean `restore_data`?\n\
         error[E011]: input `restore_data` expects a bool, found `yes`\n  help: --input restore_data=true or --input restore_data=false\n"
    );
}

#[test]
fn deploy_without_the_zip_names_the_command_that_builds_it() {
    let (code, out, err) = stepback_with(
        &[
            "deploy",
            "examples/webapp-rollback.toml",
            "--stack",
            "webapp",
            "--code",
            "target/no-such/bootstrap.zip",
        ],
        &[],
        "",
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("cannot read the Lambda zip target/no-such/bootstrap.zip"),
        "{err}"
    );
    assert!(err.contains(cli::stack::BUILD_ZIP), "{err}");
}

/// Without `--task-role`, `deploy` reads the roles that the ECS functions pass from the task definitions that
/// the workflow's service runs and its migration task starts, says where it found each, and gives them to the
/// stack's `TaskRoleArns`; with none to read and none given, it refuses before creating anything.
#[test]
fn deploy_reads_the_task_roles_from_the_task_definitions() {
    let moto = tests::Moto::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let zip = dir.path().join("bootstrap.zip");
    std::fs::write(&zip, b"not really a zip: moto does not run the code").expect("zip written");
    let example = root()
        .join("examples/webapp-rollback.toml")
        .display()
        .to_string();
    let zip = zip.display().to_string();
    let deploy = [
        "deploy", &example, "--stack", "webapp", "--code", &zip, "--yes",
    ];

    let (code, out, err) = stepback_with(&deploy, &moto.env(), "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("could not read the roles of service webapp (prod)")
            && err.contains("none could be read from its services and task definitions")
            && err.contains("help: pass --task-role ARN"),
        "{err}"
    );

    let role = |name: &str| format!("arn:aws:iam::123456789012:role/{name}");
    runtime.block_on(async {
        let ecs = aws_sdk_ecs::Client::new(&moto.sdk_config().await);
        ecs.create_cluster()
            .cluster_name("prod")
            .send()
            .await
            .expect("cluster");
        for (family, task_role, execution_role) in [
            ("webapp", "webapp-task", "webapp-execution"),
            ("webapp-migrate", "webapp-migrate-task", "webapp-execution"),
        ] {
            ecs.register_task_definition()
                .family(family)
                .task_role_arn(role(task_role))
                .execution_role_arn(role(execution_role))
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("app")
                        .image(format!("registry.example/{family}:v1"))
                        .memory(512)
                        .build(),
                )
                .send()
                .await
                .expect("task definition");
        }
        ecs.create_service()
            .cluster("prod")
            .service_name("webapp")
            .task_definition("webapp:1")
            .desired_count(1)
            .send()
            .await
            .expect("service");
    });
    let (code, out, err) = stepback_with(&deploy, &moto.env(), "");
    assert_eq!(code, 0, "{out}{err}");
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("task role "))
        .collect();
    assert_eq!(
        said,
        [
            "task role arn:aws:iam::123456789012:role/webapp-migrate-task (task role of webapp-migrate:1)",
            "task role arn:aws:iam::123456789012:role/webapp-execution (execution role of webapp-migrate:1)",
            "task role arn:aws:iam::123456789012:role/webapp-task (task role of webapp:1, which service prod/webapp runs)",
        ],
        "{err}"
    );
    let parameters = runtime.block_on(async {
        aws_sdk_cloudformation::Client::new(&moto.sdk_config().await)
            .describe_stacks()
            .stack_name("webapp")
            .send()
            .await
            .expect("the stack exists")
            .stacks()[0]
            .parameters()
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap_or_default().to_owned(),
                    p.parameter_value().unwrap_or_default().to_owned(),
                )
            })
            .collect::<BTreeMap<_, _>>()
    });
    // moto shows a CommaDelimitedList parameter as Python's text of a list: `['a', 'b']`.
    let passed: Vec<&str> = parameters
        .get(compiler::iam::TASK_ROLES_PARAMETER)
        .map(String::as_str)
        .unwrap_or_default()
        .split([',', '\'', '[', ']', ' '])
        .filter(|arn| !arn.is_empty())
        .collect();
    assert_eq!(
        passed,
        [
            role("webapp-migrate-task"),
            role("webapp-execution"),
            role("webapp-task")
        ],
        "{parameters:?}"
    );
}

/// A table row's cells, one space apart: what a row says, whatever the columns' widths.
fn words(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}
