//! One module per action (or per pair that shares its code: `alb`, `alb_halt`, `asg`), and nothing else: `build.rs`
//! declares each file here as a module and puts its `HANDLERS` in the dispatch table. Each has a `Params` type
//! that mirrors the catalog's params with `deny_unknown_fields`, an `Output` type that mirrors the catalog's
//! outputs, and a handler type that names its catalog entry ([`Action::NAME`]), listed in its module's `HANDLERS`. A test checks that the handlers
//! and the catalog's Lambda actions are the same set.

use std::future::Future;
use std::pin::Pin;

use catalog::ErrorName;
use catalog::contract::{CheckReport, Execution, Finding, Operation, Request, Response, Status};
use serde::de::DeserializeOwned;

use crate::check::Known;
use crate::{ActionError, Call, Clients};

// `mod <file>;` for each action's module, and `HANDLERS`, its modules' handlers: written by `build.rs` from this
// directory.
include!(concat!(env!("OUT_DIR"), "/actions.rs"));

/// The handler of a catalog action, or `None` for an action that runs as a native state.
pub(crate) fn handler(action: &str) -> Option<&'static Handler> {
    every_handler().find(|h| h.action == action)
}

fn every_handler() -> impl Iterator<Item = &'static Handler> {
    HANDLERS.iter().flat_map(|module| module.iter())
}

/// What every handler type declares: the catalog entry it serves, the params it takes, and its check.
pub(crate) trait Action: 'static {
    /// The catalog entry's name.
    const NAME: &'static str;
    type Params: DeserializeOwned + 'static;

    /// `operation = check`: whether what the step will touch exists and is ready, one finding per resource.
    /// `clients` only read (see [`crate::check`]).
    async fn check(clients: &Clients, params: &Known, execution: &Execution) -> Vec<Finding>;
}

/// An action that finishes in one invocation: the catalog's `Invoke` and `TaskToken` runtimes.
pub(crate) trait Invoke: Action {
    async fn invoke(clients: &Clients, call: Call<Self::Params>) -> Result<Response, ActionError>;
}

/// An action with a long operation, run as `start` and then `poll` from the state machine's Wait loop: the
/// catalog's `Poll` runtime.
pub(crate) trait LongAction: Action {
    type State: DeserializeOwned;

    /// Begins the operation, or finds the one an earlier attempt of this step began.
    async fn start(
        clients: &Clients,
        call: &Call<Self::Params>,
    ) -> Result<Self::State, ActionError>;

    /// Looks at the operation: done, running (with the state for the next poll), or why it cannot finish.
    async fn observe(
        clients: &Clients,
        call: &Call<Self::Params>,
        state: Self::State,
    ) -> Result<Response, ActionError>;
}

type Answer<'a> = Pin<Box<dyn Future<Output = Result<Response, ActionError>> + 'a>>;

/// One entry of [`HANDLERS`]: a handler type, erased to its action's name and a function that checks the
/// params against the handler's own type and runs it.
pub(crate) struct Handler {
    action: &'static str,
    /// Whether the handler is a [`LongAction`], i.e. answers `poll`.
    pub(crate) polls: bool,
    pub(crate) run: for<'a> fn(&'a Clients, Request) -> Answer<'a>,
    /// What `run` reads from the request before its first AWS call, without acting.
    pub(crate) parse: fn(Request) -> Result<(), ActionError>,
    pub(crate) check: for<'a> fn(&'a Clients, Request) -> Answer<'a>,
}

impl Handler {
    pub(crate) const fn invoke<A: Invoke>() -> Handler {
        Handler {
            action: A::NAME,
            polls: false,
            run: run_invoke::<A>,
            parse: |request| Call::<A::Params>::parse(request).map(drop),
            check: run_check::<A>,
        }
    }

    pub(crate) const fn long<A: LongAction>() -> Handler {
        Handler {
            action: A::NAME,
            polls: true,
            run: run_long::<A>,
            parse: |request| prepare_long::<A>(request).map(drop),
            check: run_check::<A>,
        }
    }
}

/// Params that do not fit the handler's type are `Stepback.InvalidInput`.
fn run_invoke<A: Invoke>(clients: &Clients, request: Request) -> Answer<'_> {
    Box::pin(async move { A::invoke(clients, Call::parse(request)?).await })
}

/// The findings, as a `done` answer's output.
fn run_check<A: Action>(clients: &Clients, request: Request) -> Answer<'_> {
    Box::pin(async move {
        let findings = A::check(clients, &Known::new(request.params), &request.execution).await;
        crate::done(&CheckReport { findings })
    })
}

/// The typed params and, on `poll`, the state that `start` or the previous `poll` returned.
type Prepared<A> = (
    Call<<A as Action>::Params>,
    Option<<A as LongAction>::State>,
);

fn prepare_long<A: LongAction>(request: Request) -> Result<Prepared<A>, ActionError> {
    let call = Call::<A::Params>::parse(request)?;
    let polled = match call.operation {
        Operation::Start => None,
        Operation::Poll => Some(call.state()?),
        Operation::Check => {
            return Err(ActionError::invalid_input("a check runs on its own path"));
        }
    };
    Ok((call, polled))
}

/// Runs `start` or `poll`. A `start` raises its errors so that `Retry` and `Catch` see them; a `poll` raises
/// only transient ones and answers the rest as `status: failed` (the contract's rule), since the operation,
/// not the call, has failed.
fn run_long<A: LongAction>(clients: &Clients, request: Request) -> Answer<'_> {
    Box::pin(async move {
        let (call, polled) = prepare_long::<A>(request)?;
        let state = match polled {
            Some(state) => state,
            None => A::start(clients, &call).await?,
        };
        match A::observe(clients, &call, state).await {
            Err(error)
                if call.operation == Operation::Poll && error.name != ErrorName::Transient =>
            {
                Ok(Response {
                    error: Some(error.name.as_str().to_owned()),
                    cause: Some(error.message),
                    ..crate::response(Status::Failed)
                })
            }
            answer => answer,
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use catalog::Runtime;

    use super::every_handler;
    use crate::Function;

    /// A new action is a catalog entry plus a handler: neither may exist without the other, and each handler
    /// fits its entry's runtime (see [`Function::new`]).
    #[test]
    fn the_handlers_are_the_catalogs_lambda_actions() {
        let lambda_actions: Vec<_> = catalog::ACTIONS
            .iter()
            .filter(|a| a.runtime != Runtime::Native)
            .collect();
        let catalog: BTreeSet<_> = lambda_actions.iter().map(|a| a.name).collect();
        let handlers: BTreeSet<_> = every_handler().map(|h| h.action).collect();
        assert_eq!(
            handlers.len(),
            every_handler().count(),
            "an action has two handlers"
        );
        assert_eq!(handlers, catalog);
        for action in lambda_actions {
            if let Err(refused) = Function::new(action) {
                panic!("{refused}");
            }
        }
    }
}
