//! The restore, done by `start`: the snapshot restored with every setting of the original that the call takes
//! (an instance; or an Aurora cluster, its writer, then one reader for each of the original's).

use aws_sdk_rds::types::{
    DbCluster, DbInstance, DbParameterGroupStatus, ServerlessV2ScalingConfiguration, Tag,
    VpcSecurityGroupMembership,
};
use catalog::ErrorName;
use catalog::names::Derived;

use super::{Member, Params, State};
use crate::rds::{self, Database, Kind};
use crate::{ActionError, Call, Clients};

/// What `start` restores from: the snapshot, to `restored`, with the settings of `original`.
pub(super) struct Restoring<'a> {
    pub(super) clients: &'a Clients,
    pub(super) call: &'a Call<Params>,
    pub(super) original: &'a str,
    pub(super) snapshot: &'a str,
    pub(super) restored: &'a str,
    pub(super) attempted: &'a str,
    /// False when an earlier attempt of this step restored it already.
    pub(super) restore: bool,
}

impl Restoring<'_> {
    /// RestoreDBInstanceFromDBSnapshot with every setting of the original instance that the call takes; the
    /// settings it cannot take are returned, each with why.
    pub(super) async fn instance(&self) -> Result<Vec<String>, ActionError> {
        let original = self.describe_instance(self.original).await?;
        let (tags, mut uncopied) = copied_tags(original.tag_list(), self.call);
        uncopied.extend(not_restorable(&original));
        if !self.restore {
            return Ok(uncopied);
        }
        self.snapshot_exists(Kind::Instance).await?;
        let storage = original.storage_type();
        // gp3 takes IOPS and throughput only from 400 GiB; below, both are the baseline (ARCHITECTURE.md,
        // "RDS as AWS runs it").
        let provisioned = matches!(storage, Some("io1" | "io2"))
            || (storage == Some("gp3")
                && original.allocated_storage().unwrap_or_default() >= GP3_PROVISIONED_GIB);
        let restored = self
            .clients
            .aws(aws_sdk_rds::Client::new)
            .restore_db_instance_from_db_snapshot()
            .db_instance_identifier(self.restored)
            .db_snapshot_identifier(self.snapshot)
            .set_db_instance_class(original.db_instance_class.clone())
            .set_db_subnet_group_name(
                original
                    .db_subnet_group()
                    .and_then(|g| g.db_subnet_group_name.clone()),
            )
            .set_vpc_security_group_ids(security_groups(original.vpc_security_groups()))
            .set_db_parameter_group_name(parameter_group(original.db_parameter_groups.clone()))
            .set_option_group_name(option_group(&original))
            .set_multi_az(original.multi_az)
            .set_port(original.endpoint().and_then(|e| e.port))
            .set_publicly_accessible(original.publicly_accessible)
            .set_auto_minor_version_upgrade(original.auto_minor_version_upgrade)
            .set_allocated_storage(original.allocated_storage)
            .set_storage_type(original.storage_type.clone())
            .set_iops(original.iops.filter(|_| provisioned))
            .set_storage_throughput(
                original
                    .storage_throughput
                    .filter(|_| provisioned && storage == Some("gp3")),
            )
            .set_deletion_protection(original.deletion_protection)
            .set_enable_iam_database_authentication(original.iam_database_authentication_enabled)
            .set_enable_cloudwatch_logs_exports(
                Some(original.enabled_cloudwatch_logs_exports().to_vec()).filter(|l| !l.is_empty()),
            )
            .set_ca_certificate_identifier(original.ca_certificate_identifier.clone())
            .set_backup_retention_period(original.backup_retention_period)
            .set_preferred_backup_window(original.preferred_backup_window.clone())
            .set_copy_tags_to_snapshot(original.copy_tags_to_snapshot)
            .set_tags(Some(tags))
            .send()
            .await;
        match restored {
            Err(e) if !self.restored_by_an_earlier_call(Kind::Instance).await? => {
                Err(ActionError::aws(self.attempted, e))
            }
            _ => Ok(uncopied),
        }
    }

    /// After a failed restore call: whether an answer was lost on the way, and the SDK's next attempt refused
    /// (already exists), since the first one restored it under this step's tags.
    async fn restored_by_an_earlier_call(&self, kind: Kind) -> Result<bool, ActionError> {
        Ok(rds::find(self.clients, kind, self.restored)
            .await?
            .is_some_and(|found| found.made_by(self.call)))
    }

    /// RestoreDBClusterFromSnapshot with the original cluster's engine, version, subnet group, security groups
    /// and cluster parameter group; and the writer and readers to create, from the original's instances' class,
    /// parameter group and promotion tier.
    pub(super) async fn cluster(
        &self,
        key: &str,
    ) -> Result<(Member, Vec<Member>, Vec<String>), ActionError> {
        let rds = self.clients.aws(aws_sdk_rds::Client::new);
        let cluster = rds
            .describe_db_clusters()
            .db_cluster_identifier(self.original)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_cluster_not_found_fault())
                {
                    rds::not_found(
                        self.attempted,
                        format!("Aurora cluster `{}`", self.original),
                    )
                } else {
                    ActionError::aws(self.attempted, e)
                }
            })?
            .db_clusters
            .unwrap_or_default()
            .into_iter()
            .find(|c| rds::is(c.db_cluster_identifier(), self.original))
            .ok_or_else(|| {
                rds::not_found(
                    self.attempted,
                    format!("Aurora cluster `{}`", self.original),
                )
            })?;
        let replaced = cluster
            .db_cluster_members()
            .iter()
            .find(|m| m.is_cluster_writer() == Some(true))
            .and_then(|m| m.db_instance_identifier())
            .ok_or_else(|| {
                ActionError::new(
                    ErrorName::Precondition,
                    format!(
                        "{}: Aurora cluster `{}` has no writer instance to copy",
                        self.attempted, self.original
                    ),
                )
            })?
            .to_owned();
        let original_writer = self.describe_instance(&replaced).await?;
        let engine = cluster.engine.clone().unwrap_or_default();
        let (tags, mut uncopied) = copied_tags(cluster.tag_list(), self.call);
        uncopied.extend(not_restorable(&original_writer));
        // Numbered in the order of their ids, so that a retried start names each reader as the first did.
        let mut originals: Vec<&str> = cluster
            .db_cluster_members()
            .iter()
            .filter(|m| m.is_cluster_writer() != Some(true))
            .filter_map(|m| m.db_instance_identifier())
            .collect();
        originals.sort_unstable();
        let mut readers = Vec::new();
        for (n, reader) in originals.into_iter().enumerate() {
            let original_reader = self.describe_instance(reader).await?;
            readers.push(Member::like(
                Derived::reader(self.original, n + 1, key),
                &original_reader,
                &cluster,
            ));
        }
        if self.restore {
            self.snapshot_exists(Kind::Cluster).await?;
            // Serverless v2 capacity must be set before a `db.serverless` writer is added (Aurora user guide,
            // "Using Aurora Serverless v2").
            let scaling = cluster.serverless_v2_scaling_configuration().map(|s| {
                ServerlessV2ScalingConfiguration::builder()
                    .set_min_capacity(s.min_capacity)
                    .set_max_capacity(s.max_capacity)
                    .set_seconds_until_auto_pause(s.seconds_until_auto_pause)
                    .build()
            });
            let restored = rds
                .restore_db_cluster_from_snapshot()
                .db_cluster_identifier(self.restored)
                .snapshot_identifier(self.snapshot)
                .engine(&engine)
                .set_engine_version(cluster.engine_version.clone())
                .set_db_subnet_group_name(cluster.db_subnet_group.clone())
                .set_vpc_security_group_ids(security_groups(cluster.vpc_security_groups()))
                .set_db_cluster_parameter_group_name(cluster.db_cluster_parameter_group.clone())
                .set_port(cluster.port)
                .set_deletion_protection(cluster.deletion_protection)
                .set_enable_iam_database_authentication(cluster.iam_database_authentication_enabled)
                .set_enable_cloudwatch_logs_exports(
                    Some(cluster.enabled_cloudwatch_logs_exports().to_vec())
                        .filter(|l| !l.is_empty()),
                )
                .set_backup_retention_period(cluster.backup_retention_period)
                .set_preferred_backup_window(cluster.preferred_backup_window.clone())
                .set_copy_tags_to_snapshot(cluster.copy_tags_to_snapshot)
                .set_storage_type(cluster.storage_type.clone())
                .set_serverless_v2_scaling_configuration(scaling)
                .set_tags(Some(tags))
                .send()
                .await;
            if let Err(e) = restored
                && !self.restored_by_an_earlier_call(Kind::Cluster).await?
            {
                return Err(ActionError::aws(self.attempted, e));
            }
        }
        let writer = Member::like(self.restored.to_owned(), &original_writer, &cluster);
        Ok((writer, readers, uncopied))
    }

    async fn describe_instance(&self, id: &str) -> Result<DbInstance, ActionError> {
        let missing = || rds::not_found(self.attempted, format!("RDS instance `{id}`"));
        self.clients
            .aws(aws_sdk_rds::Client::new)
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_instance_not_found_fault())
                {
                    missing()
                } else {
                    ActionError::aws(self.attempted, e)
                }
            })?
            .db_instances
            .unwrap_or_default()
            .into_iter()
            .find(|i| rds::is(i.db_instance_identifier(), id))
            .ok_or_else(missing)
    }

    async fn snapshot_exists(&self, kind: Kind) -> Result<(), ActionError> {
        match rds::find_snapshot(self.clients, kind, self.snapshot).await? {
            Some(_) => Ok(()),
            None => Err(rds::not_found(
                self.attempted,
                format!("RDS snapshot `{}`", self.snapshot),
            )),
        }
    }
}

