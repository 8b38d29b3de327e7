//! `check.alarms`.

use crate::params::{ValueType as T, optional, output, param};
use crate::spec::{ActionSpec, FUNCTION, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "check.alarms",
    summary: "wait until CloudWatch alarms are in the expected state",
    params: &[
        param("alarms", T::StringList, "alarm names"),
        optional(
            "state",
            T::String,
            "OK, ALARM or INSUFFICIENT_DATA; default OK",
        )
        .one_of(&["OK", "ALARM", "INSUFFICIENT_DATA"]),
    ],
    exactly_one_of: &[],
    // DescribeAlarms takes at most 100 names of up to 255 characters.
    outputs: &[output("states", T::StringMap, "each alarm's last state").at_most(32 * 1024)],
    runtime: Runtime::Poll,
    grants: &[Grant::on(
        &["cloudwatch:DescribeAlarms"],
        &["arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarms}"],
    )],
    changes: &[],
    needs: &[Need::Alarms { alarms: "alarms" }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 5 * MINUTE,
    default_timeout_secs: 30 * MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
alarms = ["webapp-5xx-rate"]
"#,
    ),
    user_facing: true,
};
