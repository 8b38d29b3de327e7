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

use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::rds::{self, Database, Kind};
use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known};
use catalog::names::Derived;

use crate::{ActionError, Call, Clients, done, running};

// `build.rs` declares this module by its path, which makes its submodules relative to `actions/`.
#[path = "rds_restore/restoring.rs"]
mod restoring;
#[path = "rds_restore/swap.rs"]
mod swap;

use restoring::{Restoring, readers_ready};
use swap::Swap;

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

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<RdsRestore>()];

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

fn status(found: &Database) -> &str {
    &found.status
}

fn available(found: &Database) -> bool {
    found.available()
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