/// gp3 volumes from this size on take IOPS and throughput of their own.
const GP3_PROVISIONED_GIB: i32 = 400;

/// RDS allows 50 tags on a resource (RDS user guide, "Tagging Amazon RDS resources").
const TAGS_MAX: usize = 50;

/// The original's tags, which AWS Backup plans and cost allocation select by, then the step's own; a tag of an
/// earlier rollback (`stepback:*`) is not carried over. With the step's, more than RDS allows are cut, and
/// said.
fn copied_tags<P>(original: &[Tag], call: &Call<P>) -> (Vec<Tag>, Vec<String>) {
    let ours = rds::tags(call);
    let theirs: Vec<Tag> = original
        .iter()
        .filter(|t| !t.key().is_some_and(|k| k.starts_with("stepback:")))
        .cloned()
        .collect();
    let room = TAGS_MAX - ours.len();
    let mut uncopied = Vec::new();
    if theirs.len() > room {
        let cut: Vec<&str> = theirs[room..].iter().filter_map(Tag::key).collect();
        lambda_runtime::tracing::warn!(
            "not copied: the tags {} (RDS allows {TAGS_MAX} tags, and the restore adds its own 2)",
            cut.join(", ")
        );
        uncopied.push(format!("{} tags", cut.len()));
    }
    let tags = theirs.into_iter().take(room).chain(ours).collect();
    (tags, uncopied)
}

