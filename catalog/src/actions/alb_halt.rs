//! `alb.halt`.

use crate::params::{ValueType as T, optional, output, param};
use crate::resources::LISTENER;
use crate::spec::{ActionSpec, Changes, MINUTE, PAGING_FUNCTION, RETRY_QUICK, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "alb.halt",
    summary: "halt a load balancer's traffic: a listener rule, first of all, answers every request with a fixed maintenance response",
    params: &[
        param(
            "listener",
            T::String,
            "listener ARN of the application load balancer",
        ),
        optional("status", T::Number, "the status answered; default 503").within(200.0, 599.0),
        optional(
            "message",
            T::String,
            "the body answered, plain text; default \"Down for maintenance; back shortly.\"",
        ),
    ],
    exactly_one_of: &[],
    outputs: &[output("rule", T::String, "the rule's ARN, for alb.resume").at_most(258)],
    runtime: Runtime::Invoke,
    grants: &[
        Grant::on(&["elasticloadbalancing:CreateRule"], &[LISTENER]),
        // A retried step finds its rule; `stepback preflight`, that the listener exists and priority 1 is free.
        Grant::unscoped(&["elasticloadbalancing:DescribeRules"]),
    ],
    changes: &[Changes::of("listener", &["listener"])],
    needs: &[Need::Listener {
        listener: "listener",
    }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 5,
    default_timeout_secs: MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: PAGING_FUNCTION,
    example: Some(
        r#"
listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
"#,
    ),
    user_facing: true,
};
