//! `rds.restore`: RestoreDBInstanceFromDBSnapshot to a new identifier with the original's settings, or, for an
//! Aurora `cluster`, RestoreDBClusterFromSnapshot to a new cluster with the original's settings and then
//! CreateDBInstance for its writer with the original writer's class and parameter group (RDS creates a
//! restored cluster's instances only once it is available), and once the writer is available (the first instance
//! of a cluster is its writer), one reader for each of the original's, with its class, parameter group and
//! promotion tier; then poll until every one is available. With `swap`, rename
//! the original to `<id>-pre-rollback-<key>` and the restored one to `<id>`, each once it is available, so the
//! endpoint the application uses does not change. A cluster's instances keep their names: the cluster endpoint
//! follows the cluster's.
//!
//! The invariant: when the step ends, done or failed, an available instance (cluster) carries the original
//! name. A rename RDS refuses (one still modifying) is tried again on later polls; when the swap cannot
//! finish, the parked original is renamed back before the step fails, and the cause says where each one is.
//! The one end without one under the name is a failed undo, and its cause says so first.
//!
//! Never deletes. Each poll looks at where the instances (clusters) are now rather than trusting a remembered
//! phase, so a retried poll never renames twice; the state remembers only refusals and the decision to give
//! up. The restored one is told apart by its `stepback:execution` tag, which survives a rename (moto gives
//! every instance the same `DbiResourceId`, so that cannot be used).

use aws_sdk_rds::types::{
    DbCluster, DbInstance, DbParameterGroupStatus, ServerlessV2ScalingConfiguration, Tag,
    VpcSecurityGroupMembership,
};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::rds::{self, Database, Kind};
use crate::actions::{Action, LongAction};
use crate::check::{self, Known};
use catalog::names::{self, Derived};

use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub instance: Option<String>,
    pub cluster: Option<String>,
    pub snapshot: String,
    pub swap: Option<bool>,
    pub new_instance: Option<String>,
    pub new_cluster: Option<String>,
}

/// The catalog's outputs: an instance's fill the `*instance_id`s and leave the `*cluster_id`s empty; a
/// cluster's fill both, the instances being the writers.
#[derive(Debug, Serialize)]
pub struct Output {
    pub instance_id: String,
    pub new_instance_id: String,
    pub replaced_instance_id: String,
    pub cluster_id: String,
    pub new_cluster_id: String,
    pub replaced_cluster_id: String,
    pub endpoint: String,
    pub snapshot: String,
    pub notes: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    kind: Kind,
    /// The instance (cluster) being replaced.
    #[serde(alias = "instance")]
    original: String,
    /// The restored one's own id.
    #[serde(alias = "new_instance")]
    restored: String,
    /// Where the original goes with `swap`.
    parked: String,
    swap: bool,
    /// Renames refused so far in the current phase of the swap.
    #[serde(default)]
    refused: u32,
    /// Why the swap was given up; from then on each poll works to put the original back under its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    given_up: Option<String>,
    /// A cluster's writer: created once the restored cluster is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    writer: Option<Member>,
    /// A cluster's readers: created once its writer is available.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    readers: Vec<Member>,
    /// The snapshot restored.
    #[serde(default)]
    snapshot: String,
    /// The original's settings that could not be copied, by name ([`not_restorable`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    uncopied: Vec<String>,
}

/// An instance of the restored cluster, with the settings of the original's instance it replaces.
#[derive(Debug, Serialize, Deserialize)]
struct Member {
    /// The writer's is the restored cluster's own id (RDS keeps instances' and clusters' identifiers apart); a
    /// reader's is derived from the original cluster's ([`Derived::reader`]).
    id: String,
    /// The original's instance, kept as it is.
    replaced: String,
    class: String,
    engine: String,
    parameter_group: Option<String>,
    #[serde(default)]
    promotion_tier: Option<i32>,
    #[serde(default)]
    ca_certificate: Option<String>,
    #[serde(default)]
    auto_minor_version_upgrade: Option<bool>,
    #[serde(default)]
    publicly_accessible: Option<bool>,
}

