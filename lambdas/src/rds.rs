//! What `rds.snapshot` and `rds.restore` share: a step names a DB instance or an Aurora DB cluster (the
//! catalog's `exactly_one_of`), and each is read, renamed and snapshotted through the calls of its own kind,
//! behind one shape, so that the idempotent snapshot and the swap's invariant are written once for both.

use aws_sdk_rds::types::Tag;
use catalog::ErrorName;
use catalog::contract::{Finding, Verdict};
use serde::{Deserialize, Serialize};

use crate::check::{self, Known};
use crate::{ActionError, Call, Clients};

/// Which kind of database a step names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A DB instance (`instance`): CreateDBSnapshot, ModifyDBInstance.
    #[default]
    Instance,
    /// An Aurora DB cluster (`cluster`): CreateDBClusterSnapshot, ModifyDBCluster.
    Cluster,
}

impl Kind {
    /// The kind and the identifier of a step's `instance` and `cluster`, exactly one of which `check` lets
    /// through.
    pub fn named<'p>(
        instance: &'p Option<String>,
        cluster: &'p Option<String>,
    ) -> Result<(Kind, &'p str), ActionError> {
        match (instance, cluster) {
            (Some(instance), None) => Ok((Kind::Instance, instance)),
            (None, Some(cluster)) => Ok((Kind::Cluster, cluster)),
            _ => Err(ActionError::invalid_input(
                "give exactly one of `instance` or `cluster`",
            )),
        }
    }

    /// The kind a check's params name, or the finding that says why it cannot tell.
    pub fn known(params: &Known) -> Result<(Kind, String), Finding> {
        let unknown = |u: check::Unknown| u.finding("RDS instance or cluster");
        match params.optional::<String>("cluster").map_err(unknown)? {
            Some(cluster) => Ok((Kind::Cluster, cluster)),
            None => Ok((
                Kind::Instance,
                params.required::<String>("instance").map_err(unknown)?,
            )),
        }
    }

    /// "instance" or "cluster", for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Instance => "instance",
            Kind::Cluster => "cluster",
        }
    }

    fn resource(self, id: &str) -> String {
        match self {
            Kind::Instance => format!("RDS instance `{id}`"),
            Kind::Cluster => format!("Aurora cluster `{id}`"),
        }
    }
}

/// A DB instance or cluster, as the actions read it.
#[derive(Clone, Debug)]
pub struct Database {
    pub status: String,
    pub tags: Vec<Tag>,
    /// An instance's endpoint address, a cluster's (writer) endpoint.
    pub endpoint: String,
    /// The KMS key its storage is encrypted under.
    pub key: Option<String>,
}

impl Database {
    pub fn available(&self) -> bool {
        self.status == "available"
    }

    /// Stopped, or on its way there: it takes no new connections.
    pub fn stopping(&self) -> bool {
        matches!(self.status.as_str(), "stopping" | "stopped")
    }

    /// Whether an attempt of this step made it: it carries the step's `stepback:execution` tag, which survives a
    /// rename.
    pub fn made_by<P>(&self, call: &Call<P>) -> bool {
        tagged_by(&self.tags, call)
    }
}

/// The instance or cluster with this id, or `None` when RDS does not know it.
pub async fn find(
    clients: &Clients,
    kind: Kind,
    id: &str,
) -> Result<Option<Database>, ActionError> {
    let rds = clients.aws(aws_sdk_rds::Client::new);
    let attempted = format!("describe {}", kind.resource(id));
    match kind {
        Kind::Instance => match rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .db_instances
                .unwrap_or_default()
                .into_iter()
                .find(|i| is(i.db_instance_identifier(), id))
                .map(|i| Database {
                    status: i.db_instance_status.unwrap_or_else(unknown),
                    endpoint: i.endpoint.and_then(|e| e.address).unwrap_or_default(),
                    tags: i.tag_list.unwrap_or_default(),
                    key: i.kms_key_id.filter(|_| i.storage_encrypted == Some(true)),
                })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ActionError::aws(attempted, e)),
        },
        Kind::Cluster => match rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .db_clusters
                .unwrap_or_default()
                .into_iter()
                .find(|c| is(c.db_cluster_identifier(), id))
                .map(|c| Database {
                    status: c.status.unwrap_or_else(unknown),
                    endpoint: c.endpoint.unwrap_or_default(),
                    tags: c.tag_list.unwrap_or_default(),
                    key: c.kms_key_id.filter(|_| c.storage_encrypted == Some(true)),
                })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_cluster_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ActionError::aws(attempted, e)),
        },
    }
}

