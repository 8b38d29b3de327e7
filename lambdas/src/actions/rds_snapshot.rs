//! `rds.snapshot`: CreateDBSnapshot of an `instance`, or CreateDBClusterSnapshot of an Aurora `cluster`, under an
//! id derived from the execution and step, then poll until `available`. A retried `start` finds the snapshot it
//! made instead of making a second one.

use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response};
use serde::{Deserialize, Serialize};

use crate::rds::{self, Kind, Snapshot};
use crate::actions::{Action, Handler, LongAction};
use crate::check::Known;
use crate::{ActionError, Call, Clients, done, identifier, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub instance: Option<String>,
    pub cluster: Option<String>,
    pub snapshot_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub snapshot_id: String,
    /// Empty for a cluster.
    pub instance: String,
    /// Empty for an instance.
    pub cluster: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    snapshot_id: String,
    #[serde(default)]
    kind: Kind,
    /// The instance or cluster snapshotted.
    #[serde(alias = "instance")]
    of: String,
}

/// RDS allows 255 characters in a snapshot identifier (a cluster snapshot's too).
const SNAPSHOT_ID_MAX: usize = 255;

/// `start` then `poll` until the snapshot is `available`.
pub struct RdsSnapshot;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<RdsSnapshot>()];

impl Action for RdsSnapshot {
    const NAME: &str = "rds.snapshot";
    type Params = Params;

    /// The instance or cluster is available; a snapshot id the step names is free.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let (kind, id) = match Kind::known(params) {
            Ok(named) => named,
            Err(finding) => return vec![finding],
        };
        let mut findings = rds::available(clients, kind, &id).await;
        match params.optional::<String>("snapshot_id") {
            Ok(None) => {}
            Ok(Some(snapshot)) => {
                findings.push(rds::snapshot_id_free(clients, kind, &snapshot).await);
            }
            Err(unknown) => findings.push(unknown.finding("RDS snapshot id")),
        }
        findings
    }
}

impl LongAction for RdsSnapshot {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let (kind, of) = Kind::named(&call.params.instance, &call.params.cluster)?;
        let snapshot_id = match &call.params.snapshot_id {
            Some(id) => id.clone(),
            None => identifier(
                &format!("stepback-{of}"),
                &call.attempt_key(),
                SNAPSHOT_ID_MAX,
            ),
        };
        match rds::find_snapshot(clients, kind, &snapshot_id).await? {
            // An earlier attempt of this step made it.
            Some(existing) if rds::tagged_by(&existing.tags, call) => {}
            // Someone else's snapshot, maybe days old: restoring from it would lose data.
            Some(existing) => {
                return Err(ActionError::new(
                    ErrorName::Precondition,
                    format!(
                        "create snapshot `{snapshot_id}` of RDS {} `{of}`: a snapshot with that id already exists \
                         (of `{}`, not taken by this step)",
                        kind.noun(),
                        existing.of
                    ),
                ));
            }
            None => rds::create_snapshot(clients, kind, &snapshot_id, of, call).await?,
        }
        Ok(State {
            snapshot_id,
            kind,
            of: of.to_owned(),
        })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let snapshot = rds::find_snapshot(clients, state.kind, &state.snapshot_id)
            .await?
            .ok_or_else(|| {
                ActionError::new(
                    ErrorName::NotFound,
                    format!("RDS snapshot `{}` disappeared", state.snapshot_id),
                )
            })?;
        report(&snapshot, state)
    }
}

fn report(snapshot: &Snapshot, state: State) -> Result<Response, ActionError> {
    match snapshot.status.as_str() {
        "available" => {
            let (instance, cluster) = match state.kind {
                Kind::Instance => (state.of, String::new()),
                Kind::Cluster => (String::new(), state.of),
            };
            done(&Output {
                snapshot_id: state.snapshot_id,
                instance,
                cluster,
            })
        }
        status @ ("failed" | "deleted" | "deleting") => Err(ActionError::new(
            ErrorName::Failed,
            format!(
                "RDS snapshot `{}` of `{}` is {status}",
                state.snapshot_id, state.of
            ),
        )),
        status => {
            let progress = format!(
                "RDS snapshot `{}` is {status} ({}%)",
                state.snapshot_id, snapshot.percent_progress
            );
            running(&state, progress)
        }
    }
}
