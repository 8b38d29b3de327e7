//! What every handler works with: its [`Call`] (typed params, the attempt key, tags), the answers it gives
//! ([`done`], [`running`]), and the identifiers it derives.

use catalog::ErrorName;
use catalog::contract::{self, Execution, Operation, Request, Response, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{ActionError, error};

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
    pub(crate) fn parse(request: Request) -> Result<Call<P>, ActionError> {
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