impl State {
    /// The outputs once `now` (available) carries the name the application uses, and `replaced` the
    /// original's.
    fn output(&self, now: &str, replaced: &str, found: &Database) -> Output {
        let (instances, clusters) = match &self.writer {
            None => ((now, replaced), ("", "")),
            Some(writer) => (
                (writer.id.as_str(), writer.replaced.as_str()),
                (now, replaced),
            ),
        };
        Output {
            instance_id: instances.0.to_owned(),
            new_instance_id: instances.0.to_owned(),
            replaced_instance_id: instances.1.to_owned(),
            cluster_id: clusters.0.to_owned(),
            new_cluster_id: clusters.0.to_owned(),
            replaced_cluster_id: clusters.1.to_owned(),
            endpoint: found.endpoint.clone(),
            snapshot: self.snapshot.clone(),
            notes: self.notes(),
        }
    }

    /// What a person must know once the step is done: where the original is and how to read it, which settings
    /// could not be copied, and what clients see while DNS catches up; within the catalog's bound by
    /// construction. The ids are the outputs' (`new_instance_id`, `replaced_instance_id`, `snapshot`), so only
    /// the command to read the parked original repeats one. README, "What a restore does not copy", says how
    /// to set each setting named.
    fn notes(&self) -> String {
        let head = if self.swap {
            let start = match self.kind {
                Kind::Instance => "start-db-instance --db-instance-identifier",
                Kind::Cluster => "start-db-cluster --db-cluster-identifier",
            };
            format!(
                "Original stopped, kept: `aws rds {start} {}` to read it. DNS: up to 10 min.",
                self.parked
            )
        } else {
            "Restored beside the original, which is untouched and in use.".to_owned()
        };
        let room = NOTES_MAX.saturating_sub(head.len());
        head + &not_copied(&self.uncopied, room)
    }
}

/// The bytes `notes` may take: the catalog's bound, less its quotes and a margin.
const NOTES_MAX: usize = catalog::NOTES_BYTES - 8;

/// " Not copied: a, b." within `room` bytes: every name when they fit, else as many as fit and how many more,
/// which the function's log lists (`start` logs each).
fn not_copied(names: &[String], room: usize) -> String {
    if names.is_empty() {
        return String::new();
    }
    (0..=names.len())
        .rev()
        .map(|shown| match names.len() - shown {
            0 => format!(" Not copied: {}.", names.join(", ")),
            more => format!(
                " Not copied: {}{more} more (in the function's log).",
                names[..shown]
                    .iter()
                    .map(|name| format!("{name}, "))
                    .collect::<String>()
            ),
        })
        .find(|text| text.len() <= room)
        .unwrap_or_default()
}

/// How many times a refused rename is tried, one poll apart, before the swap is given up: RDS refuses a
/// rename while an instance is still modifying, which passes; one that it keeps refusing will not.
const RENAME_ATTEMPTS: u32 = 3;

/// `start` restores; each `poll` takes the next step of the swap.
pub struct RdsRestore;

impl Action for RdsRestore {
    const NAME: &str = "rds.restore";
    type Params = Params;

    /// The instance (cluster) being replaced is available, the snapshot is available, and a named new one is
    /// free.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let (kind, id) = match Kind::known(params) {
            Ok(named) => named,
            Err(finding) => return vec![finding],
        };
        let mut findings = rds::available(clients, kind, &id).await;
        match params.required::<String>("snapshot") {
            Ok(snapshot) => {
                let snapshot: Vec<Finding> = rds::snapshot_available(clients, kind, &snapshot)
                    .await
                    .into_iter()
                    .filter(|f| !findings.contains(f))
                    .collect();
                // The snapshot of an encrypted original is encrypted under its key: said once.
                findings.extend(snapshot);
            }
            Err(unknown) => findings.push(unknown.finding("RDS snapshot")),
        }
        let new = match kind {
            Kind::Instance => "new_instance",
            Kind::Cluster => "new_cluster",
        };
        match params.optional::<String>(new) {
            Ok(None) => {}
            Ok(Some(id)) => {
                let resource = format!("RDS {} id `{id}`", kind.noun());
                findings.push(match rds::find(clients, kind, &id).await {
                    Ok(None) => check::ok(resource, "free"),
                    Ok(Some(_)) => check::bad(
                        Verdict::NotReady,
                        resource,
                        format!(
                            "{} with this id exists; the step refuses to restore over it",
                            kind.noun()
                        ),
                        format!(
                            "leave `{new}` out, so the id comes from the execution, or name a free one"
                        ),
                    ),
                    Err(error) => check::failed(resource, &error, ""),
                });
            }
            Err(unknown) => findings.push(unknown.finding(format!("RDS {} id", kind.noun()))),
        }
        findings
    }
}

