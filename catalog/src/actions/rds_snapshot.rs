//! `rds.snapshot`.

use crate::params::{RDS_ID_BYTES, ValueType as T, optional, output};
use crate::resources::{
    CLUSTER_SNAPSHOT_TAKEN, DB_CLUSTER, DB_INSTANCE, KMS_DESCRIBE, KMS_THROUGH_RDS, SNAPSHOT_TAKEN,
};
use crate::spec::{ActionSpec, FUNCTION, HOUR, MINUTE, PolledStatus, RETRY_START, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "rds.snapshot",
    summary: "take a manual snapshot of an RDS instance or an Aurora DB cluster",
    params: &[
        optional("instance", T::String, "DB instance identifier").naming(),
        optional(
            "cluster",
            T::String,
            "Aurora DB cluster identifier: a cluster snapshot",
        )
        .naming(),
        optional(
            "snapshot_id",
            T::String,
            "snapshot identifier; derived from the execution and step when absent",
        )
        .naming(),
    ],
    exactly_one_of: &[&["instance", "cluster"]],
    outputs: &[
        output("snapshot_id", T::String, "the snapshot's identifier").at_most(RDS_ID_BYTES),
        output(
            "instance",
            T::String,
            "the instance snapshotted; empty for a cluster",
        )
        .at_most(RDS_ID_BYTES),
        output(
            "cluster",
            T::String,
            "the cluster snapshotted; empty for an instance",
        )
        .at_most(RDS_ID_BYTES),
    ],
    runtime: Runtime::Poll,
    grants: &[
        Grant::on(&["rds:CreateDBSnapshot"], &[DB_INSTANCE, SNAPSHOT_TAKEN]).given("instance"),
        Grant::on(&["rds:AddTagsToResource"], &[SNAPSHOT_TAKEN]).given("instance"),
        Grant::on(&["rds:DescribeDBSnapshots"], &[SNAPSHOT_TAKEN]).given("instance"),
        // `stepback preflight`'s check that the instance is available.
        Grant::on(&["rds:DescribeDBInstances"], &[DB_INSTANCE]).given("instance"),
        Grant::on(
            &["rds:CreateDBClusterSnapshot"],
            &[DB_CLUSTER, CLUSTER_SNAPSHOT_TAKEN],
        )
        .given("cluster"),
        Grant::on(&["rds:AddTagsToResource"], &[CLUSTER_SNAPSHOT_TAKEN]).given("cluster"),
        Grant::on(
            &["rds:DescribeDBClusterSnapshots"],
            &[CLUSTER_SNAPSHOT_TAKEN],
        )
        .given("cluster"),
        // `stepback preflight`'s check that the cluster is available.
        Grant::on(&["rds:DescribeDBClusters"], &[DB_CLUSTER]).given("cluster"),
        KMS_THROUGH_RDS,
        KMS_DESCRIBE,
    ],
    changes: &[],
    needs: &[
        Need::DbInstance {
            instance: "instance",
        },
        Need::DbCluster { cluster: "cluster" },
    ],
    default_retry: RETRY_START,
    default_estimate_secs: 10 * MINUTE,
    default_timeout_secs: 2 * HOUR,
    guards: &[],
    poll_interval: None,
    polled: &[
        PolledStatus {
            operation: "DescribeDBSnapshots",
            member: "Status",
            finished: "available",
            in_progress: "creating",
        },
        PolledStatus {
            operation: "DescribeDBClusterSnapshots",
            member: "Status",
            finished: "available",
            in_progress: "creating",
        },
    ],
    function: FUNCTION,
    example: Some(
        r#"
instance = "webapp-db"
"#,
    ),
    user_facing: true,
};