/// What an instance has that RestoreDBInstanceFromDBSnapshot does not take (RDS API reference), each by a short
/// name for `notes`; the function's log has each with its value and the command that sets it.
fn not_restorable(original: &DbInstance) -> Vec<String> {
    let mut uncopied = Vec::new();
    let mut not_copied = |name: String, how: String| {
        lambda_runtime::tracing::warn!("not copied: {name}: {how}");
        uncopied.push(name);
    };
    if original.performance_insights_enabled == Some(true) {
        not_copied(
            "Performance Insights".to_owned(),
            format!(
                "the restore call takes no such setting; `aws rds modify-db-instance \
                 --enable-performance-insights --performance-insights-retention-period {}`",
                original.performance_insights_retention_period.unwrap_or(7)
            ),
        );
    }
    if let Some(interval) = original.monitoring_interval.filter(|i| *i > 0) {
        not_copied(
            "enhanced monitoring".to_owned(),
            format!(
                "every {interval}s; the restore call takes none, and setting it passes the monitoring role `{}`, \
                 which this step may not pass; `aws rds modify-db-instance --monitoring-interval {interval} \
                 --monitoring-role-arn ...`",
                original.monitoring_role_arn().unwrap_or("?")
            ),
        );
    }
    if let Some(max) = original.max_allocated_storage {
        not_copied(
            "storage autoscaling".to_owned(),
            format!(
                "up to {max} GiB; the restore call takes no maximum; `aws rds modify-db-instance \
                 --max-allocated-storage {max}`"
            ),
        );
    }
    let replicas = original.read_replica_db_instance_identifiers();
    if !replicas.is_empty() {
        not_copied(
            format!(
                "{} read replica{}",
                replicas.len(),
                if replicas.len() == 1 { "" } else { "s" }
            ),
            format!(
                "{}: they follow the original; a replica of the restored instance is a new one",
                replicas.join(", ")
            ),
        );
    }
    uncopied
}

/// A named option group; an engine's default one (`default:postgres-16`) is what the restore picks anyway.
fn option_group(original: &DbInstance) -> Option<String> {
    original
        .option_group_memberships()
        .iter()
        .filter_map(|m| m.option_group_name.clone())
        .find(|name| !name.starts_with("default:"))
}

fn security_groups(groups: &[VpcSecurityGroupMembership]) -> Option<Vec<String>> {
    Some(
        groups
            .iter()
            .filter_map(|g| g.vpc_security_group_id.clone())
            .collect(),
    )
}

