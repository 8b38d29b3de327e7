//! `check.logs`.

use crate::params::{ValueType as T, optional, output, param};
use crate::spec::{ActionSpec, LOG_SEARCH_FUNCTION, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "check.logs",
    summary: "count the CloudWatch Logs events that match a pattern over a recent window; fail above a threshold",
    params: &[
        param("log_groups", T::StringList, "log group names"),
        param(
            "pattern",
            T::String,
            "CloudWatch Logs filter pattern, e.g. \"ERROR\" or \"?ERROR ?FATAL\"",
        ),
        optional(
            "window",
            T::Duration,
            "how far back from now to look; default 15m",
        ),
        optional(
            "threshold",
            T::Number,
            "the most matching events that still pass; default 0",
        )
        .within(0.0, 1_000_000.0),
    ],
    exactly_one_of: &[],
    outputs: &[
        output("count", T::Number, "the matching events"),
        output(
            "samples",
            T::StringList,
            "the first 5 matching lines, each cut to 200 characters",
        )
        .at_most(8 * 1024),
    ],
    runtime: Runtime::Invoke,
    // The log group's ARN with the trailing `:*`, the form IAM matches for all but the tagging actions.
    grants: &[Grant::on(
        &["logs:FilterLogEvents"],
        &["arn:{partition}:logs:{region}:{account}:log-group:{log_groups}:*"],
    )],
    needs: &[Need::LogGroups {
        log_groups: "log_groups",
    }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 30,
    default_timeout_secs: 5 * MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: LOG_SEARCH_FUNCTION,
    changes: &[],
    example: Some(
        r#"
log_groups = ["/webapp/nginx", "/webapp/app"]
pattern = "?ERROR ?FATAL"
window = "10m"
"#,
    ),
    user_facing: true,
};