impl LongAction for RdsRestore {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let Params {
            instance,
            cluster,
            snapshot,
            swap,
            new_instance,
            new_cluster,
        } = &call.params;
        let (kind, original) = Kind::named(instance, cluster)?;
        let new = match (kind, new_instance, new_cluster) {
            (Kind::Instance, new, None) | (Kind::Cluster, None, new) => new,
            (Kind::Instance, _, Some(_)) | (Kind::Cluster, Some(_), _) => {
                return Err(ActionError::invalid_input(
                    "name the restored instance with `new_instance` and the restored cluster with `new_cluster`",
                ));
            }
        };
        let key = call.attempt_key();
        let restored = match new {
            Some(id) => id.clone(),
            None => Derived::Restored.id(original, &key),
        };
        let parked = Derived::Parked.id(original, &key);
        let attempted = format!(
            "restore RDS snapshot `{snapshot}` to new {} `{restored}`",
            kind.noun()
        );
        let found = rds::find(clients, kind, &restored).await?;
        if found.as_ref().is_some_and(|f| !f.made_by(call)) {
            return Err(ActionError::new(
                ErrorName::Precondition,
                format!(
                    "{attempted}: {} with that id exists and was not restored by this step",
                    kind.noun()
                ),
            ));
        }
        let restoring = Restoring {
            clients,
            call,
            original,
            snapshot,
            restored: &restored,
            attempted: &attempted,
            restore: found.is_none(),
        };
        let (writer, readers, uncopied) = match kind {
            Kind::Instance => (None, Vec::new(), restoring.instance().await?),
            Kind::Cluster => {
                let (writer, readers, uncopied) = restoring.cluster(&key).await?;
                (Some(writer), readers, uncopied)
            }
        };
        Ok(State {
            kind,
            original: original.to_owned(),
            restored,
            parked,
            swap: swap.unwrap_or(false),
            refused: 0,
            given_up: None,
            writer,
            readers,
            snapshot: snapshot.clone(),
            uncopied,
        })
    }

    async fn observe(
        clients: &Clients,
        call: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let restored = rds::find(clients, state.kind, &state.restored).await?;
        if let Some(writer) = &state.writer
            && let Some(waiting) = writer.ready(clients, call, restored.as_ref()).await?
        {
            return running(&state, waiting);
        }
        if let Some(waiting) = readers_ready(&state, clients, call).await? {
            return running(&state, waiting);
        }
        if !state.swap {
            return match restored {
                Some(restored) if available(&restored) => {
                    done(&state.output(&state.restored, &state.original, &restored))
                }
                Some(restored) => running(
                    &state,
                    format!("restoring `{}`: {}", state.restored, status(&restored)),
                ),
                None => running(
                    &state,
                    format!("waiting for `{}` to appear", state.restored),
                ),
            };
        }
        let swap = Swap {
            named: rds::find(clients, state.kind, &state.original).await?,
            parked: rds::find(clients, state.kind, &state.parked).await?,
            restored,
        };
        if state.given_up.is_none() {
            swap.forward(clients, call, state).await
        } else {
            swap.back(clients, call, state).await
        }
    }
}

/// Where the instances of a swap are now: under the original name, under the parked id, and under the
/// restored instance's own id.
struct Swap {
    named: Option<Database>,
    parked: Option<Database>,
    restored: Option<Database>,
}

