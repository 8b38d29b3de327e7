//! The dispatcher: one Lambda function, its catalog action and that action's handler, and the contract's
//! checks on every payload before the handler runs.

use catalog::contract::{self, Operation, Request, Response, Status};
use catalog::{ActionSpec, Constraint, Runtime};
use serde_json::Value;

use crate::actions;
use crate::{ACTION_ENV, ActionError, Clients};

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
