//! The actuators: one handler per catalog action, found once per cold start by [`Function`].
//!
//! One binary serves every action; the function's `STEPBACK_ACTION` picks the action, so each function keeps
//! its own least-privilege role while there is one artifact to build and ship. Invariants:
//! - no action name is written outside the catalog and its handler's `ACTION`; what differs by runtime (poll
//!   or not) comes from the catalog entry;
//! - every error reaches Step Functions as an [`ErrorName`] (see [`error`]), never as a Rust type name;
//! - `start` is idempotent: ids derive from the execution and step, so a retried `start` finds its own work;
//! - nothing is ever deleted, and no handler waits inside the Lambda: long work is `start` then `poll`.

pub mod actions;
pub mod check;
pub mod error;
pub mod logging;
pub mod read_only;
pub mod shell;
pub mod tls;

use std::any::Any;
use std::sync::{Mutex, OnceLock, PoisonError};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{HttpClient, SharedHttpClient};
use catalog::contract::{self, Execution, Operation, Request, Response, Status};
use catalog::{ActionSpec, Constraint, ErrorName, Runtime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use error::ActionError;

/// The environment variable that names the function's action.
pub const ACTION_ENV: &str = "STEPBACK_ACTION";

/// The AWS clients, each built on its first use: a function pays at cold start only for the services its
/// action calls. Clients are cheap to clone (they share one handle), so callers get an owned one.
pub struct Clients {
    config: SdkConfig,
    /// At most one client per type; a handful of services, so a list beats a map.
    aws: Mutex<Vec<Box<dyn Any + Send + Sync>>>,
    http: OnceLock<reqwest::Client>,
    /// The clients of `check`s, built on first use; `None` inside them.
    read_only: Option<OnceLock<Box<Clients>>>,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            config: config.clone(),
            aws: Mutex::new(Vec::new()),
            http: OnceLock::new(),
            read_only: Some(OnceLock::new()),
        }
    }

    /// The clients a `check` runs on: the same config, with an HTTP client that refuses every AWS operation
    /// that does not read ([`read_only::ReadOnly`]), around the config's own client or the SDK's default.
    pub fn read_only(&self) -> &Clients {
        let Some(built) = &self.read_only else {
            return self;
        };
        built.get_or_init(|| {
            Box::new(Clients {
                read_only: None,
                ..self.wrapped(read_only::ReadOnly::new)
            })
        })
    }

    /// Clients on the same config, whose HTTP client is `wrap` around this one's (or [`tls::https_client`]).
    pub fn wrapped<H: HttpClient + 'static>(
        &self,
        wrap: impl FnOnce(SharedHttpClient) -> H,
    ) -> Clients {
        let inner = self.config.http_client().unwrap_or_else(tls::https_client);
        let config = self.config.to_builder().http_client(wrap(inner)).build();
        Clients::new(&config)
    }

    /// The client of one AWS service, e.g. `clients.aws(aws_sdk_rds::Client::new)`, built by `new` from the
    /// function's config the first time it is asked for.
    pub fn aws<C: Any + Clone + Send + Sync>(&self, new: fn(&SdkConfig) -> C) -> C {
        let mut built = self.aws.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = built.iter().find_map(|c| c.downcast_ref::<C>()) {
            return client.clone();
        }
        let client = new(&self.config);
        built.push(Box::new(client.clone()));
        client
    }

    /// Answers every later `aws::<C>` with `client`: tests point one service at aws-smithy-mocks this way.
    pub fn insert<C: Any + Clone + Send + Sync>(&self, client: C) {
        let mut built = self.aws.lock().unwrap_or_else(PoisonError::into_inner);
        built.retain(|c| !c.is::<C>());
        built.push(Box::new(client));
    }

    /// Built on first use: reqwest reads the CA store again, which only `check.http` functions should pay
    /// for at cold start.
    pub fn http(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder().build()?;
        Ok(self.http.get_or_init(|| client))
    }
}

/// One Lambda function: the catalog action it serves and that action's handler, both found once at cold
/// start.
#[derive(Clone, Copy)]
pub struct Function {
    pub action: &'static ActionSpec,
    handler: &'static actions::Handler,
}

impl Function {
    /// The function of the catalog action named by `STEPBACK_ACTION`.
    pub fn from_env() -> Result<Function, String> {
        let name = std::env::var(ACTION_ENV).map_err(|_| format!("{ACTION_ENV} is not set"))?;
        let action = catalog::action(&name)
            .ok_or_else(|| format!("{ACTION_ENV}={name} is not an action in the catalog"))?;
        Function::new(action)
    }

