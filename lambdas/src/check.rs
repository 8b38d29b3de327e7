//! `operation = check` (`stepback preflight`): each action looks, with its function's own role, at what its step
//! will touch, and says per resource whether it is ready. Checks run on [`Clients::read_only`], whose HTTP
//! client refuses every AWS operation that does not read (see [`crate::read_only`]).
//!
//! [`Clients::read_only`]: crate::Clients::read_only

use catalog::ErrorName;
use catalog::contract::{Finding, Verdict};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ActionError;

/// The step's params as a check gets them: a param not known before the run is `null`.
pub struct Known {
    params: Map<String, Value>,
}

/// Why a check cannot look at a resource.
pub enum Unknown {
    /// The param's value comes at run time.
    NotYet(String),
    /// The param is absent or of the wrong type: a payload that `stepback check` would have refused.
    Invalid(String),
}

impl Known {
    pub fn new(params: Map<String, Value>) -> Known {
        Known { params }
    }

    pub fn required<T: DeserializeOwned>(&self, name: &str) -> Result<T, Unknown> {
        self.optional(name)?
            .ok_or_else(|| Unknown::Invalid(format!("param `{name}` is missing")))
    }

    /// `None` when the step does not give the param.
    pub fn optional<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Unknown> {
        match self.params.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(Unknown::NotYet(name.to_owned())),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|e| Unknown::Invalid(format!("param `{name}`: {e}"))),
        }
    }
}

impl Unknown {
    /// The finding about `resource`, which this param names.
    pub fn finding(self, resource: impl Into<String>) -> Finding {
        match self {
            Unknown::NotYet(param) => Finding {
                resource: resource.into(),
                verdict: Verdict::Unknowable,
                detail: format!("`{param}` is known only when the rollback runs"),
                fix: String::new(),
                param: Some(param),
            },
            Unknown::Invalid(detail) => bad(
                Verdict::Error,
                resource,
                detail,
                "run `stepback check` on the workflow",
            ),
        }
    }
}

pub fn ok(resource: impl Into<String>, detail: impl Into<String>) -> Finding {
    Finding {
        resource: resource.into(),
        verdict: Verdict::Ok,
        detail: detail.into(),
        fix: String::new(),
        param: None,
    }
}

pub fn bad(
    verdict: Verdict,
    resource: impl Into<String>,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        resource: resource.into(),
        verdict,
        detail: detail.into(),
        fix: fix.into(),
        param: None,
    }
}

/// AWS's codes for a call the caller's policy does not allow.
const DENIED: [&str; 4] = [
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "UnauthorizedOperation",
];

/// A failed look at `resource`: missing, denied, not ready, or an error; `fix_missing` says what to do when it
/// does not exist.
pub fn failed(resource: impl Into<String>, error: &ActionError, fix_missing: &str) -> Finding {
    let answered = |code: &str| error.message.contains(&format!("AWS answered {code} "));
    let (verdict, fix) = if DENIED.iter().any(|code| answered(code)) {
        (
            Verdict::Denied,
            "the function's role may not look: deploy the stack again (`stepback deploy`) so its role has the \
             read grants the catalog lists"
                .to_owned(),
        )
    } else {
        match error.name {
            ErrorName::NotFound => (Verdict::Missing, fix_missing.to_owned()),
            ErrorName::Precondition => (
                Verdict::NotReady,
                "bring it to the state the step needs, or fix the workflow".to_owned(),
            ),
            _ => (
                Verdict::Error,
                "run `stepback preflight` again; if it persists, read the function's logs"
                    .to_owned(),
            ),
        }
    };
    bad(verdict, resource, error.message.clone(), fix)
}
