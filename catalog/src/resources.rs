//! The resources that several actions name, as IAM ARN patterns (see [`crate::iam::Grant::resources`]).

use crate::Grant;

/// An Auto Scaling group by name; the group's id in its ARN is unknown before it exists.
pub(crate) const AUTO_SCALING_GROUP: &str = "arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group}";
/// The processes SuspendProcesses knows (Auto Scaling API reference, `ScalingProcesses`).
pub const AUTO_SCALING_PROCESSES: &[&str] = &[
    "AZRebalance",
    "AddToLoadBalancer",
    "AlarmNotification",
    "HealthCheck",
    "InstanceRefresh",
    "Launch",
    "ReplaceUnhealthy",
    "ScheduledActions",
    "Terminate",
];
pub(crate) const TOPIC: &str = "arn:{partition}:sns:{region}:{account}:{topic}";
/// An instance by its identifier as RDS stores it (lowercase: [`names::rds_id`]).
pub(crate) const DB_INSTANCE: &str = "arn:{partition}:rds:{region}:{account}:db:{instance@rds}";
/// `rds.snapshot` names its snapshot `stepback-<instance>-<key>` unless the step names it.
pub(crate) const SNAPSHOT_TAKEN: &str =
    "arn:{partition}:rds:{region}:{account}:snapshot:{snapshot_id|stepback-*}";
pub(crate) const SNAPSHOT_RESTORED: &str =
    "arn:{partition}:rds:{region}:{account}:snapshot:{snapshot}";
/// `rds.restore` restores to `<instance>-rb-<key>` and parks the original as `<instance>-pre-rollback-<key>`,
/// both derived by [`names::Derived`], which renders these patterns too.
pub(crate) const RESTORED_INSTANCE: &str =
    "arn:{partition}:rds:{region}:{account}:db:{new_instance@rds|{instance@restored}}";
pub(crate) const PARKED_INSTANCE: &str =
    "arn:{partition}:rds:{region}:{account}:db:{instance@parked}";
/// An Aurora DB cluster by name, and its cluster snapshots, named as the instance's are.
pub(crate) const DB_CLUSTER: &str = "arn:{partition}:rds:{region}:{account}:cluster:{cluster@rds}";
pub(crate) const CLUSTER_SNAPSHOT_TAKEN: &str =
    "arn:{partition}:rds:{region}:{account}:cluster-snapshot:{snapshot_id|stepback-*}";
pub(crate) const CLUSTER_SNAPSHOT_RESTORED: &str =
    "arn:{partition}:rds:{region}:{account}:cluster-snapshot:{snapshot}";
/// A restored cluster, `<cluster>-rb-<key>`; its writer instance carries the same identifier (RDS keeps
/// instances' and clusters' identifiers apart).
pub(crate) const RESTORED_CLUSTER: &str =
    "arn:{partition}:rds:{region}:{account}:cluster:{new_cluster@rds|{cluster@restored}}";
pub(crate) const RESTORED_WRITER: &str =
    "arn:{partition}:rds:{region}:{account}:db:{new_cluster@rds|{cluster@restored}}";
/// The restored cluster's readers, one for each of the original's, `<cluster>-rb-reader-<n>-<key>`.
pub(crate) const RESTORED_READERS: &str =
    "arn:{partition}:rds:{region}:{account}:db:{cluster@reader}";
pub(crate) const PARKED_CLUSTER: &str =
    "arn:{partition}:rds:{region}:{account}:cluster:{cluster@parked}";
/// The groups of the settings a restore copies, whose names only the original knows.
pub(crate) const OPTION_GROUPS: &str = "arn:{partition}:rds:{region}:{account}:og:*";
pub(crate) const PARAMETER_GROUPS: &str = "arn:{partition}:rds:{region}:{account}:pg:*";
pub(crate) const SUBNET_GROUPS: &str = "arn:{partition}:rds:{region}:{account}:subgrp:*";
/// Any KMS key of the account and region: which key encrypts a database, a snapshot or a topic only AWS knows.
pub(crate) const KMS_KEYS: &str = "arn:{partition}:kms:{region}:{account}:key/*";
/// A database or snapshot encrypted under a customer-managed key: RDS creates a grant on the key for the caller
/// who snapshots or restores it ("a user must have permissions to call the following operations on the customer
/// managed key: kms:CreateGrant, kms:DescribeKey", RDS user guide, "AWS KMS key management"), and only RDS may.
pub(crate) const KMS_THROUGH_RDS: Grant =
    Grant::via("rds", &["kms:CreateGrant"], &[KMS_KEYS]).for_aws_resource();
/// A topic encrypted under a customer-managed key: SNS encrypts each message with the publisher's permissions
/// (SNS developer guide, "Key management"), and only SNS may. `GenerateDataKey` is the call SNS makes; the guide's
/// `GenerateDataKey*` would be a wildcard action, which no role of ours has.
pub(crate) const KMS_THROUGH_SNS: Grant =
    Grant::via("sns", &["kms:Decrypt", "kms:GenerateDataKey"], &[KMS_KEYS]);
/// The key's state and whether the role may use it at all, which `stepback preflight` reads itself (RDS reads it
/// too, for the role): the key's metadata, no use of the key.
pub(crate) const KMS_DESCRIBE: Grant = Grant::on(&["kms:DescribeKey"], &[KMS_KEYS]);
pub(crate) const SERVICE: &str =
    "arn:{partition}:ecs:{region}:{account}:service/{cluster}/{service}";
pub(crate) const TASK_DEFINITION: &str =
    "arn:{partition}:ecs:{region}:{account}:task-definition/{task_definition@family}:*";
/// Any service of the account and region: which one registers into a target group is what is looked for.
pub(crate) const ANY_SERVICE: &str = "arn:{partition}:ecs:{region}:{account}:service/*";
pub(crate) const LISTENER: &str =
    "arn:{partition}:elasticloadbalancing:{region}:{account}:listener/{listener}";
/// The rule `alb.halt` added; known only at run time when it comes from the halt step (then any rule: its ARN
/// names the listener by ids that a pattern cannot take from the listener's ARN).
pub(crate) const LISTENER_RULE: &str =
    "arn:{partition}:elasticloadbalancing:{region}:{account}:listener-rule/{rule}";
pub(crate) const TARGET_GROUP: &str =
    "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{target_group}";
/// The task and execution roles of the task definitions, which only AWS knows: the template narrows them with
/// its `TaskRoleArns` parameter.
pub(crate) const TASK_ROLES: &[&str] = &["{task_roles}"];