/// Whether RDS answered with the resource asked for: every lookup by id compares the id it got back, since an
/// answer with another one (a filter that matched nothing, or everything) must never be taken for it. RDS
/// stores identifiers lowercase, so `Orders` is `orders`.
pub fn is(answered: Option<&str>, asked: &str) -> bool {
    answered.is_some_and(|answered| answered.eq_ignore_ascii_case(asked))
}

fn unknown() -> String {
    "unknown".to_owned()
}

/// ModifyDB{Instance,Cluster} with the new identifier, applied now.
pub async fn rename(
    clients: &Clients,
    kind: Kind,
    from: &str,
    to: &str,
) -> Result<(), ActionError> {
    let rds = clients.aws(aws_sdk_rds::Client::new);
    let attempted = format!("rename {} to `{to}`", kind.resource(from));
    let refused = match kind {
        Kind::Instance => rds
            .modify_db_instance()
            .db_instance_identifier(from)
            .new_db_instance_identifier(to)
            .apply_immediately(true)
            .send()
            .await
            .map(drop)
            .map_err(|e| ActionError::aws(&attempted, e)),
        Kind::Cluster => rds
            .modify_db_cluster()
            .db_cluster_identifier(from)
            .new_db_cluster_identifier(to)
            .apply_immediately(true)
            .send()
            .await
            .map(drop)
            .map_err(|e| ActionError::aws(&attempted, e)),
    };
    let Err(refused) = refused else {
        return Ok(());
    };
    // An answer lost on the way: the SDK's next attempt finds no `from` (not found), since the first one
    // renamed it.
    match (
        find(clients, kind, from).await?,
        find(clients, kind, to).await?,
    ) {
        (None, Some(_)) => Ok(()),
        _ => Err(refused),
    }
}

/// StopDB{Instance,Cluster}: the database keeps its data and takes no connections. An answer lost on the way
/// makes the SDK's next attempt refused (it is stopping already), so a refusal is checked against its status.
pub async fn stop(clients: &Clients, kind: Kind, id: &str) -> Result<(), ActionError> {
    let rds = clients.aws(aws_sdk_rds::Client::new);
    let attempted = format!("stop {}", kind.resource(id));
    let refused = match kind {
        Kind::Instance => rds
            .stop_db_instance()
            .db_instance_identifier(id)
            .send()
            .await
            .map(drop)
            .map_err(|e| ActionError::aws(&attempted, e)),
        Kind::Cluster => rds
            .stop_db_cluster()
            .db_cluster_identifier(id)
            .send()
            .await
            .map(drop)
            .map_err(|e| ActionError::aws(&attempted, e)),
    };
    let Err(refused) = refused else {
        return Ok(());
    };
    match find(clients, kind, id).await? {
        Some(found) if found.stopping() => Ok(()),
        _ => Err(refused),
    }
}

/// The instance or cluster exists and is `available`, as a snapshot and a rename need; and RDS can use the KMS key
/// it is encrypted under for this role.
pub async fn available(clients: &Clients, kind: Kind, id: &str) -> Vec<Finding> {
    let found = find(clients, kind, id).await;
    let mut findings = vec![availability(kind, id, &found)];
    if let Ok(Some(Database { key: Some(key), .. })) = &found {
        findings.push(check::kms_key(clients, key, "rds").await);
    }
    findings
}

