//! `ec2.image`.

use crate::params::{ValueType as T, optional, output, param};
use crate::spec::{ActionSpec, FUNCTION, HOUR, MINUTE, PolledStatus, RETRY_START, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "ec2.image",
    summary: "create an AMI of an instance without rebooting it",
    params: &[
        param("instance_id", T::String, "instance to image"),
        optional(
            "name",
            T::String,
            "image name; derived from the execution when absent",
        ),
    ],
    exactly_one_of: &[],
    outputs: &[output("image_id", T::String, "the AMI id")],
    runtime: Runtime::Poll,
    grants: &[
        Grant::on(
            &["ec2:CreateImage"],
            &[
                "arn:{partition}:ec2:{region}::image/*",
                "arn:{partition}:ec2:{region}:{account}:instance/{instance_id}",
                "arn:{partition}:ec2:{region}::snapshot/*",
            ],
        ),
        Grant::on(
            &["ec2:CreateTags"],
            &[
                "arn:{partition}:ec2:{region}::image/*",
                "arn:{partition}:ec2:{region}::snapshot/*",
            ],
        ),
        // DescribeInstances: `stepback preflight`'s check that the instance exists.
        Grant::unscoped(&["ec2:DescribeImages", "ec2:DescribeInstances"]),
    ],
    changes: &[],
    needs: &[Need::Instances {
        instances: "instance_id",
    }],
    default_retry: RETRY_START,
    default_estimate_secs: 15 * MINUTE,
    default_timeout_secs: 2 * HOUR,
    guards: &[],
    poll_interval: None,
    polled: &[PolledStatus {
        operation: "DescribeImages",
        member: "imageState",
        finished: "available",
        in_progress: "pending",
    }],
    function: FUNCTION,
    example: Some(
        r#"
instance_id = "i-0123456789abcdef0"
"#,
    ),
    user_facing: true,
};
