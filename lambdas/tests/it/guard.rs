//! `guard` against moto's Step Functions: executions stay RUNNING until stopped.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use catalog::ErrorName;
use lambdas::Clients;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::{ACCOUNT, Aws, STATE_MACHINE, Step, error, output};

/// The state machine `rollback` (with its lock table, as the stack makes it) with `names` running; returns their
/// execution ARNs.
async fn running(aws: &Aws, names: &[&str]) -> Vec<String> {
    machine(&aws.clients, "rollback", names).await
}

/// A state machine `name` whose executions wait 10 minutes, its lock table, and `executions` started.
async fn machine(clients: &Clients, name: &str, executions: &[&str]) -> Vec<String> {
    let sfn = &clients.aws(aws_sdk_sfn::Client::new);
    let definition = json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let machine = sfn
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/stepback")
        .send()
        .await
        .expect("state machine");
    tests::lock_table(&clients.aws(aws_sdk_dynamodb::Client::new), name).await;
    let mut arns = Vec::new();
    for execution in executions {
        let started = sfn
            .start_execution()
            .state_machine_arn(machine.state_machine_arn())
            .name(*execution)
            .send()
            .await
            .expect("start");
        arns.push(started.execution_arn().to_owned());
    }
    arns
}

async fn stop(aws: &Aws, arn: &str) {
    aws.clients
        .aws(aws_sdk_sfn::Client::new)
        .stop_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("stop");
}

/// The params the compiler sends for a workflow declaring two inputs, given only declared keys.
fn clean() -> serde_json::Value {
    json!({ "declared": ["restore_data", "restore_snapshot"], "input": { "restore_data": false } })
}

#[tokio::test]
async fn passes_when_only_this_execution_runs() {
    let aws = Aws::start().await;
    running(&aws, &["run-1"]).await;
    let step = Step::new("guard", clean());
    crate::check_ok(&aws, &step).await;
    assert_eq!(output(step.run(&aws).await)["previous"], "");
}

/// Two alarms at once: whichever execution takes the lock first acts, and every other one names it, whatever
/// their start order; once it ends, the next takes the lock over.
#[tokio::test]
async fn the_first_to_take_the_lock_acts_and_the_others_name_it() {
    let aws = Aws::start().await;
    let arns = running(&aws, &["run-0", "run-1", "run-2"]).await;
    let first = Step::new("guard", clean()).in_execution("run-1");
    assert_eq!(output(first.run(&aws).await)["previous"], "");
    for other in ["run-0", "run-2"] {
        let failure = error(
            Step::new("guard", clean())
                .in_execution(other)
                .start(&aws)
                .await,
        );
        assert_eq!(failure.name, ErrorName::AlreadyRunning, "{failure}");
        assert!(
            failure
                .message
                .starts_with("another rollback is running: execution `run-1` of state machine"),
            "{failure}"
        );
    }
    // A retry of the holder's own guard (an answer lost) finds the lock its own.
    assert_eq!(output(first.run(&aws).await)["previous"], "");
    // Once the holder ends, the next execution takes the lock over.
    stop(&aws, &arns[1]).await;
    let next = Step::new("guard", clean()).in_execution("run-2");
    assert_eq!(output(next.run(&aws).await)["previous"], arns[1]);
    let failure = error(
        Step::new("guard", clean())
            .in_execution("run-0")
            .start(&aws)
            .await,
    );
    assert!(failure.message.contains("`run-2`"), "{failure}");
    // A holder that DescribeExecution does not show yet (eventually consistent) counts as running.
    stop(&aws, &arns[2]).await;
    let unseen = Step::new("guard", clean()).in_execution("run-9");
    assert_eq!(output(unseen.run(&aws).await)["previous"], arns[2]);
    let failure = error(
        Step::new("guard", clean())
            .in_execution("run-0")
            .start(&aws)
            .await,
    );
    assert_eq!(failure.name, ErrorName::AlreadyRunning, "{failure}");
    assert!(failure.message.contains("`run-9`"), "{failure}");
}

