//! `wait`.

use crate::params::{ValueType as T, param};
use crate::spec::{ActionSpec, FUNCTION, RETRY_QUICK, Runtime};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "wait",
    summary: "wait for a fixed time",
    params: &[param("duration", T::Duration, "how long, e.g. \"2m\"")],
    exactly_one_of: &[],
    outputs: &[],
    runtime: Runtime::Native,
    grants: &[],
    changes: &[],
    needs: &[],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 0,
    default_timeout_secs: 0,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
duration = "30s"
"#,
    ),
    user_facing: true,
};