    /// Refuses an action that has no Lambda handler, i.e. a native state such as `wait`, and a handler that
    /// answers `poll` when the catalog does not run the action as a poll loop, or the other way round.
    pub fn new(action: &'static ActionSpec) -> Result<Function, String> {
        let handler = actions::handler(action.name).ok_or_else(|| {
            format!(
                "`{}` runs as a native state ({:?}), not in a Lambda",
                action.name, action.runtime
            )
        })?;
        if handler.polls != (action.runtime == Runtime::Poll) {
            return Err(format!(
                "the handler of `{}` does not fit its catalog runtime {:?}",
                action.name, action.runtime
            ));
        }
        Ok(Function { action, handler })
    }

    /// The Lambda handler: checks the payload against the contract and the function's action, then runs it.
    /// It takes raw JSON so that a malformed payload is a `Stepback.InvalidInput` and not the runtime's own
    /// error.
    pub async fn handle(&self, clients: &Clients, payload: Value) -> Result<Response, ActionError> {
        let request = self.accept(payload)?;
        if request.operation == Operation::Check {
            return (self.handler.check)(clients.read_only(), request).await;
        }
        let poll = request.poll;
        let params = request.params.clone();
        let response = (self.handler.run)(clients, request).await?;
        let changed = (response.status == Status::Done)
            .then(|| catalog::changed::line(self.action, &params, &response.output));
        // The state machine keeps its poll count from the answer.
        Ok(Response {
            poll,
            changed,
            ..response
        })
    }

    /// Everything [`Function::handle`] reads from a payload before its first AWS call: the contract, the
    /// params against the action's own type, and a `poll`'s state. `Ok` means that `handle` would go on to
    /// act; the fuzz target `contract` runs it on arbitrary JSON.
    pub fn parse(&self, payload: Value) -> Result<(), ActionError> {
        let request = self.accept(payload)?;
        if request.operation == Operation::Check {
            // A check reads its params as `check::Known`, whatever their JSON.
            return Ok(());
        }
        (self.handler.parse)(request)
    }

    /// The contract's checks: the payload's shape and version, and that it is for this function's action and
    /// an operation the action has.
    fn accept(&self, payload: Value) -> Result<Request, ActionError> {
        let action = self.action;
        let request: Request = serde_json::from_value(payload).map_err(|e| {
            ActionError::invalid_input(format!("payload does not match the contract: {e}"))
        })?;
        if request.version != contract::VERSION {
            return Err(ActionError::invalid_input(format!(
                "payload version {} is not the version {} this function speaks",
                request.version,
                contract::VERSION
            )));
        }
        if request.action != action.name {
            return Err(ActionError::invalid_input(format!(
                "payload is for action `{}` but this function runs `{}`",
                request.action, action.name
            )));
        }
        if request.operation == Operation::Poll && action.runtime != Runtime::Poll {
            return Err(ActionError::invalid_input(format!(
                "`{}` has no poll operation: it runs in one invocation ({:?})",
                action.name, action.runtime
            )));
        }
        // An empty id filters nothing in a Describe call: a lookup by it would take whatever comes first. A
        // check reports it as a finding instead.
        if request.operation != Operation::Check
            && let Some(empty) = action.params.iter().find(|p| {
                p.constraint == Constraint::Name
                    && request.params.get(p.name) == Some(&Value::from(""))
            })
        {
            return Err(ActionError::invalid_input(format!(
                "`{}` is empty: it must name a resource",
                empty.name
            )));
        }
        Ok(request)
    }
}

/// One invocation of an action, with its params checked against the action's own type.
pub struct Call<P> {
    pub params: P,
    pub operation: Operation,
    pub execution: Execution,
    pub state: Option<Value>,
    /// Never logged, never put into an error message.
    pub task_token: Option<String>,
}

impl<P: DeserializeOwned> Call<P> {
    fn parse(request: Request) -> Result<Call<P>, ActionError> {
        let params = serde_json::from_value(Value::Object(request.params)).map_err(|e| {
            ActionError::invalid_input(format!("params of `{}` are invalid: {e}", request.action))
        })?;
        Ok(Call {
            params,
            operation: request.operation,
            execution: request.execution,
            state: request.state,
            task_token: request.task_token,
        })
    }
}