fn availability(kind: Kind, id: &str, found: &Result<Option<Database>, ActionError>) -> Finding {
    let resource = kind.resource(id);
    let fix_id = format!("fix the {} identifier in the workflow", kind.noun());
    match found {
        Ok(Some(found)) if found.available() => check::ok(resource, "available"),
        Ok(Some(found)) => {
            let start = match kind {
                Kind::Instance => {
                    format!("aws rds start-db-instance --db-instance-identifier {id}")
                }
                Kind::Cluster => format!("aws rds start-db-cluster --db-cluster-identifier {id}"),
            };
            check::bad(
                Verdict::NotReady,
                resource,
                format!("{}, not available", found.status),
                format!("start it or wait until it is available (`{start}` for a stopped one)"),
            )
        }
        Ok(None) => check::bad(
            Verdict::Missing,
            resource,
            format!("RDS knows no such {} in this region", kind.noun()),
            fix_id,
        ),
        Err(error) => check::failed(resource, error, &fix_id),
    }
}

/// A DB snapshot or a DB cluster snapshot.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub status: String,
    pub tags: Vec<Tag>,
    /// The instance or cluster it was taken of.
    pub of: String,
    pub percent_progress: i32,
    /// The KMS key it is encrypted under, which a restore from it uses.
    pub key: Option<String>,
}

fn snapshot_resource(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Instance => format!("RDS snapshot `{id}`"),
        Kind::Cluster => format!("RDS cluster snapshot `{id}`"),
    }
}

/// The snapshot of this kind with this id, or `None` when RDS does not know it.
pub async fn find_snapshot(
    clients: &Clients,
    kind: Kind,
    id: &str,
) -> Result<Option<Snapshot>, ActionError> {
    let rds = clients.aws(aws_sdk_rds::Client::new);
    let attempted = format!("describe {}", snapshot_resource(kind, id));
    match kind {
        Kind::Instance => match rds
            .describe_db_snapshots()
            .db_snapshot_identifier(id)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .db_snapshots
                .unwrap_or_default()
                .into_iter()
                .find(|s| is(s.db_snapshot_identifier(), id))
                .map(|s| Snapshot {
                    status: s.status.unwrap_or_else(unknown),
                    tags: s.tag_list.unwrap_or_default(),
                    of: s.db_instance_identifier.unwrap_or_else(unknown),
                    percent_progress: s.percent_progress.unwrap_or(0),
                    key: s.kms_key_id.filter(|_| s.encrypted == Some(true)),
                })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_snapshot_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ActionError::aws(attempted, e)),
        },
        Kind::Cluster => match rds
            .describe_db_cluster_snapshots()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .db_cluster_snapshots
                .unwrap_or_default()
                .into_iter()
                .find(|s| is(s.db_cluster_snapshot_identifier(), id))
                .map(|s| Snapshot {
                    status: s.status.unwrap_or_else(unknown),
                    tags: s.tag_list.unwrap_or_default(),
                    of: s.db_cluster_identifier.unwrap_or_else(unknown),
                    percent_progress: s.percent_progress.unwrap_or(0),
                    key: s.kms_key_id.filter(|_| s.storage_encrypted == Some(true)),
                })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_cluster_snapshot_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ActionError::aws(attempted, e)),
        },
    }
}