/// Alarms that fire together, with a Step Functions whose reads lag: the front before moto answers
/// ListExecutions without the newest executions (each round's), and DescribeExecution of one of them with
/// `ExecutionDoesNotExist`, as an eventually consistent read may; a guard deciding from the list would see no
/// other execution, and every one would act. Of 2 and of 5 executions whose guards run at
/// the same moment, exactly one acts, in every round.
#[tokio::test]
async fn alarms_at_once_give_exactly_one_rollback_though_the_list_lags() {
    let aws = Aws::start().await;
    let front = Lagging::start(&aws.moto).await;
    let lagging = Arc::new(front.clients().await);
    let alarm = tests::alarm_event("webapp-5xx-rate", "ALARM", tests::ALARM_REASON);
    for concurrent in [2, 5] {
        for round in 0..ROUNDS {
            let machine_name = format!("rollback-{concurrent}-{round}");
            let names: Vec<String> = (0..concurrent).map(|n| format!("alarm-{n}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let arns = machine(&aws.clients, &machine_name, &names).await;
            front.hide(&arns);
            let machine_arn =
                format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{machine_name}");
            let listed = lagging
                .aws(aws_sdk_sfn::Client::new)
                .list_executions()
                .state_machine_arn(&machine_arn)
                .send()
                .await
                .expect("the lagging list");
            assert!(listed.executions().is_empty(), "the front lags: {listed:?}");
            let payloads: Vec<Value> = arns
                .iter()
                .map(|arn| {
                    let mut params = clean();
                    params["started_with"] = alarm.clone();
                    params["cooldown"] = json!(3600);
                    json!({
                        "version": catalog::contract::VERSION,
                        "action": "guard",
                        "operation": "start",
                        "execution": {
                            "id": arn,
                            "name": arn.rsplit(':').next(),
                            "state_machine": machine_arn,
                            "step": "guard",
                        },
                        "params": params,
                    })
                })
                .collect();
            // The handler's future is not `Send`: the guards run interleaved on this thread, each awaiting its
            // calls to the emulator, which answers them on threads of its own.
            let answers = tokio::task::LocalSet::new()
                .run_until(async {
                    let mut guards = tokio::task::JoinSet::new();
                    for payload in payloads {
                        let clients = Arc::clone(&lagging);
                        guards.spawn_local(async move {
                            let spec = catalog::action("guard").expect("the guard");
                            let function = lambdas::Function::new(spec).expect("a Lambda action");
                            function.handle(&clients, payload).await
                        });
                    }
                    guards.join_all().await
                })
                .await;
            let acted = answers.iter().filter(|a| a.is_ok()).count();
            assert_eq!(
                acted, 1,
                "{concurrent} at once, round {round}: {answers:#?}"
            );
            for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
                assert_eq!(refused.name, ErrorName::AlreadyRunning, "{refused}");
            }
        }
    }
    assert!(front.hidden() > 0, "the front hid no execution");
}

/// Rounds of each size: a lost race shows in a few.
const ROUNDS: usize = 5;

/// A misspelt key would leave the declared input at its default: the guard refuses the input before it looks at
/// other executions, naming the key and the declared name it is closest to.
#[tokio::test]
async fn an_undeclared_input_is_refused_naming_the_closest_declared_one() {
    let aws = Aws::start().await;
    running(&aws, &["run-0", "run-1"]).await;
    let params = json!({
        "declared": ["restore_data", "restore_snapshot", "reason"],
        "input": { "restor_data": true, "restore_snapshot": "snap-1", "reason": "manual", "zzz": 1 },
    });
    let failure = error(Step::new("guard", params).start(&aws).await);
    assert_eq!(failure.name, ErrorName::InvalidInput, "{failure}");
    assert_eq!(
        failure.message,
        "the input has keys that [input] does not declare: `restor_data` (did you mean `restore_data`?), \
         `zzz`; it declares: restore_data, restore_snapshot, reason"
    );
}

/// An input longer than its `max_length` is refused before the guard looks at other executions: the state data's
/// bound counts every input at it. A `"` counts twice, as the state holds it escaped.
#[tokio::test]
async fn an_input_longer_than_its_max_length_is_refused() {
    let aws = Aws::start().await;
    running(&aws, &["run-1"]).await;
    let params = |reason: &str| {
        json!({
            "declared": ["reason", "hosts", "restore_data"],
            "max_lengths": { "reason": 10, "hosts": 12 },
            "input": { "reason": reason, "hosts": ["a", "b"], "restore_data": true },
        })
    };
    let out = output(Step::new("guard", params("0123456789")).run(&aws).await);
    assert_eq!(out["previous"], "", "10 bytes pass a max_length of 10");
    let failure = error(Step::new("guard", params("012345678\"")).start(&aws).await);
    assert_eq!(failure.name, ErrorName::InvalidInput, "{failure}");
    assert_eq!(
        failure.message,
        "the input is too long: `reason` is 11 bytes long, over its max_length of 10"
    );
}

/// A flapping alarm: its event, within `[trigger].cooldown` of the end of the execution that last took the lock,
/// does not act. The guard tells `[trigger].topic`, naming that execution and how it ended; a person's start, or
/// the same alarm once the cooldown has passed since the end and since the last alarm held back, proceeds.
#[tokio::test]
async fn an_alarm_within_the_cooldown_of_the_last_end_does_not_act() {
    let aws = Aws::start().await;
    let (topic, subscriber) = crate::notify::topic(&aws).await;
    let sfn = aws.clients.aws(aws_sdk_sfn::Client::new);
    let arns = running(&aws, &["rolled-back"]).await;
    let rolled_back = Step::new("guard", clean()).in_execution("rolled-back");
    output(rolled_back.run(&aws).await);
    stop(&aws, &arns[0]).await;
    sfn.start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("run-1")
        .send()
        .await
        .expect("start");
    let with_trigger = |started_with: serde_json::Value, cooldown: u64| {
        let mut params = clean();
        params["started_with"] = started_with;
        params["cooldown"] = json!(cooldown);
        params["topic"] = json!(topic);
        Step::new("guard", params)
    };
    let alarm = tests::alarm_event("webapp-5xx-rate", "ALARM", tests::ALARM_REASON);
    crate::check_ok(&aws, &with_trigger(alarm.clone(), 3600)).await;

    let held = error(with_trigger(alarm.clone(), 3600).start(&aws).await);
    assert_eq!(held.name, ErrorName::CoolingDown, "{held}");
    for expected in [
        "a rollback already ran: execution `rolled-back` of state machine",
        "ended ABORTED at ",
        ", 0 minute(s) before alarm `webapp-5xx-rate` started this one",
        "within [trigger].cooldown (1h)",
        &format!("(told SNS topic `{topic}`)"),
    ] {
        assert!(
            held.message.contains(expected),
            "{expected:?} missing: {held}"
        );
    }
    let told = crate::notify::delivered(&subscriber);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0]["Subject"],
        "Rollback not started: webapp-5xx-rate fired within the cooldown"
    );
    let message = told[0]["Message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("a rollback already ran: execution `rolled-back`"),
        "{message}"
    );

    // The lock notes the held-back alarm, whose time counts as an end for the next alarm.
    let item = aws
        .clients
        .aws(aws_sdk_dynamodb::Client::new)
        .get_item()
        .table_name(catalog::names::lock_table("rollback"))
        .key(
            catalog::LOCK_KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(catalog::LOCK_ITEM.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("the lock");
    let noted = item
        .item()
        .and_then(|i| i.get("held_back"))
        .and_then(|v| v.as_s().ok());
    assert_eq!(
        noted,
        Some(&with_trigger(alarm.clone(), 3600).execution_arn())
    );

    // A person's start (any input but an alarm's event) is never held back.
    let console = output(
        with_trigger(json!({"restore_data": true}), 3600)
            .run(&aws)
            .await,
    );
    assert_eq!(console["previous"], arns[0]);
    // Past the cooldown, the alarm acts.
    let late = Step::new("guard", {
        let mut params = clean();
        params["started_with"] = alarm;
        params["cooldown"] = json!(1);
        params
    });
    // run-1 started before the sleep, so a later execution is needed for "begins after the cooldown".
    sfn.stop_execution()
        .execution_arn(late.execution_arn())
        .send()
        .await
        .expect("stop run-1");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sfn.start_execution()
        .state_machine_arn(STATE_MACHINE)
        .name("run-2")
        .send()
        .await
        .expect("start");
    let late = late.in_execution("run-2");
    assert_eq!(
        output(late.run(&aws).await)["previous"],
        late.execution_arn().replace("run-2", "run-1")
    );
    assert_eq!(crate::notify::delivered(&subscriber).len(), 1);
}

/// A loopback front of moto whose Step Functions reads lag behind the executions it is told to hide (the newest):
/// ListExecutions leaves them out and DescribeExecution answers `ExecutionDoesNotExist`, as both eventually
/// consistent reads may ("may not reflect very recent updates", ListExecutions and DescribeExecution API
/// references). Every other request is passed on unchanged, DynamoDB's one at a time as AWS keeps them
/// ([`rehearsal_front::moto_gaps::one_at_a_time`]).
struct Lagging {
    port: u16,
    hiding: Arc<Mutex<BTreeSet<String>>>,
    hidden: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Lagging {
    async fn start(moto: &tests::Moto) -> Lagging {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let upstream = moto.addr();
        let hiding: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let hidden: Arc<AtomicUsize> = Arc::default();
        let shared = (
            Arc::clone(&hiding),
            Arc::clone(&hidden),
            Arc::<tokio::sync::Mutex<()>>::default(),
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (hiding, hidden, dynamodb) = (
                    Arc::clone(&shared.0),
                    Arc::clone(&shared.1),
                    Arc::clone(&shared.2),
                );
                tokio::spawn(async move {
                    // A broken connection fails only the call that made it, which the test then reports.
                    let _ = relay(stream, upstream, &hiding, &hidden, &dynamodb).await;
                });
            }
        });
        Lagging {
            port,
            hiding,
            hidden,
            task,
        }
    }

    /// From now on, `arns` are too new for the reads.
    fn hide(&self, arns: &[String]) {
        self.hiding
            .lock()
            .expect("the hidden executions")
            .extend(arns.iter().cloned());
    }

    /// How many times an execution was left out or denied.
    fn hidden(&self) -> usize {
        self.hidden.load(Ordering::SeqCst)
    }

    /// A function's clients, talking to moto through this front.
    async fn clients(&self) -> Clients {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(format!("http://127.0.0.1:{}", self.port))
            .region(aws_config::Region::new(tests::REGION))
            .test_credentials()
            .load()
            .await;
        Clients::new(&config)
    }
}