impl Swap {
    /// Renames the original out of the way, then the restored one into its name, each once it is available.
    async fn forward(
        self,
        clients: &Clients,
        call: &Call<Params>,
        mut state: State,
    ) -> Result<Response, ActionError> {
        let noun = state.kind.noun();
        let is_restored = |i: &Database| i.made_by(call);
        match (&self.restored, &self.named) {
            (Some(restored), _) if !available(restored) => running(
                &state,
                format!("restoring `{}`: {}", state.restored, status(restored)),
            ),
            (Some(_), Some(original)) if !available(original) => running(
                &state,
                format!(
                    "waiting for original `{}`: {}",
                    state.original,
                    status(original)
                ),
            ),
            (Some(_), Some(_)) => {
                let (from, to) = (state.original.clone(), state.parked.clone());
                match rds::rename(clients, state.kind, &from, &to).await {
                    Ok(()) => {
                        state.refused = 0;
                        running(&state, format!("renaming original `{from}` to `{to}`"))
                    }
                    Err(refused) if retried(&refused) && state.refused + 1 < RENAME_ATTEMPTS => {
                        state.refused += 1;
                        running(&state, format!("{}; trying again", refused.message))
                    }
                    // The original still has its name: nothing to undo.
                    Err(refused) => Err(ActionError::new(
                        ErrorName::Failed,
                        format!(
                            "could not swap in the restored {noun}: {}; nothing was swapped: {}",
                            attempts(&refused, state.refused + 1),
                            self.whereabouts(&state, call)
                        ),
                    )),
                }
            }
            (Some(_), None) => match &self.parked {
                Some(parked) if available(parked) => {
                    let (from, to) = (state.restored.clone(), state.original.clone());
                    match rds::rename(clients, state.kind, &from, &to).await {
                        Ok(()) => {
                            state.refused = 0;
                            running(&state, format!("renaming restored `{from}` to `{to}`"))
                        }
                        Err(refused)
                            if retried(&refused) && state.refused + 1 < RENAME_ATTEMPTS =>
                        {
                            state.refused += 1;
                            running(&state, format!("{}; trying again", refused.message))
                        }
                        Err(refused) => {
                            let reason = attempts(&refused, state.refused + 1);
                            let progress = format!(
                                "{reason}; giving up the swap: renaming the original `{}` back to `{to}`",
                                state.parked
                            );
                            state.refused = 0;
                            state.given_up = Some(reason);
                            running(&state, progress)
                        }
                    }
                }
                Some(parked) => running(
                    &state,
                    format!(
                        "waiting for the renamed original `{}`: {}",
                        state.parked,
                        status(parked)
                    ),
                ),
                // The original's rename is in flight: RDS shows it under neither id for a moment.
                None => running(
                    &state,
                    format!(
                        "waiting for original `{}` to reappear as `{}`",
                        state.original, state.parked
                    ),
                ),
            },
            (None, Some(swapped)) if is_restored(swapped) && available(swapped) => {
                self.park(clients, state, swapped).await
            }
            (None, Some(swapped)) if is_restored(swapped) => running(
                &state,
                format!(
                    "waiting for renamed `{}`: {}",
                    state.original,
                    status(swapped)
                ),
            ),
            // A rename in flight: RDS shows the instance under neither id, or the original is still renaming.
            _ => running(
                &state,
                format!(
                    "waiting for `{}` to reappear after its rename",
                    state.restored
                ),
            ),
        }
    }

