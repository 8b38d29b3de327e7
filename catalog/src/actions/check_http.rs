//! `check.http`.

use crate::Need;
use crate::params::{ValueType as T, optional, output, param};
use crate::spec::{ActionSpec, FUNCTION, MINUTE, RETRY_QUICK, Runtime};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "check.http",
    summary: "GET a URL until it answers as expected the given number of times in a row",
    params: &[
        param("url", T::String, "http or https URL"),
        optional("expect_status", T::Number, "expected status; default 200").within(100.0, 599.0),
        optional(
            "expect_body",
            T::String,
            "a substring the body must contain",
        ),
        optional(
            "consecutive",
            T::Number,
            "successes in a row needed; default 1",
        )
        .within(1.0, 100.0),
        optional("interval", T::Duration, "time between checks; default 10s"),
        optional(
            "request_timeout",
            T::Duration,
            "timeout of one request; default 5s",
        ),
    ],
    exactly_one_of: &[],
    outputs: &[
        output("status", T::Number, "the last HTTP status"),
        output("latency_ms", T::Number, "the last request's latency"),
    ],
    runtime: Runtime::Poll,
    grants: &[],
    changes: &[],
    needs: &[Need::Url {
        url: "url",
        status: "expect_status",
    }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: MINUTE,
    default_timeout_secs: 15 * MINUTE,
    guards: &[],
    poll_interval: Some(("interval", 10)),
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
url = "https://webapp.example.com/health"
"#,
    ),
    user_facing: true,
};
