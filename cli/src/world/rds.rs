//! RDS: DB instances (production-like), Aurora clusters with their writer, and their snapshots.

use super::{KnownParams, Seeding, StateLine, World, counted, failed};
use crate::aws::AwsError;

/// A seeded Aurora cluster's engine.
const AURORA_ENGINE: &str = "aurora-postgresql";
const AURORA_ENGINE_VERSION: &str = "15.4";

/// `Need::DbInstance`: a production-like DB instance (tags, deletion protection, backups, Multi-AZ, log exports, IAM
/// authentication), encrypted under a customer-managed key, which preflight checks.
pub(super) async fn instance(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    instance: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let Some(id) = params.text(instance) else {
        return Ok(());
    };
    // Production-like, so that a rehearsed restore shows what it copies (`state`), and encrypted
    // under a customer-managed key, which preflight checks.
    let key = aws_sdk_kms::Client::new(config)
        .create_key()
        .description(format!("rehearsal: {id}"))
        .send()
        .await
        .map_err(|e| failed("kms:CreateKey", e))?
        .key_metadata
        .and_then(|k| k.arn);
    aws_sdk_rds::Client::new(config)
        .create_db_instance()
        .db_instance_identifier(&id)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("rehearsal")
        .master_user_password("rehearsal-only")
        .multi_az(true)
        .storage_encrypted(true)
        .set_kms_key_id(key)
        .deletion_protection(true)
        .backup_retention_period(7)
        .enable_cloudwatch_logs_exports("postgresql")
        .enable_iam_database_authentication(true)
        .copy_tags_to_snapshot(true)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("backup-plan")
                .value("daily")
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("rds:CreateDBInstance", e))?;
    world.created.push(format!("RDS instance {id}"));
    world.db_instances.insert(id);
    Ok(())
}

/// `Need::DbSnapshot`: a snapshot of the instance.
pub(super) async fn snapshot(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    snapshot: &str,
    instance: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let (Some(snapshot), Some(instance)) = (params.text(snapshot), params.text(instance)) else {
        return Ok(());
    };
    aws_sdk_rds::Client::new(config)
        .create_db_snapshot()
        .db_snapshot_identifier(&snapshot)
        .db_instance_identifier(&instance)
        .send()
        .await
        .map_err(|e| failed("rds:CreateDBSnapshot", e))?;
    world
        .created
        .push(format!("RDS snapshot {snapshot} of {instance}"));
    Ok(())
}

/// `Need::DbCluster`: an Aurora cluster and its writer.
pub(super) async fn cluster(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    cluster: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let Some(id) = params.text(cluster) else {
        return Ok(());
    };
    let rds = aws_sdk_rds::Client::new(config);
    rds.create_db_cluster()
        .db_cluster_identifier(&id)
        .engine(AURORA_ENGINE)
        .engine_version(AURORA_ENGINE_VERSION)
        .master_username("rehearsal")
        .master_user_password("rehearsal-only")
        .send()
        .await
        .map_err(|e| failed("rds:CreateDBCluster", e))?;
    let writer = format!("{id}-writer");
    rds.create_db_instance()
        .db_instance_identifier(&writer)
        .db_cluster_identifier(&id)
        .db_instance_class("db.r6g.large")
        .engine(AURORA_ENGINE)
        .send()
        .await
        .map_err(|e| failed("rds:CreateDBInstance", e))?;
    world
        .created
        .push(format!("Aurora cluster {id} with writer {writer}"));
    world.db_clusters.insert(id);
    Ok(())
}

/// `Need::DbClusterSnapshot`: a snapshot of the cluster.
pub(super) async fn cluster_snapshot(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    snapshot: &str,
    cluster: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let (Some(snapshot), Some(cluster)) = (params.text(snapshot), params.text(cluster)) else {
        return Ok(());
    };
    aws_sdk_rds::Client::new(config)
        .create_db_cluster_snapshot()
        .db_cluster_snapshot_identifier(&snapshot)
        .db_cluster_identifier(&cluster)
        .send()
        .await
        .map_err(|e| failed("rds:CreateDBClusterSnapshot", e))?;
    world
        .created
        .push(format!("RDS cluster snapshot {snapshot} of {cluster}"));
    Ok(())
}