    /// The swap was given up: rename the parked original back, then fail, saying where each instance is.
    async fn back(
        self,
        clients: &Clients,
        call: &Call<Params>,
        mut state: State,
    ) -> Result<Response, ActionError> {
        let given_up = state.given_up.clone().unwrap_or_default();
        let noun = state.kind.noun();
        let is_restored = |i: &Database| i.made_by(call);
        match (&self.named, &self.parked) {
            // The refused rename went through after all: the swap is complete.
            (Some(named), _) if is_restored(named) && available(named) => {
                self.park(clients, state, named).await
            }
            (Some(named), _) if available(named) => Err(ActionError::new(
                ErrorName::Failed,
                format!(
                    "could not swap in the restored {noun}: {given_up}; the original was renamed back: {}",
                    self.whereabouts(&state, call)
                ),
            )),
            (Some(named), _) => running(
                &state,
                format!(
                    "waiting for `{}` to be available again: {}",
                    state.original,
                    status(named)
                ),
            ),
            (None, Some(parked)) if available(parked) => {
                let (from, to) = (state.parked.clone(), state.original.clone());
                match rds::rename(clients, state.kind, &from, &to).await {
                    Ok(()) => {
                        state.refused = 0;
                        running(
                            &state,
                            format!("renaming the original `{from}` back to `{to}`"),
                        )
                    }
                    Err(refused) if retried(&refused) && state.refused + 1 < RENAME_ATTEMPTS => {
                        state.refused += 1;
                        running(&state, format!("{}; trying again", refused.message))
                    }
                    Err(refused) => Err(ActionError::new(
                        ErrorName::Failed,
                        format!(
                            "could not swap in the restored {noun}: {given_up}; putting the original back \
                             failed too: {}. Rename `{from}` to `{to}` by hand: {}",
                            attempts(&refused, state.refused + 1),
                            self.whereabouts(&state, call)
                        ),
                    )),
                }
            }
            (None, Some(parked)) => running(
                &state,
                format!(
                    "waiting for the parked original `{}`: {}",
                    state.parked,
                    status(parked)
                ),
            ),
            (None, None) => running(
                &state,
                format!(
                    "waiting for the original to reappear as `{}`",
                    state.original
                ),
            ),
        }
    }

    /// The restored database carries the name: stop the parked original so that a client holding its cached
    /// address writes nothing there, and end once RDS gives the name's endpoint to the restored one.
    async fn park(
        &self,
        clients: &Clients,
        mut state: State,
        named: &Database,
    ) -> Result<Response, ActionError> {
        let noun = state.kind.noun();
        let original = &state.original;
        let name_moved = named
            .endpoint
            .to_ascii_lowercase()
            .starts_with(&format!("{}.", names::rds_id(original)));
        match &self.parked {
            Some(parked) if parked.status == "stopped" && name_moved => {
                state.refused = 0;
                done(&state.output(original, &state.parked, named))
            }
            Some(parked) if parked.status == "stopped" => running(
                &state,
                format!(
                    "waiting for RDS to give `{original}`'s endpoint to the restored {noun} (now `{}`)",
                    named.endpoint
                ),
            ),
            Some(parked) if parked.status == "stopping" => running(
                &state,
                format!("stopping the parked original `{}`", state.parked),
            ),
            Some(parked) if available(parked) => {
                let parked_id = state.parked.clone();
                match rds::stop(clients, state.kind, &parked_id).await {
                    Ok(()) => {
                        state.refused = 0;
                        running(
                            &state,
                            format!(
                                "stopping the parked original `{parked_id}`, so that it takes no writes"
                            ),
                        )
                    }
                    Err(refused) if retried(&refused) && state.refused + 1 < RENAME_ATTEMPTS => {
                        state.refused += 1;
                        running(&state, format!("{}; trying again", refused.message))
                    }
                    // The swap itself is done; the parked original still takes connections.
                    Err(refused) => Err(ActionError::new(
                        ErrorName::Failed,
                        format!(
                            "`{original}` is the restored {noun}, but the parked original `{parked_id}` could not \
                             be stopped and still takes writes from clients that cached its address: {}. Stop it \
                             by hand (`aws rds stop-db-{}`), or remove its security groups' inbound rules",
                            attempts(&refused, state.refused + 1),
                            match state.kind {
                                Kind::Instance =>
                                    format!("instance --db-instance-identifier {parked_id}"),
                                Kind::Cluster =>
                                    format!("cluster --db-cluster-identifier {parked_id}"),
                            }
                        ),
                    )),
                }
            }
            Some(parked) => running(
                &state,
                format!(
                    "waiting for the parked original `{}` to be available before stopping it: {}",
                    state.parked,
                    status(parked)
                ),
            ),
            None => running(
                &state,
                format!(
                    "waiting for the parked original `{}` to appear",
                    state.parked
                ),
            ),
        }
    }