/// CreateDB{,Cluster}Snapshot with the step's tags. A snapshot that already exists under the id is a
/// concurrent attempt of this step that won the race (the caller has looked for its own first): `Ok`.
pub async fn create_snapshot<P>(
    clients: &Clients,
    kind: Kind,
    id: &str,
    of: &str,
    call: &Call<P>,
) -> Result<(), ActionError> {
    let rds = clients.aws(aws_sdk_rds::Client::new);
    let tags = Some(tags(call));
    let attempted = format!("create snapshot `{id}` of {}", kind.resource(of));
    match kind {
        Kind::Instance => match rds
            .create_db_snapshot()
            .db_snapshot_identifier(id)
            .db_instance_identifier(of)
            .set_tags(tags)
            .send()
            .await
        {
            Err(e)
                if !e
                    .as_service_error()
                    .is_some_and(|e| e.is_db_snapshot_already_exists_fault()) =>
            {
                Err(ActionError::aws(attempted, e))
            }
            _ => Ok(()),
        },
        Kind::Cluster => match rds
            .create_db_cluster_snapshot()
            .db_cluster_snapshot_identifier(id)
            .db_cluster_identifier(of)
            .set_tags(tags)
            .send()
            .await
        {
            Err(e)
                if !e
                    .as_service_error()
                    .is_some_and(|e| e.is_db_cluster_snapshot_already_exists_fault()) =>
            {
                Err(ActionError::aws(attempted, e))
            }
            _ => Ok(()),
        },
    }
}

/// The snapshot is available, for a restore; and RDS can use the KMS key it is encrypted under for this role.
pub async fn snapshot_available(clients: &Clients, kind: Kind, id: &str) -> Vec<Finding> {
    let found = find_snapshot(clients, kind, id).await;
    let mut findings = vec![snapshot_availability(kind, id, &found)];
    if let Ok(Some(Snapshot { key: Some(key), .. })) = &found {
        findings.push(check::kms_key(clients, key, "rds").await);
    }
    findings
}

fn snapshot_availability(
    kind: Kind,
    id: &str,
    found: &Result<Option<Snapshot>, ActionError>,
) -> Finding {
    let resource = snapshot_resource(kind, id);
    let list = match kind {
        Kind::Instance => "aws rds describe-db-snapshots",
        Kind::Cluster => "aws rds describe-db-cluster-snapshots",
    };
    match found {
        Ok(Some(snapshot)) if snapshot.status == "available" => check::ok(resource, "available"),
        Ok(Some(snapshot)) => check::bad(
            Verdict::NotReady,
            resource,
            format!("{}, not available", snapshot.status),
            "wait until the snapshot is available, or name another",
        ),
        Ok(None) => check::bad(
            Verdict::Missing,
            resource,
            "RDS knows no such snapshot in this region",
            format!("name an existing snapshot (`{list}`)"),
        ),
        Err(error) => check::failed(resource, error, "name an existing snapshot"),
    }
}

/// A snapshot id the step names is free: `start` refuses one that someone else's snapshot holds.
pub async fn snapshot_id_free(clients: &Clients, kind: Kind, id: &str) -> Finding {
    let resource = match kind {
        Kind::Instance => format!("RDS snapshot id `{id}`"),
        Kind::Cluster => format!("RDS cluster snapshot id `{id}`"),
    };
    match find_snapshot(clients, kind, id).await {
        Ok(None) => check::ok(resource, "free"),
        Ok(Some(_)) => check::bad(
            Verdict::NotReady,
            resource,
            "a snapshot with this id exists; the step refuses to take another under it",
            "leave `snapshot_id` out, so the id comes from the execution, or name a free one",
        ),
        Err(error) => check::failed(resource, &error, ""),
    }
}

/// The step's tags as RDS takes them.
pub fn tags<P>(call: &Call<P>) -> Vec<Tag> {
    call.tags()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .into()
}

/// Whether an RDS resource carries this step's `stepback:execution` tag, i.e. an attempt of this step made it.
/// Tags survive renames.
pub fn tagged_by<P>(tags: &[Tag], call: &Call<P>) -> bool {
    let [(key, execution), _] = call.tags();
    tags.iter()
        .any(|t| t.key() == Some(key) && t.value() == Some(execution.as_str()))
}

/// An error for a resource that is missing, in the words of `attempted`.
pub fn not_found(attempted: &str, what: String) -> ActionError {
    ActionError::new(
        ErrorName::NotFound,
        format!("{attempted}: {what} not found"),
    )
}