impl<P> Call<P> {
    /// The state the previous `start` or `poll` returned. A stateless action answers `state: null`, which
    /// the state machine passes back as null or not at all.
    pub fn state<S: DeserializeOwned>(&self) -> Result<S, ActionError> {
        let state = self.state.clone().unwrap_or(Value::Null);
        serde_json::from_value(state).map_err(|e| {
            ActionError::invalid_input(format!("poll state is not what start returned: {e}"))
        })
    }

    /// Eight hex digits that are the same on every attempt of this step in this execution, and differ across
    /// executions: the suffix of every resource id and client token, so a retried `start` finds its own work.
    pub fn attempt_key(&self) -> String {
        let digest = Sha256::digest(format!("{}\n{}", self.execution.id, self.execution.step));
        // Two hex digits a byte: as long as the catalog's patterns expect.
        digest
            .iter()
            .take(catalog::names::KEY_LEN / 2)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Tags that mark a resource as made by this step of this execution. An RDS tag's value holds only letters,
    /// digits, white space and `_.:/=+-@`, and an execution's name may hold more (`!'()`…; no white space), so
    /// each other character is written `_` (the RDS API reference's `Tag`; the model check refuses it otherwise).
    pub fn tags(&self) -> [(&'static str, String); 2] {
        let value = |text: &str| {
            text.chars()
                .map(|c| {
                    if c.is_alphanumeric() || "_.:/=+-@".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        [
            ("stepback:execution", value(&self.execution.id)),
            ("stepback:step", value(&self.execution.step)),
        ]
    }
}

/// `status: done` with the action's outputs.
pub fn done(output: &impl Serialize) -> Result<Response, ActionError> {
    Ok(Response {
        output: to_map(output)?,
        ..response(Status::Done)
    })
}

/// `status: running`: the state machine waits and polls again with `state`. The progress line is cut to its
/// catalog bound, since the state keeps it.
pub fn running(state: &impl Serialize, progress: String) -> Result<Response, ActionError> {
    let state = serde_json::to_value(state).map_err(unserializable)?;
    Ok(Response {
        state: Some(state),
        progress: Some(error::cut(progress, catalog::PROGRESS_BYTES)),
        ..response(Status::Running)
    })
}

pub(crate) fn response(status: Status) -> Response {
    Response {
        version: contract::VERSION,
        status,
        output: Map::new(),
        state: None,
        progress: None,
        error: None,
        cause: None,
        poll: None,
        changed: None,
    }
}

fn to_map(value: &impl Serialize) -> Result<Map<String, Value>, ActionError> {
    match serde_json::to_value(value).map_err(unserializable)? {
        Value::Object(map) => Ok(map),
        other => Err(ActionError::new(
            ErrorName::Failed,
            format!("output is not an object: {other}"),
        )),
    }
}

fn unserializable(e: serde_json::Error) -> ActionError {
    ActionError::new(
        ErrorName::Failed,
        format!("cannot serialize the response: {e}"),
    )
}

/// `<base>-<suffix>` as an AWS identifier: lowercase letters, digits and single hyphens, starting with a letter, at
/// most `max` long; only `base` is ever cut. RDS instance identifiers allow 63.
pub fn identifier(base: &str, suffix: &str, max: usize) -> String {
    let mut cleaned = String::new();
    for c in base.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            cleaned.push(c);
        } else if !cleaned.is_empty() && !cleaned.ends_with('-') {
            cleaned.push('-');
        }
    }
    if !cleaned.starts_with(|c: char| c.is_ascii_lowercase()) {
        cleaned.insert_str(0, "sb-");
    }
    cleaned.truncate(max.saturating_sub(suffix.len() + 1));
    let cleaned = cleaned.trim_end_matches('-');
    format!("{cleaned}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::identifier;

    #[test]
    fn identifiers_are_valid_aws_names_and_keep_the_suffix() {
        assert_eq!(
            identifier("stepback-Orders_DB", "0a1b2c3d", 63),
            "stepback-orders-db-0a1b2c3d"
        );
        assert_eq!(
            identifier("9lives--db", "0a1b2c3d", 63),
            "sb-9lives-db-0a1b2c3d"
        );
        let long = identifier(&"a".repeat(80), "0a1b2c3d", 63);
        assert_eq!(long.len(), 63);
        assert!(long.ends_with("-0a1b2c3d"));
        // A cut that lands on a hyphen leaves no double hyphen.
        let cut = identifier(&format!("{}-b", "a".repeat(53)), "0a1b2c3d", 63);
        assert!(!cut.contains("--") && cut.ends_with("a-0a1b2c3d"), "{cut}");
    }
}
