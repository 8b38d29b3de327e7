//! `ssm.command`.

use crate::params::{Shell, ValueType as T, optional, output, param};
use crate::spec::{
    ActionSpec, Changes, Guard, GuardKind, HOUR, MINUTE, PAGING_FUNCTION, PolledStatus,
    RETRY_START, Runtime,
};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "ssm.command",
    summary: "run shell commands on EC2 instances with Run Command (AWS-RunShellScript)",
    params: &[
        optional("instance_ids", T::StringList, "instances to run on"),
        optional("tags", T::StringMap, "run on the instances with these tags"),
        param(
            "commands",
            T::StringList,
            "shell commands, run in order; values from `${...}` reach the shell as data",
        )
        .run_by(Shell::Script),
        optional(
            "working_directory",
            T::String,
            "directory the commands run in",
        ),
    ],
    exactly_one_of: &[&["instance_ids", "tags"]],
    outputs: &[
        output("command_id", T::String, "the Run Command id"),
        output(
            "output",
            T::String,
            "standard output of every instance, cut to 8 KB as JSON (the cut is said)",
        )
        .at_most(8 * 1024),
    ],
    runtime: Runtime::Poll,
    // ListCommands: the poll reads the command's status, and a retried `start` finds the command it sent.
    grants: &[
        Grant::on(
            &["ssm:SendCommand"],
            &[
                // AWS-owned documents have no account in their ARN; parliament wants one: any.
                "arn:{partition}:ssm:{region}:*:document/AWS-RunShellScript",
                "arn:{partition}:ec2:{region}:{account}:instance/{instance_ids}",
            ],
        ),
        // DescribeInstanceInformation: `stepback preflight`'s check that the instances are managed by SSM.
        Grant::unscoped(&[
            "ssm:DescribeInstanceInformation",
            "ssm:GetCommandInvocation",
            "ssm:ListCommandInvocations",
            "ssm:ListCommands",
        ]),
    ],
    changes: &[Changes::of("EC2 instance", &["instance_ids"])],
    needs: &[Need::Instances {
        instances: "instance_ids",
    }],
    default_retry: RETRY_START,
    default_estimate_secs: 5 * MINUTE,
    default_timeout_secs: HOUR,
    guards: &[Guard {
        action: "ec2.image",
        same: &[],
        kind: GuardKind::Backup,
        required: false,
    }],
    poll_interval: None,
    polled: &[PolledStatus {
        operation: "ListCommands",
        member: "Status",
        finished: "Success",
        in_progress: "InProgress",
    }],
    function: PAGING_FUNCTION,
    example: Some(
        r#"
instance_ids = ["i-0123456789abcdef0"]
commands = ["systemctl restart nginx"]
"#,
    ),
    user_facing: true,
};
