//! The Lambdas against moto (one server per test, on a free loopback port) and against loopback HTTP
//! servers. `scripts/test` installs moto; without it these tests fail and say so.

mod alb;
mod asg;
mod aurora;
mod bootstrap;
mod check_alarms;
mod check_http;
mod check_logs;
mod check_metric;
mod contract;
mod ec2;
mod ecs;
mod eks;
mod fault;
mod guard;
mod http;
mod iam;
mod kms;
mod models;
mod notify;
mod rds;
mod readiness;
mod ssm;

use catalog::contract::{Response, Status};
use lambdas::{ActionError, Clients};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const STATE_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:rollback";
/// moto answers long operations at once; a handler that needs more polls than this never finishes.
const MAX_POLLS: usize = 12;

/// A fresh moto and the function's clients pointed at it, through the recorder of the IAM check; on drop, the
/// handlers' requests go through the IAM evidence and the model check.
pub struct Aws {
    pub moto: tests::Moto,
    pub clients: Clients,
    pub recorder: iam::Recorder,
}

impl Aws {
    pub async fn start() -> Aws {
        Aws::start_with_env(&[]).await
    }

    pub async fn start_with_env(env: &[(&str, &str)]) -> Aws {
        let moto = tests::Moto::start_with_env(env);
        let recorder = iam::Recorder::new();
        let config = moto
            .sdk_config()
            .await
            .into_builder()
            .http_client(recorder.clone())
            .build();
        let clients = Clients::new(&config);
        Aws {
            moto,
            clients,
            recorder,
        }
    }

    /// A running EC2 instance in moto, for the actions that act on hosts.
    pub async fn ec2_instance(&self) -> String {
        let run = self
            .clients
            .aws(lambdas::ec2::Client::new)
            .run_instances("ami-12c6146b", 1)
            .await;
        run.expect("instance").remove(0)
    }
}

impl Drop for Aws {
    fn drop(&mut self) {
        // A failed test keeps its own message.
        if !std::thread::panicking() {
            iam::assert_evidence(&self.recorder);
            tests::models::assert_accepted(&self.recorder.sent());
        }
    }
}

/// One step of one execution, as the state machine would invoke it.
pub struct Step {
    pub action: &'static str,
    pub params: Value,
    pub execution: &'static str,
    pub step: &'static str,
}

impl Step {
    pub fn new(action: &'static str, params: Value) -> Step {
        Step {
            action,
            params,
            execution: "run-1",
            step: "s1",
        }
    }

    pub fn in_execution(self, execution: &'static str) -> Step {
        Step { execution, ..self }
    }

    pub fn execution_arn(&self) -> String {
        format!(
            "arn:aws:states:us-east-1:{ACCOUNT}:execution:rollback:{}",
            self.execution
        )
    }

    pub fn payload(&self, operation: &str, state: Option<&Value>) -> Value {
        json!({
            "version": catalog::contract::VERSION,
            "action": self.action,
            "operation": operation,
            "execution": {
                "id": self.execution_arn(),
                "name": self.execution,
                "state_machine": STATE_MACHINE,
                "step": self.step,
            },
            "params": self.params,
            "state": state,
        })
    }

    pub async fn start(&self, aws: &Aws) -> Result<Response, ActionError> {
        invoke(aws, self.action, self.payload("start", None)).await
    }

    pub async fn poll(&self, aws: &Aws, state: Option<&Value>) -> Result<Response, ActionError> {
        invoke(aws, self.action, self.payload("poll", state)).await
    }

    /// `start`, then `poll` while running, as the state machine's loop does. A `done` answer must carry
    /// exactly the catalog's outputs.
    pub async fn run(&self, aws: &Aws) -> Result<Response, ActionError> {
        let mut response = self.start(aws).await?;
        for n in 1..=MAX_POLLS {
            if response.status != Status::Running {
                break;
            }
            // The loop's counter travels through the function: the request's `poll` comes back.
            let mut payload = self.payload("poll", response.state.as_ref());
            payload["poll"] = json!(n);
            response = invoke(aws, self.action, payload).await?;
            assert_eq!(
                response.poll,
                Some(n as u64),
                "{}: the poll number",
                self.action
            );
        }
        assert_ne!(
            response.status,
            Status::Running,
            "{} still running after {MAX_POLLS} polls: {response:?}",
            self.action
        );
        if response.status == Status::Done {
            assert_outputs_match_catalog(self.action, &response);
        }
        Ok(response)
    }
}

pub async fn invoke(aws: &Aws, action: &str, payload: Value) -> Result<Response, ActionError> {
    let spec = catalog::action(action).expect("a catalog action");
    let function = lambdas::Function::new(spec).expect("a Lambda action");
    let params = payload["params"].as_object().cloned().unwrap_or_default();
    let handled = function.handle(&aws.clients, payload);
    aws.recorder.check(spec, &params, handled).await
}

/// The catalog is the single source of outputs: the state machine reads exactly these names.
pub fn assert_outputs_match_catalog(action: &str, response: &Response) {
    let spec = catalog::action(action).expect("a catalog action");
    let mut declared: Vec<_> = spec.outputs.iter().map(|o| o.name).collect();
    let mut answered: Vec<_> = response.output.keys().map(String::as_str).collect();
    declared.sort_unstable();
    answered.sort_unstable();
    assert_eq!(answered, declared, "outputs of {action}");
}

/// The `done` outputs, after checking the answer is `done`.
pub fn output(response: Result<Response, ActionError>) -> serde_json::Map<String, Value> {
    let response = response.unwrap_or_else(|e| panic!("expected done, got {e}"));
    assert_eq!(response.status, Status::Done, "{response:?}");
    response.output
}

/// Runs the step's read-only `check` (what `stepback preflight` invokes), through the IAM recorder like every
/// call, and asserts that it found everything ready.
pub async fn check_ok(aws: &Aws, step: &Step) {
    let out = output(invoke(aws, step.action, step.payload("check", None)).await);
    let findings = out["findings"].as_array().expect("findings");
    assert!(
        !findings.is_empty() && findings.iter().all(|f| f["verdict"] == "ok"),
        "{} check: {findings:#?}",
        step.action
    );
}

/// The error a call raised, after checking it raised one.
pub fn error(response: Result<Response, ActionError>) -> ActionError {
    match response {
        Ok(response) => panic!("expected an error, got {response:?}"),
        Err(error) => error,
    }
}

/// `(error, cause)` of a `status: failed` answer.
pub fn failure(response: Result<Response, ActionError>) -> (String, String) {
    let response = response.unwrap_or_else(|e| panic!("expected status failed, got the error {e}"));
    assert_eq!(response.status, Status::Failed, "{response:?}");
    (
        response.error.unwrap_or_default(),
        response.cause.unwrap_or_default(),
    )
}

pub fn str_of<'a>(output: &'a serde_json::Map<String, Value>, name: &str) -> &'a str {
    output
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("output {name} is not a string: {output:?}"))
}
