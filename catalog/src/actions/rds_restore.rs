//! `rds.restore`.

use crate::params::{NOTES_BYTES, RDS_ID_BYTES, ValueType as T, optional, output, param};
use crate::resources::{
    CLUSTER_SNAPSHOT_RESTORED, DB_CLUSTER, DB_INSTANCE, KMS_DESCRIBE, KMS_THROUGH_RDS,
    OPTION_GROUPS, PARAMETER_GROUPS, PARKED_CLUSTER, PARKED_INSTANCE, RESTORED_CLUSTER,
    RESTORED_INSTANCE, RESTORED_READERS, RESTORED_WRITER, SNAPSHOT_RESTORED, SUBNET_GROUPS,
};
use crate::spec::{
    ActionSpec, Changes, FUNCTION, Guard, GuardKind, HOUR, MINUTE, RETRY_START, Runtime,
};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "rds.restore",
    summary: "restore an RDS snapshot to a new instance, or an Aurora cluster snapshot to a new cluster and its \
              writer, optionally swapping it in by rename; never deletes",
    params: &[
        optional(
            "instance",
            T::String,
            "the instance being replaced; its settings are copied",
        )
        .naming(),
        optional(
            "cluster",
            T::String,
            "the Aurora DB cluster being replaced; its settings, its writer's and its readers' are copied",
        )
        .naming(),
        param(
            "snapshot",
            T::String,
            "snapshot identifier to restore (a cluster snapshot with `cluster`)",
        )
        .naming(),
        optional(
            "swap",
            T::Bool,
            "rename the original to <id>-pre-rollback-<suffix> and the restored one to <id>",
        ),
        optional(
            "new_instance",
            T::String,
            "identifier of the restored instance; derived from the execution when absent",
        )
        .naming(),
        optional(
            "new_cluster",
            T::String,
            "identifier of the restored cluster and of its writer instance; derived from the execution when \
             absent",
        )
        .naming(),
    ],
    exactly_one_of: &[&["instance", "cluster"]],
    outputs: &[
        output(
            "instance_id",
            T::String,
            "the identifier the application now uses; with `cluster`, the restored cluster's writer",
        ).at_most(RDS_ID_BYTES),
        output(
            "new_instance_id",
            T::String,
            "the instance restored from the snapshot; with `cluster`, the restored cluster's writer",
        ).at_most(RDS_ID_BYTES),
        output(
            "replaced_instance_id",
            T::String,
            "where the original instance is kept; with `cluster`, the original cluster's writer",
        ).at_most(RDS_ID_BYTES),
        output(
            "cluster_id",
            T::String,
            "the cluster identifier the application now uses; empty for an instance",
        ).at_most(RDS_ID_BYTES),
        output(
            "new_cluster_id",
            T::String,
            "the cluster restored from the snapshot; empty for an instance",
        ).at_most(RDS_ID_BYTES),
        output(
            "replaced_cluster_id",
            T::String,
            "where the original cluster is kept; empty for an instance",
        ).at_most(RDS_ID_BYTES),
        output(
            "endpoint",
            T::String,
            "the endpoint address of `instance_id`, or with `cluster` the cluster (writer) endpoint of \
             `cluster_id`",
        ).at_most(RDS_ID_BYTES),
        output("snapshot", T::String, "the snapshot restored").at_most(RDS_ID_BYTES),
        output(
            "notes",
            T::String,
            "what a person must know: where the parked original is and how to read it, the settings that \
             could not be copied and why, and how long the name takes to reach the restored database",
        ).at_most(NOTES_BYTES),
    ],
    runtime: Runtime::Poll,
    grants: &[
        Grant::on(
            &["rds:RestoreDBInstanceFromDBSnapshot"],
            &[
                RESTORED_INSTANCE,
                SNAPSHOT_RESTORED,
                OPTION_GROUPS,
                PARAMETER_GROUPS,
                SUBNET_GROUPS,
            ],
        )
        .given("instance"),
        Grant::on(&["rds:AddTagsToResource"], &[RESTORED_INSTANCE]).given("instance"),
        Grant::on(
            &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
            &[DB_INSTANCE, RESTORED_INSTANCE, PARKED_INSTANCE],
        )
        .given("instance"),
        Grant::on(&["rds:DescribeDBSnapshots"], &[SNAPSHOT_RESTORED]).given("instance"),
        // The parked original, once swapped out: it must take no writes.
        Grant::on(&["rds:StopDBInstance"], &[PARKED_INSTANCE]).given("instance"),
        Grant::on(
            &["rds:RestoreDBClusterFromSnapshot"],
            &[
                RESTORED_CLUSTER,
                CLUSTER_SNAPSHOT_RESTORED,
                "arn:{partition}:rds:{region}:{account}:cluster-pg:*",
                OPTION_GROUPS,
                SUBNET_GROUPS,
            ],
        )
        .given("cluster"),
        // The writer and the readers of the restored cluster.
        Grant::on(
            &["rds:CreateDBInstance"],
            &[
                RESTORED_WRITER,
                RESTORED_READERS,
                RESTORED_CLUSTER,
                OPTION_GROUPS,
                PARAMETER_GROUPS,
                SUBNET_GROUPS,
            ],
        )
        .given("cluster"),
        Grant::on(
            &["rds:AddTagsToResource"],
            &[RESTORED_CLUSTER, RESTORED_WRITER, RESTORED_READERS],
        )
        .given("cluster"),
        Grant::on(
            &["rds:DescribeDBClusters", "rds:ModifyDBCluster"],
            &[DB_CLUSTER, RESTORED_CLUSTER, PARKED_CLUSTER],
        )
        .given("cluster"),
        Grant::on(&["rds:StopDBCluster"], &[PARKED_CLUSTER]).given("cluster"),
        // The original writer's class and parameter group, and the new writer's state: the original
        // writer's name is known only from the cluster.
        Grant::on(
            &["rds:DescribeDBInstances"],
            &["arn:{partition}:rds:{region}:{account}:db:*"],
        )
        .given("cluster"),
        Grant::on(
            &["rds:DescribeDBClusterSnapshots"],
            &[CLUSTER_SNAPSHOT_RESTORED],
        )
        .given("cluster"),
        KMS_THROUGH_RDS,
        KMS_DESCRIBE,
    ],
    changes: &[
        Changes::of("DB instance", &["instance"]),
        Changes::of("DB cluster", &["cluster"]),
    ],
    needs: &[
        Need::DbInstance { instance: "instance" },
        Need::DbSnapshot {
            snapshot: "snapshot",
            instance: "instance",
        },
        Need::DbCluster { cluster: "cluster" },
        Need::DbClusterSnapshot {
            snapshot: "snapshot",
            cluster: "cluster",
        },
    ],
    default_retry: RETRY_START,
    default_estimate_secs: 25 * MINUTE,
    default_timeout_secs: 3 * HOUR,
    guards: &[
        Guard {
            action: "rds.snapshot",
            same: &[("instance", "instance"), ("cluster", "cluster")],
            kind: GuardKind::Backup,
            required: true,
        },
        Guard {
            action: "approval",
            same: &[],
            kind: GuardKind::Approval,
            required: true,
        },
    ],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
after = ["approval", "rds_snapshot"]
instance = "webapp-db"
snapshot = "webapp-db-known-good"
swap = true
timeout = "1h"
"#,
    ),
    user_facing: true,
};
