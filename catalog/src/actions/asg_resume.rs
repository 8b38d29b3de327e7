//! `asg.resume`.

use crate::params::{ValueType as T, output, param};
use crate::resources::{AUTO_SCALING_GROUP, AUTO_SCALING_PROCESSES};
use crate::spec::{ActionSpec, Changes, FUNCTION, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "asg.resume",
    summary: "resume the Auto Scaling processes that asg.suspend suspended",
    params: &[
        param("group", T::String, "Auto Scaling group name"),
        param(
            "processes",
            T::StringList,
            "processes to resume, normally `${steps.<id>.suspended}`; an empty list resumes none",
        )
        .one_of(AUTO_SCALING_PROCESSES),
    ],
    exactly_one_of: &[],
    outputs: &[output("resumed", T::StringList, "the processes resumed")],
    runtime: Runtime::Invoke,
    grants: &[
        Grant::unscoped(&["autoscaling:DescribeAutoScalingGroups"]),
        Grant::on(&["autoscaling:ResumeProcesses"], &[AUTO_SCALING_GROUP]),
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
after = ["asg_suspend"]
group = "web-fleet"
processes = "${steps.asg_suspend.suspended}"
"#,
    ),
    user_facing: true,
};