/// Each DB instance (its status and the settings a restore must keep) and its snapshots, and each Aurora
/// cluster and its snapshots.
pub(super) async fn state(world: &World, config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let mut lines = Vec::new();
    let line = |resource: String, state: String| StateLine { resource, state };
    if !world.db_instances.is_empty() {
        let rds = aws_sdk_rds::Client::new(config);
        if let Ok(described) = rds.describe_db_instances().send().await {
            for instance in described.db_instances() {
                let id = instance.db_instance_identifier().unwrap_or_default();
                lines.push(line(format!("RDS instance {id}"), settings(instance)));
            }
        }
        for id in &world.db_instances {
            let snapshots = rds
                .describe_db_snapshots()
                .db_instance_identifier(id)
                .send()
                .await
                .map(|s| {
                    s.db_snapshots()
                        .iter()
                        // The emulator's automated backups are not the rollback's.
                        .filter(|s| s.snapshot_type() == Some("manual"))
                        .filter_map(|s| s.db_snapshot_identifier())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            lines.push(line(format!("RDS snapshots of {id}"), counted(&snapshots)));
        }
    }
    if !world.db_clusters.is_empty() {
        lines.extend(cluster_state(world, config).await);
    }
    lines
}

/// Each Aurora cluster, and the cluster snapshots of those the world made (a swapped-out cluster keeps its
/// snapshots under its new name, so they are listed by the snapshot's own cluster).
async fn cluster_state(world: &World, config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let rds = aws_sdk_rds::Client::new(config);
    let mut lines = Vec::new();
    if let Ok(described) = rds.describe_db_clusters().send().await {
        for cluster in described.db_clusters() {
            lines.push(StateLine {
                resource: format!(
                    "RDS cluster {}",
                    cluster.db_cluster_identifier().unwrap_or_default()
                ),
                state: cluster.status().unwrap_or("unknown").to_owned(),
            });
        }
    }
    let snapshots = rds
        .describe_db_cluster_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .map(|s| s.db_cluster_snapshots().to_vec())
        .unwrap_or_default();
    for id in &world.db_clusters {
        let of: Vec<&str> = snapshots
            .iter()
            .filter(|s| s.db_cluster_identifier() == Some(id.as_str()))
            .filter_map(|s| s.db_cluster_snapshot_identifier())
            .collect();
        lines.push(StateLine {
            resource: format!("RDS cluster snapshots of {id}"),
            state: counted(&of),
        });
    }
    lines
}

/// An instance's status and the settings a restore copies, so that a rehearsal shows the restored one kept them:
/// `available; Multi-AZ, deletion protection, 7 days of backups, IAM auth, logs postgresql, encrypted, tags
/// backup-plan=daily`.
fn settings(instance: &aws_sdk_rds::types::DbInstance) -> String {
    let mut kept = Vec::new();
    if instance.multi_az() == Some(true) {
        kept.push("Multi-AZ".to_owned());
    }
    if instance.deletion_protection() == Some(true) {
        kept.push("deletion protection".to_owned());
    }
    if let Some(days) = instance.backup_retention_period().filter(|d| *d > 0) {
        kept.push(format!("{days} days of backups"));
    }
    if instance.iam_database_authentication_enabled() == Some(true) {
        kept.push("IAM auth".to_owned());
    }
    let logs = instance.enabled_cloudwatch_logs_exports();
    if !logs.is_empty() {
        kept.push(format!("logs {}", logs.join(" ")));
    }
    if instance.storage_encrypted() == Some(true) {
        kept.push("encrypted".to_owned());
    }
    let tags: Vec<String> = instance
        .tag_list()
        .iter()
        .filter(|t| !t.key().is_some_and(|k| k.starts_with("stepback:")))
        .map(|t| {
            format!(
                "{}={}",
                t.key().unwrap_or_default(),
                t.value().unwrap_or_default()
            )
        })
        .collect();
    if !tags.is_empty() {
        kept.push(format!("tags {}", tags.join(" ")));
    }
    let status = instance.db_instance_status().unwrap_or("unknown");
    if kept.is_empty() {
        status.to_owned()
    } else {
        format!("{status}; {}", kept.join(", "))
    }
}