fn parameter_group(groups: Option<Vec<DbParameterGroupStatus>>) -> Option<String> {
    groups.and_then(|groups| groups.into_iter().next()?.db_parameter_group_name)
}

/// `None` when every reader of the restored cluster is available; else what the step waits for, having created
/// the readers missing. Called once the writer is available, so that no reader becomes the writer.
pub(super) async fn readers_ready(
    state: &State,
    clients: &Clients,
    call: &Call<Params>,
) -> Result<Option<String>, ActionError> {
    let mut waiting = Vec::new();
    for reader in &state.readers {
        match rds::find(clients, Kind::Instance, &reader.id).await? {
            Some(other) if !other.made_by(call) => return Err(reader.taken()),
            Some(found) if found.available() => {}
            Some(found) => waiting.push(format!("`{}` {}", reader.id, found.status)),
            None => {
                reader.create(clients, call, &state.restored).await?;
                waiting.push(format!("`{}` creating", reader.id));
            }
        }
    }
    Ok((!waiting.is_empty()).then(|| format!("creating readers: {}", waiting.join(", "))))
}

impl Member {
    /// The instance `id` of the restored cluster, with the settings of `original`, an instance of `cluster`.
    fn like(id: String, original: &DbInstance, cluster: &DbCluster) -> Member {
        Member {
            id,
            replaced: original.db_instance_identifier.clone().unwrap_or_default(),
            class: original.db_instance_class.clone().unwrap_or_default(),
            engine: cluster.engine.clone().unwrap_or_default(),
            parameter_group: parameter_group(original.db_parameter_groups.clone()),
            promotion_tier: original.promotion_tier,
            ca_certificate: original.ca_certificate_identifier.clone(),
            auto_minor_version_upgrade: original.auto_minor_version_upgrade,
            publicly_accessible: original.publicly_accessible,
        }
    }

    fn taken(&self) -> ActionError {
        ActionError::new(
            ErrorName::Precondition,
            format!(
                "create instance `{}`: an instance with that id exists and was not created by this step",
                self.id
            ),
        )
    }

    /// `None` when the writer is available; else what the step waits for, having created the writer once the
    /// restored cluster (`restored`, under its own id) is available. The writer is created before any rename,
    /// so a missing writer means the restored cluster still has its own id.
    pub(super) async fn ready(
        &self,
        clients: &Clients,
        call: &Call<Params>,
        restored: Option<&Database>,
    ) -> Result<Option<String>, ActionError> {
        let found = rds::find(clients, Kind::Instance, &self.id).await?;
        match (found, restored) {
            (Some(other), _) if !other.made_by(call) => Err(self.taken()),
            (Some(writer), _) if writer.available() => Ok(None),
            (Some(writer), _) => Ok(Some(format!(
                "creating writer `{}`: {}",
                self.id, writer.status
            ))),
            (None, Some(cluster)) if cluster.available() => {
                self.create(clients, call, &self.id).await?;
                Ok(Some(format!("creating writer `{}`", self.id)))
            }
            (None, Some(cluster)) => Ok(Some(format!(
                "restoring cluster `{}`: {}",
                self.id, cluster.status
            ))),
            (None, None) => Ok(Some(format!("waiting for cluster `{}` to appear", self.id))),
        }
    }

    /// CreateDBInstance in the restored cluster. An instance under the id that an attempt of this step raced
    /// to create is this one.
    async fn create(
        &self,
        clients: &Clients,
        call: &Call<Params>,
        cluster: &str,
    ) -> Result<(), ActionError> {
        let created = clients
            .aws(aws_sdk_rds::Client::new)
            .create_db_instance()
            .db_instance_identifier(&self.id)
            .db_cluster_identifier(cluster)
            .db_instance_class(&self.class)
            .engine(&self.engine)
            .set_db_parameter_group_name(self.parameter_group.clone())
            .set_promotion_tier(self.promotion_tier)
            .set_ca_certificate_identifier(self.ca_certificate.clone())
            .set_auto_minor_version_upgrade(self.auto_minor_version_upgrade)
            .set_publicly_accessible(self.publicly_accessible)
            .set_tags(Some(rds::tags(call)))
            .send()
            .await;
        match created {
            Err(e)
                if !e
                    .as_service_error()
                    .is_some_and(|e| e.is_db_instance_already_exists_fault()) =>
            {
                Err(ActionError::aws(
                    format!(
                        "create instance `{}` of Aurora cluster `{cluster}`",
                        self.id
                    ),
                    e,
                ))
            }
            _ => Ok(()),
        }
    }
}
