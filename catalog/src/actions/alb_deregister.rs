//! `alb.deregister`.

use crate::params::{ValueType as T, optional, output, param};
use crate::resources::{ANY_SERVICE, TARGET_GROUP};
use crate::spec::{ActionSpec, Changes, HOUR, MINUTE, PAGING_FUNCTION, RETRY_START, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "alb.deregister",
    summary: "take targets that a person registered (hosts) out of a target group and wait until they have drained; a group an ECS service or Auto Scaling group manages is halted with alb.halt",
    params: &[
        param("target_group", T::String, "target group ARN"),
        optional(
            "targets",
            T::Targets,
            "targets to drain; default: all registered",
        ),
    ],
    exactly_one_of: &[],
    // A target group holds at most 1,000 targets, each an id and a port (`"i-0123456789abcdef0:8080",`).
    outputs: &[output(
        "targets",
        T::Targets,
        "the targets drained, for alb.register",
    )
    .at_most(32 * 1024)],
    runtime: Runtime::Poll,
    grants: &[
        Grant::on(&["elasticloadbalancing:DeregisterTargets"], &[TARGET_GROUP]),
        Grant::unscoped(&["elasticloadbalancing:DescribeTargetHealth"]),
        // `stepback preflight`: whether an ECS service or an Auto Scaling group registers into the group.
        Grant::unscoped(&[
            "ecs:ListClusters",
            "ecs:ListServices",
            "autoscaling:DescribeAutoScalingGroups",
        ]),
        Grant::on(&["ecs:DescribeServices"], &[ANY_SERVICE]),
    ],
    changes: &[Changes::of("target group", &["target_group"])],
    needs: &[Need::TargetGroup {
        target_group: "target_group",
        targets: "targets",
    }],
    default_retry: RETRY_START,
    default_estimate_secs: 5 * MINUTE,
    default_timeout_secs: HOUR,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: PAGING_FUNCTION,
    example: Some(
        r#"
target_group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
"#,
    ),
    user_facing: true,
};
