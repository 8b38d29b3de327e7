//! `ecs.deploy`.

use crate::params::{ValueType as T, optional, output, param};
use crate::resources::{SERVICE, TASK_ROLES};
use crate::spec::{
    ActionSpec, Changes, HOUR, MINUTE, PAGING_FUNCTION, PolledStatus, RETRY_START, Runtime,
};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "ecs.deploy",
    summary: "point an ECS service at an earlier image tag or task definition and wait until it is stable",
    params: &[
        param("cluster", T::String, "cluster name or ARN"),
        param("service", T::String, "service name"),
        optional(
            "container",
            T::String,
            "container whose image changes; needed with image_tag",
        ),
        optional(
            "image_tag",
            T::String,
            "tag to deploy; `previous` = the ACTIVE revision before the running one",
        ),
        optional(
            "task_definition",
            T::String,
            "family:revision or ARN to deploy",
        ),
    ],
    exactly_one_of: &[&["image_tag", "task_definition"]],
    outputs: &[
        output("image_tag", T::String, "the image tag actually deployed"),
        output(
            "task_definition_before",
            T::String,
            "task definition ARN before the deploy",
        ),
        output(
            "task_definition_after",
            T::String,
            "task definition ARN after the deploy",
        ),
    ],
    runtime: Runtime::Poll,
    grants: &[
        Grant::on(&["ecs:DescribeServices", "ecs:UpdateService"], &[SERVICE]),
        // The family is the running task definition's, which only the service knows.
        Grant::on(
            &["ecs:RegisterTaskDefinition"],
            &["arn:{partition}:ecs:{region}:{account}:task-definition/*"],
        ),
        Grant::unscoped(&["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"]),
        // The tasks that stopped, when a deployment reports failed tasks: why they could not start.
        Grant::on(
            &["ecs:ListTasks"],
            &["arn:{partition}:ecs:{region}:{account}:container-instance/{cluster}/*"],
        ),
        Grant::on(
            &["ecs:DescribeTasks"],
            &["arn:{partition}:ecs:{region}:{account}:task/{cluster}/*"],
        ),
        // The images to deploy must exist; a task definition may name any account's or region's ECR.
        Grant::on(
            &["ecr:DescribeImages"],
            &["arn:{partition}:ecr:*:*:repository/*"],
        ),
        // An image not yet in ECR may be in a pull-through cache, which fetches it on its first pull.
        Grant::unscoped(&["ecr:DescribePullThroughCacheRules"]),
        Grant::pass_role(TASK_ROLES, "ecs-tasks.amazonaws.com"),
    ],
    changes: &[Changes::of("ECS service", &["cluster", "service"])],
    needs: &[Need::EcsService {
        cluster: "cluster",
        service: "service",
        container: "container",
    }],
    default_retry: RETRY_START,
    default_estimate_secs: 10 * MINUTE,
    default_timeout_secs: HOUR,
    guards: &[],
    poll_interval: None,
    polled: &[PolledStatus {
        operation: "DescribeServices",
        member: "rolloutState",
        finished: "COMPLETED",
        in_progress: "IN_PROGRESS",
    }],
    function: PAGING_FUNCTION,
    example: Some(
        r#"
after = ["ecs_run_task"]
cluster = "prod"
service = "webapp"
container = "web"
image_tag = "v41"
"#,
    ),
    user_facing: true,
};
