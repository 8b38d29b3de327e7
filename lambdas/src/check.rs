//! `operation = check` (`stepback preflight`): each action looks, with its function's own role, at what its step
//! will touch, and says per resource whether it is ready. Checks run on [`Clients::read_only`], whose HTTP
//! client refuses every AWS operation that does not read (see [`crate::read_only`]).
//!
//! [`Clients::read_only`]: crate::Clients::read_only

use catalog::ErrorName;
use catalog::contract::{Finding, Verdict};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use aws_sdk_kms::types::KeyState;

use crate::{ActionError, Clients};

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

/// Whether AWS refused the call to the caller's policy.
fn denied(error: &ActionError) -> bool {
    DENIED
        .iter()
        .any(|code| error.message.contains(&format!("AWS answered {code} ")))
}

/// The KMS key that encrypts what a step touches (`key`: an ARN, id or alias, as RDS or SNS names it) can be used
/// by `service` for this function's role: it exists, it is enabled, and the role may see it. The role's grants
/// let only `service` use the key (`kms:ViaService`), so the function itself can only describe it; a key policy
/// that does not let the role in refuses the description as it refuses the use.
pub async fn kms_key(clients: &Clients, key: &str, service: &str) -> Finding {
    let resource = format!("KMS key `{key}`");
    let answer = clients
        .aws(aws_sdk_kms::Client::new)
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| ActionError::aws(format!("describe KMS key `{key}`"), e));
    let metadata = match answer {
        Ok(answer) => answer.key_metadata,
        Err(error) if denied(&error) => {
            return bad(
                Verdict::Denied,
                resource,
                format!("the function's role may not use the key: {}", error.message),
                format!(
                    "let the role use the key in the key policy: kms:DescribeKey, and {} through {service}, or \
                     the key policy's statement that lets the account's IAM policies decide",
                    match service {
                        "rds" => "kms:CreateGrant",
                        _ => "kms:Decrypt and kms:GenerateDataKey",
                    }
                ),
            );
        }
        Err(error) => return failed(resource, &error, "name a key that exists in this region"),
    };
    let Some(metadata) = metadata else {
        return bad(Verdict::Error, resource, "KMS described no key", "");
    };
    match metadata.key_state {
        Some(KeyState::Enabled) => ok(resource, "enabled"),
        Some(KeyState::Disabled) => bad(
            Verdict::NotReady,
            resource,
            format!("disabled: {service} cannot use it for this step"),
            format!("enable it (`aws kms enable-key --key-id {key}`)"),
        ),
        Some(KeyState::PendingDeletion) => bad(
            Verdict::NotReady,
            resource,
            format!(
                "pending deletion{}: {service} cannot use it, and what it encrypts is lost with it",
                metadata
                    .deletion_date
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            ),
            format!(
                "cancel the deletion and enable it (`aws kms cancel-key-deletion --key-id {key}`, then \
                 `aws kms enable-key --key-id {key}`)"
            ),
        ),
        state => bad(
            Verdict::NotReady,
            resource,
            format!(
                "{}, not enabled: {service} cannot use it",
                state.as_ref().map_or("unknown", KeyState::as_str)
            ),
            "bring the key to the Enabled state",
        ),
    }
}

/// A failed look at `resource`: missing, denied, not ready, or an error; `fix_missing` says what to do when it
/// does not exist.
pub fn failed(resource: impl Into<String>, error: &ActionError, fix_missing: &str) -> Finding {
    let (verdict, fix) = if denied(error) {
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