    /// "`db` is the original instance (available), `db-rb-…` is the restored instance (available)", or first
    /// "no instance is named `db`" (clusters alike).
    fn whereabouts(&self, state: &State, call: &Call<Params>) -> String {
        let noun = state.kind.noun();
        let ids = [&state.original, &state.parked, &state.restored];
        let found = [&self.named, &self.parked, &self.restored];
        let mut parts = Vec::new();
        if self.named.is_none() {
            parts.push(format!("no {noun} is named `{}`", state.original));
        }
        for (id, instance) in ids.into_iter().zip(found) {
            if let Some(instance) = instance {
                let which = if instance.made_by(call) {
                    "restored"
                } else {
                    "original"
                };
                parts.push(format!(
                    "`{id}` is the {which} {noun} ({})",
                    status(instance)
                ));
            }
        }
        parts.join(", ")
    }
}

/// Whether a failed rename is worth another try on a later poll: RDS refused it for the instance's state
/// (InvalidDBInstanceState while it is still modifying), or did not answer.
fn retried(error: &ActionError) -> bool {
    matches!(error.name, ErrorName::Precondition | ErrorName::Transient)
}

fn attempts(error: &ActionError, tries: u32) -> String {
    if tries > 1 {
        format!("{} (tried {tries} times)", error.message)
    } else {
        error.message.clone()
    }
}

fn status(found: &Database) -> &str {
    &found.status
}

fn available(found: &Database) -> bool {
    found.available()
}

/// What `start` restores from: the snapshot, to `restored`, with the settings of `original`.
struct Restoring<'a> {
    clients: &'a Clients,
    call: &'a Call<Params>,
    original: &'a str,
    snapshot: &'a str,
    restored: &'a str,
    attempted: &'a str,
    /// False when an earlier attempt of this step restored it already.
    restore: bool,
}

impl Restoring<'_> {
    /// RestoreDBInstanceFromDBSnapshot with every setting of the original instance that the call takes; the
    /// settings it cannot take are returned, each with why.
    async fn instance(&self) -> Result<Vec<String>, ActionError> {
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
    async fn cluster(&self, key: &str) -> Result<(Member, Vec<Member>, Vec<String>), ActionError> {
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
async fn readers_ready(
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
    async fn ready(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest notes any restore writes fit the catalog's bound: a parked id of RDS's 63 characters, and
    /// every kind of setting a restore cannot copy.
    #[test]
    fn the_longest_notes_fit_their_bound_and_say_where_the_rest_is() {
        let names: Vec<String> = [
            "48 tags",
            "Performance Insights",
            "enhanced monitoring",
            "storage autoscaling",
            "15 read replicas",
        ]
        .map(str::to_owned)
        .to_vec();
        for kind in [Kind::Instance, Kind::Cluster] {
            for swap in [true, false] {
                let state = State {
                    kind,
                    original: "x".repeat(63),
                    restored: Derived::Restored.id(&"x".repeat(63), "0a1b2c3d"),
                    parked: Derived::Parked.id(&"x".repeat(63), "0a1b2c3d"),
                    swap,
                    refused: 0,
                    given_up: None,
                    writer: None,
                    readers: Vec::new(),
                    snapshot: "s".repeat(255),
                    uncopied: names.clone(),
                };
                let notes = state.notes();
                assert!(
                    serde_json::to_string(&notes).map_or(0, |n| n.len()) <= catalog::NOTES_BYTES,
                    "{} bytes: {notes}",
                    notes.len()
                );
                assert!(
                    notes.ends_with(
                        "Not copied: 48 tags, Performance Insights, enhanced monitoring, storage \
                                     autoscaling, 15 read replicas."
                    ) || notes.ends_with("more (in the function's log)."),
                    "{notes}"
                );
            }
        }
    }
}
