//! `alb.register`.

use crate::params::{ValueType as T, output, param};
use crate::resources::{ANY_SERVICE, TARGET_GROUP};
use crate::spec::{ActionSpec, Changes, FUNCTION, MINUTE, PolledStatus, RETRY_START, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "alb.register",
    summary: "put targets back into a target group and wait until they are healthy; fails at once when a target no longer exists",
    params: &[
        param("target_group", T::String, "target group ARN"),
        param("targets", T::Targets, "targets to register"),
    ],
    exactly_one_of: &[],
    // A target group holds at most 1,000 targets, each an id and a port (`"i-0123456789abcdef0:8080",`).
    outputs: &[output("targets", T::Targets, "the targets registered").at_most(32 * 1024)],
    runtime: Runtime::Poll,
    grants: &[
        Grant::on(&["elasticloadbalancing:RegisterTargets"], &[TARGET_GROUP]),
        Grant::unscoped(&["elasticloadbalancing:DescribeTargetHealth"]),
        // Whether each target still exists (an instance, or the interface holding an address).
        Grant::unscoped(&["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"]),
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
    default_estimate_secs: 2 * MINUTE,
    default_timeout_secs: 30 * MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[PolledStatus {
        operation: "DescribeTargetHealth",
        member: "State",
        finished: "healthy",
        in_progress: "initial",
    }],
    function: FUNCTION,
    example: Some(
        r#"
after = ["alb_deregister"]
target_group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
targets = ["i-0123456789abcdef0"]
"#,
    ),
    user_facing: true,
};
