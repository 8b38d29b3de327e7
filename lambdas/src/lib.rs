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
mod call;
pub mod check;
mod clients;
pub mod ec2;
pub mod error;
mod function;
pub mod kubernetes;
pub mod logging;
mod rds;
pub mod read_only;
pub mod shell;
pub mod tls;

pub(crate) use call::response;
pub use call::{Call, done, identifier, running};
pub use clients::Clients;
pub use error::ActionError;
pub use function::Function;

/// The environment variable that names the function's action.
pub const ACTION_ENV: &str = "STEPBACK_ACTION";
