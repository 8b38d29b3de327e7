//! `alb.resume`.

use crate::params::{ValueType as T, output, param};
use crate::resources::LISTENER_RULE;
use crate::spec::{ActionSpec, Changes, FUNCTION, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "alb.resume",
    summary: "resume a load balancer's traffic: delete the rule that alb.halt added",
    params: &[
        param(
            "listener",
            T::String,
            "listener ARN of the application load balancer",
        ),
        param("rule", T::String, "the rule, normally `${steps.<id>.rule}`"),
    ],
    exactly_one_of: &[],
    outputs: &[output("rule", T::String, "the rule deleted").at_most(258)],
    runtime: Runtime::Invoke,
    grants: &[
        Grant::on(&["elasticloadbalancing:DeleteRule"], &[LISTENER_RULE]),
        Grant::unscoped(&["elasticloadbalancing:DescribeRules"]),
    ],
    changes: &[Changes::of("listener rule", &["rule"])],
    needs: &[Need::Listener {
        listener: "listener",
    }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 5,
    default_timeout_secs: MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
after = ["alb_halt"]
listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
rule = "${steps.alb_halt.rule}"
"#,
    ),
    user_facing: true,
};
