//! `ecs.run_task`.

use crate::params::{Shell, ValueType as T, optional, output, param};
use crate::resources::{TASK_DEFINITION, TASK_ROLES};
use crate::spec::{
    ActionSpec, FUNCTION, Guard, GuardKind, HOUR, MINUTE, PolledStatus, RETRY_START, Runtime,
};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "ecs.run_task",
    summary: "run a one-off ECS task, e.g. a migration, and wait for it to stop",
    params: &[
        param("cluster", T::String, "cluster name or ARN"),
        param(
            "task_definition",
            T::String,
            "family, family:revision or ARN",
        ),
        optional(
            "container",
            T::String,
            "container whose command is overridden",
        ),
        optional(
            "command",
            T::StringList,
            "command override, an argv; with `sh -c`, the script's values stay data",
        )
        .run_by(Shell::Argv),
        optional(
            "service",
            T::String,
            "service whose network (subnets, security groups, public IP) and capacity provider strategy or launch type the task takes",
        ),
        optional(
            "subnets",
            T::StringList,
            "awsvpc subnets; default: the service's",
        ),
        optional(
            "security_groups",
            T::StringList,
            "awsvpc security groups; default: the service's",
        ),
        optional(
            "launch_type",
            T::String,
            "FARGATE or EC2; default: the service's capacity provider strategy or launch type, else FARGATE for a Fargate-only task definition, else the cluster's default",
        )
        .one_of(&["FARGATE", "EC2"]),
    ],
    exactly_one_of: &[],
    outputs: &[
        output("task_arn", T::String, "the task run"),
        output("exit_code", T::Number, "the container's exit code"),
        output("stopped_reason", T::String, "ECS's stop reason"),
    ],
    runtime: Runtime::Poll,
    // ListTasks: a retried `start` finds the task it started (by `startedBy`) instead of running another.
    grants: &[
        Grant::on(&["ecs:RunTask"], &[TASK_DEFINITION]),
        Grant::on(
            &["ecs:DescribeTasks"],
            &["arn:{partition}:ecs:{region}:{account}:task/{cluster}/*"],
        ),
        Grant::on(
            &["ecs:ListTasks"],
            &["arn:{partition}:ecs:{region}:{account}:container-instance/{cluster}/*"],
        ),
        // Only to reuse the network configuration of a service the step names.
        Grant::on(
            &["ecs:DescribeServices"],
            &["arn:{partition}:ecs:{region}:{account}:service/{cluster}/{service?}"],
        ),
        Grant::pass_role(TASK_ROLES, "ecs-tasks.amazonaws.com"),
        // `stepback preflight`'s check that the task definition resolves.
        Grant::unscoped(&["ecs:DescribeTaskDefinition"]),
    ],
    changes: &[],
    needs: &[
        Need::Network {
            subnets: "subnets",
            security_groups: "security_groups",
        },
        Need::EcsTask {
            cluster: "cluster",
            task_definition: "task_definition",
            container: "container",
        },
    ],
    default_retry: RETRY_START,
    default_estimate_secs: 5 * MINUTE,
    default_timeout_secs: HOUR,
    guards: &[Guard {
        action: "rds.snapshot",
        same: &[],
        kind: GuardKind::Backup,
        required: false,
    }],
    poll_interval: None,
    polled: &[
        PolledStatus {
            operation: "DescribeTasks",
            member: "lastStatus",
            finished: "STOPPED",
            in_progress: "RUNNING",
        },
    ],
    function: FUNCTION,
    example: Some(
        r#"
cluster = "prod"
task_definition = "webapp-migrate"
service = "webapp"
command = ["./migrate", "down"]
"#,
    ),
    user_facing: true,
};
