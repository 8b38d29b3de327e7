//! `rds.snapshot`: CreateDBSnapshot under an id derived from the execution and step, then poll until
//! `available`. A retried `start` finds the snapshot it made instead of making a second one.

use aws_sdk_rds::types::{DbSnapshot, Tag};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::rds_restore::instance_available;
use crate::actions::{Action, LongAction};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done, identifier, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub instance: String,
    pub snapshot_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub snapshot_id: String,
    pub instance: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    snapshot_id: String,
    instance: String,
}

/// RDS allows 255 characters in a snapshot identifier.
const SNAPSHOT_ID_MAX: usize = 255;

/// `start` then `poll` until the snapshot is `available`.
pub struct RdsSnapshot;

impl Action for RdsSnapshot {
    const NAME: &str = "rds.snapshot";
    type Params = Params;

    /// The instance is available; a snapshot id the step names is free.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let mut findings = vec![match params.required::<String>("instance") {
            Ok(instance) => instance_available(clients, &instance).await,
            Err(unknown) => unknown.finding("RDS instance"),
        }];
        match params.optional::<String>("snapshot_id") {
            Ok(None) => {}
            Ok(Some(id)) => findings.push(snapshot_id_free(clients, &id).await),
            Err(unknown) => findings.push(unknown.finding("RDS snapshot id")),
        }
        findings
    }
}

/// `start` refuses a snapshot id that someone else's snapshot holds.
async fn snapshot_id_free(clients: &Clients, id: &str) -> Finding {
    let resource = format!("RDS snapshot id `{id}`");
    match find_snapshot(clients, id).await {
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

impl LongAction for RdsSnapshot {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let instance = &call.params.instance;
        let snapshot_id = match &call.params.snapshot_id {
            Some(id) => id.clone(),
            None => identifier(
                &format!("stepback-{instance}"),
                &call.attempt_key(),
                SNAPSHOT_ID_MAX,
            ),
        };
        let attempted = format!("create snapshot `{snapshot_id}` of RDS instance `{instance}`");
        match find_snapshot(clients, &snapshot_id).await? {
            // An earlier attempt of this step made it.
            Some(existing) if tagged_by(existing.tag_list(), call) => {}
            // Someone else's snapshot, maybe days old: restoring from it would lose data.
            Some(existing) => {
                return Err(ActionError::new(
                    ErrorName::Precondition,
                    format!(
                        "{attempted}: a snapshot with that id already exists (of `{}`, not taken by this step)",
                        existing.db_instance_identifier().unwrap_or("unknown")
                    ),
                ));
            }
            None => {
                let created = clients
                    .aws(aws_sdk_rds::Client::new)
                    .create_db_snapshot()
                    .db_snapshot_identifier(&snapshot_id)
                    .db_instance_identifier(instance)
                    .set_tags(Some(
                        call.tags()
                            .map(|(k, v)| Tag::builder().key(k).value(v).build())
                            .into(),
                    ))
                    .send()
                    .await;
                match created {
                    // A concurrent attempt won the race; the poll looks at its snapshot.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_db_snapshot_already_exists_fault()) => {}
                    Err(e) => return Err(ActionError::aws(attempted, e)),
                    Ok(_) => {}
                }
            }
        }
        Ok(State {
            snapshot_id,
            instance: instance.clone(),
        })
    }

    async fn observe(
        clients: &Clients,
        _: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let snapshot = find_snapshot(clients, &state.snapshot_id)
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

fn report(snapshot: &DbSnapshot, state: State) -> Result<Response, ActionError> {
    match snapshot.status().unwrap_or("unknown") {
        "available" => done(&Output {
            snapshot_id: state.snapshot_id,
            instance: state.instance,
        }),
        status @ ("failed" | "deleted" | "deleting") => Err(ActionError::new(
            ErrorName::Failed,
            format!(
                "RDS snapshot `{}` of `{}` is {status}",
                state.snapshot_id, state.instance
            ),
        )),
        status => {
            let progress = format!(
                "RDS snapshot `{}` is {status} ({}%)",
                state.snapshot_id,
                snapshot.percent_progress().unwrap_or(0)
            );
            running(&state, progress)
        }
    }
}

/// Whether an RDS resource carries this step's `stepback:execution` tag, i.e. an attempt of this step made it.
/// Tags survive renames.
pub fn tagged_by<P>(tags: &[Tag], call: &Call<P>) -> bool {
    let [(key, execution), _] = call.tags();
    tags.iter()
        .any(|t| t.key() == Some(key) && t.value() == Some(execution.as_str()))
}

/// The snapshot with this id, or `None` when RDS does not know it.
pub async fn find_snapshot(
    clients: &Clients,
    snapshot_id: &str,
) -> Result<Option<DbSnapshot>, ActionError> {
    let answer = clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_snapshots()
        .db_snapshot_identifier(snapshot_id)
        .send()
        .await;
    match answer {
        Ok(output) => Ok(output.db_snapshots.unwrap_or_default().into_iter().next()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_db_snapshot_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(ActionError::aws(
            format!("describe RDS snapshot `{snapshot_id}`"),
            e,
        )),
    }
}
