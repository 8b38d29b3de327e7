//! `asg.suspend`.

use crate::params::{ValueType as T, optional, output, param};
use crate::resources::{AUTO_SCALING_GROUP, AUTO_SCALING_PROCESSES};
use crate::spec::{ActionSpec, Changes, FUNCTION, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "asg.suspend",
    summary: "suspend an Auto Scaling group's processes, e.g. Launch and Terminate, during the rollback",
    params: &[
        param("group", T::String, "Auto Scaling group name"),
        optional(
            "processes",
            T::StringList,
            "processes to suspend, e.g. [\"Launch\", \"Terminate\"]; default: all",
        )
        .one_of(AUTO_SCALING_PROCESSES),
    ],
    exactly_one_of: &[],
    outputs: &[output(
        "suspended",
        T::StringList,
        "the processes this step suspended (not those suspended before), for asg.resume",
    )],
    runtime: Runtime::Invoke,
    // CreateOrUpdateTags: the step records what it suspended, so a retried attempt answers the same list.
    grants: &[
        Grant::unscoped(&["autoscaling:DescribeAutoScalingGroups"]),
        Grant::on(
            &[
                "autoscaling:CreateOrUpdateTags",
                "autoscaling:SuspendProcesses",
            ],
            &[AUTO_SCALING_GROUP],
        ),
    ],
    needs: &[Need::AutoScalingGroup { group: "group" }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 5,
    default_timeout_secs: MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    changes: &[Changes::of("Auto Scaling group", &["group"])],
    example: Some(
        r#"
group = "web-fleet"
processes = ["Launch", "Terminate"]
"#,
    ),
    user_facing: true,
};