impl Drop for Lagging {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    mut client: TcpStream,
    upstream: std::net::SocketAddr,
    hiding: &Mutex<BTreeSet<String>>,
    hidden: &AtomicUsize,
    dynamodb: &tokio::sync::Mutex<()>,
) -> std::io::Result<()> {
    let request = rehearsal_front::loopback::read_request(&mut client).await?;
    let target = request
        .header("x-amz-target")
        .unwrap_or_default()
        .to_owned();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let is_hidden = |arn: &Value| {
        let hide = arn
            .as_str()
            .is_some_and(|arn| hiding.lock().expect("the hidden executions").contains(arn));
        if hide {
            hidden.fetch_add(1, Ordering::SeqCst);
        }
        hide
    };
    if target == "AWSStepFunctions.DescribeExecution" && is_hidden(&body["executionArn"]) {
        let error =
            json!({ "__type": "ExecutionDoesNotExist", "message": "Execution Does Not Exist" })
                .to_string();
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{error}",
            error.len()
        );
        return client.write_all(answer.as_bytes()).await;
    }
    let one_at_a_time = if rehearsal_front::moto_gaps::one_at_a_time(&request) {
        Some(dynamodb.lock().await)
    } else {
        None
    };
    let answer = rehearsal_front::loopback::exchange(upstream, &request.closing()).await?;
    drop(one_at_a_time);
    let listed = rehearsal_front::loopback::Response::parse(&answer)
        .filter(|r| target == "AWSStepFunctions.ListExecutions" && r.status == 200);
    let Some(listed) = listed else {
        return client.write_all(&answer).await;
    };
    let mut page: Value = serde_json::from_slice(&listed.body).unwrap_or_default();
    if let Some(executions) = page["executions"].as_array_mut() {
        executions.retain(|e| !is_hidden(&e["executionArn"]));
    }
    let body = page.to_string().into_bytes();
    client
        .write_all(&listed.with_body("application/x-amz-json-1.0", &[], body))
        .await
}
