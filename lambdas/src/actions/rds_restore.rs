//! `rds.restore`: RestoreDBInstanceFromDBSnapshot to a new identifier with the original's settings, then
//! poll until available. With `swap`, rename the original to `<id>-pre-rollback-<key>` and the restored one
//! to `<id>`, each once the instance is available, so the endpoint the application uses does not change.
//!
//! The invariant: when the step ends, done or failed, an available instance carries the original name. A
//! rename RDS refuses (an instance still modifying) is tried again on later polls; when the swap cannot
//! finish, the parked original is renamed back before the step fails, and the cause says where each instance
//! is. The one end without an instance under the name is a failed undo, and its cause says so first.
//!
//! Never deletes. Each poll looks at where the instances are now rather than trusting a remembered phase, so
//! a retried poll never renames twice; the state remembers only refusals and the decision to give up. The
//! restored instance is told apart by its `stepback:execution` tag, which survives a rename (moto gives every
//! instance the same `DbiResourceId`, so that cannot be used).

use aws_sdk_rds::types::{DbInstance, Tag};
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response, Verdict};
use serde::{Deserialize, Serialize};

use crate::actions::rds_snapshot::{find_snapshot, tagged_by};
use crate::actions::{Action, LongAction};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done, identifier, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub instance: String,
    pub snapshot: String,
    pub swap: Option<bool>,
    pub new_instance: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub instance_id: String,
    pub new_instance_id: String,
    pub replaced_instance_id: String,
    pub endpoint: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    instance: String,
    new_instance: String,
    /// Where the original goes with `swap`.
    parked: String,
    swap: bool,
    /// Renames refused so far in the current phase of the swap.
    #[serde(default)]
    refused: u32,
    /// Why the swap was given up; from then on each poll works to put the original back under its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    given_up: Option<String>,
}

/// RDS allows 63 characters in an instance identifier.
const INSTANCE_ID_MAX: usize = 63;

/// How many times a refused rename is tried, one poll apart, before the swap is given up: RDS refuses a
/// rename while an instance is still modifying, which passes; one that it keeps refusing will not.
const RENAME_ATTEMPTS: u32 = 3;

/// `start` restores; each `poll` takes the next step of the swap.
pub struct RdsRestore;

impl Action for RdsRestore {
    const NAME: &str = "rds.restore";
    type Params = Params;

    /// The instance being replaced is available, the snapshot is available, and a named new instance is free.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let mut findings = vec![match params.required::<String>("instance") {
            Ok(instance) => instance_available(clients, &instance).await,
            Err(unknown) => unknown.finding("RDS instance"),
        }];
        findings.push(match params.required::<String>("snapshot") {
            Ok(snapshot) => snapshot_available(clients, &snapshot).await,
            Err(unknown) => unknown.finding("RDS snapshot"),
        });
        match params.optional::<String>("new_instance") {
            Ok(None) => {}
            Ok(Some(id)) => {
                let resource = format!("RDS instance id `{id}`");
                findings.push(match find_instance(clients, &id).await {
                    Ok(None) => check::ok(resource, "free"),
                    Ok(Some(_)) => check::bad(
                        Verdict::NotReady,
                        resource,
                        "an instance with this id exists; the step refuses to restore over it",
                        "leave `new_instance` out, so the id comes from the execution, or name a free one",
                    ),
                    Err(error) => check::failed(resource, &error, ""),
                });
            }
            Err(unknown) => findings.push(unknown.finding("RDS instance id")),
        }
        findings
    }
}

/// The instance exists and is `available`, as a snapshot and a rename need.
pub async fn instance_available(clients: &Clients, id: &str) -> Finding {
    let resource = format!("RDS instance `{id}`");
    match find_instance(clients, id).await {
        Ok(Some(instance)) if available(&instance) => check::ok(resource, "available"),
        Ok(Some(instance)) => check::bad(
            Verdict::NotReady,
            resource,
            format!("{}, not available", status(&instance)),
            format!(
                "start it or wait until it is available (`aws rds start-db-instance --db-instance-identifier {id}` for a stopped one)"
            ),
        ),
        Ok(None) => check::bad(
            Verdict::Missing,
            resource,
            "RDS knows no such instance in this region",
            "fix the instance identifier in the workflow",
        ),
        Err(error) => check::failed(
            resource,
            &error,
            "fix the instance identifier in the workflow",
        ),
    }
}

async fn snapshot_available(clients: &Clients, id: &str) -> Finding {
    let resource = format!("RDS snapshot `{id}`");
    match find_snapshot(clients, id).await {
        Ok(Some(snapshot)) if snapshot.status() == Some("available") => {
            check::ok(resource, "available")
        }
        Ok(Some(snapshot)) => check::bad(
            Verdict::NotReady,
            resource,
            format!("{}, not available", snapshot.status().unwrap_or("unknown")),
            "wait until the snapshot is available, or name another",
        ),
        Ok(None) => check::bad(
            Verdict::Missing,
            resource,
            "RDS knows no such snapshot in this region",
            "name an existing snapshot (`aws rds describe-db-snapshots`)",
        ),
        Err(error) => check::failed(resource, &error, "name an existing snapshot"),
    }
}

impl LongAction for RdsRestore {
    type State = State;

    async fn start(clients: &Clients, call: &Call<Params>) -> Result<State, ActionError> {
        let Params {
            instance,
            snapshot,
            swap,
            new_instance,
        } = &call.params;
        let key = call.attempt_key();
        let new_instance = match new_instance {
            Some(id) => id.clone(),
            None => identifier(&format!("{instance}-rb"), &key, INSTANCE_ID_MAX),
        };
        let parked = identifier(&format!("{instance}-pre-rollback"), &key, INSTANCE_ID_MAX);
        let attempted =
            format!("restore RDS snapshot `{snapshot}` to new instance `{new_instance}`");
        match find_instance(clients, &new_instance).await? {
            Some(existing) if tagged_by(existing.tag_list(), call) => {}
            Some(_) => {
                return Err(ActionError::new(
                    ErrorName::Precondition,
                    format!(
                        "{attempted}: an instance with that id exists and was not restored by this step"
                    ),
                ));
            }
            None => {
                let original = find_instance(clients, instance).await?.ok_or_else(|| {
                    ActionError::new(
                        ErrorName::NotFound,
                        format!("{attempted}: RDS instance `{instance}` not found"),
                    )
                })?;
                if find_snapshot(clients, snapshot).await?.is_none() {
                    return Err(ActionError::new(
                        ErrorName::NotFound,
                        format!("{attempted}: RDS snapshot `{snapshot}` not found"),
                    ));
                }
                let restored = clients
                    .aws(aws_sdk_rds::Client::new)
                    .restore_db_instance_from_db_snapshot()
                    .db_instance_identifier(&new_instance)
                    .db_snapshot_identifier(snapshot)
                    .set_db_instance_class(original.db_instance_class.clone())
                    .set_db_subnet_group_name(
                        original
                            .db_subnet_group
                            .and_then(|g| g.db_subnet_group_name),
                    )
                    .set_vpc_security_group_ids(original.vpc_security_groups.map(|groups| {
                        groups
                            .into_iter()
                            .filter_map(|g| g.vpc_security_group_id)
                            .collect()
                    }))
                    .set_db_parameter_group_name(
                        original
                            .db_parameter_groups
                            .and_then(|groups| groups.into_iter().next()?.db_parameter_group_name),
                    )
                    .set_multi_az(original.multi_az)
                    .set_tags(Some(
                        call.tags()
                            .map(|(k, v)| Tag::builder().key(k).value(v).build())
                            .into(),
                    ))
                    .send()
                    .await;
                // An answer lost on the way: the SDK's next attempt is refused
                // (DBInstanceAlreadyExists), since the first one restored it.
                if let Err(e) = restored {
                    let ours = find_instance(clients, &new_instance)
                        .await?
                        .is_some_and(|i| tagged_by(i.tag_list(), call));
                    if !ours {
                        return Err(ActionError::aws(&attempted, e));
                    }
                }
            }
        }
        Ok(State {
            instance: instance.clone(),
            new_instance,
            parked,
            swap: swap.unwrap_or(false),
            refused: 0,
            given_up: None,
        })
    }

    async fn observe(
        clients: &Clients,
        call: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let restored = find_instance(clients, &state.new_instance).await?;
        if !state.swap {
            return match restored {
                Some(restored) if available(&restored) => done(&Output {
                    instance_id: state.new_instance.clone(),
                    new_instance_id: state.new_instance.clone(),
                    replaced_instance_id: state.instance.clone(),
                    endpoint: endpoint(&restored),
                }),
                Some(restored) => running(
                    &state,
                    format!("restoring `{}`: {}", state.new_instance, status(&restored)),
                ),
                None => running(
                    &state,
                    format!("waiting for `{}` to appear", state.new_instance),
                ),
            };
        }
        let swap = Swap {
            named: find_instance(clients, &state.instance).await?,
            parked: find_instance(clients, &state.parked).await?,
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
    named: Option<DbInstance>,
    parked: Option<DbInstance>,
    restored: Option<DbInstance>,
}

impl Swap {
    /// Renames the original out of the way, then the restored one into its name, each once it is available.
    async fn forward(
        self,
        clients: &Clients,
        call: &Call<Params>,
        mut state: State,
    ) -> Result<Response, ActionError> {
        let is_restored = |i: &DbInstance| tagged_by(i.tag_list(), call);
        match (&self.restored, &self.named) {
            (Some(restored), _) if !available(restored) => running(
                &state,
                format!("restoring `{}`: {}", state.new_instance, status(restored)),
            ),
            (Some(_), Some(original)) if !available(original) => running(
                &state,
                format!(
                    "waiting for original `{}`: {}",
                    state.instance,
                    status(original)
                ),
            ),
            (Some(_), Some(_)) => {
                let (from, to) = (state.instance.clone(), state.parked.clone());
                match rename(clients, &from, &to).await {
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
                            "could not swap in the restored instance: {}; nothing was swapped: {}",
                            attempts(&refused, state.refused + 1),
                            self.whereabouts(&state, call)
                        ),
                    )),
                }
            }
            (Some(_), None) => match &self.parked {
                Some(parked) if available(parked) => {
                    let (from, to) = (state.new_instance.clone(), state.instance.clone());
                    match rename(clients, &from, &to).await {
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
                        state.instance, state.parked
                    ),
                ),
            },
            (None, Some(swapped)) if is_restored(swapped) && available(swapped) => done(&Output {
                instance_id: state.instance.clone(),
                new_instance_id: state.instance.clone(),
                replaced_instance_id: state.parked.clone(),
                endpoint: endpoint(swapped),
            }),
            (None, Some(swapped)) if is_restored(swapped) => running(
                &state,
                format!(
                    "waiting for renamed `{}`: {}",
                    state.instance,
                    status(swapped)
                ),
            ),
            // A rename in flight: RDS shows the instance under neither id, or the original is still renaming.
            _ => running(
                &state,
                format!(
                    "waiting for `{}` to reappear after its rename",
                    state.new_instance
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
        let is_restored = |i: &DbInstance| tagged_by(i.tag_list(), call);
        match (&self.named, &self.parked) {
            // The refused rename went through after all: the swap is complete.
            (Some(named), _) if is_restored(named) && available(named) => done(&Output {
                instance_id: state.instance.clone(),
                new_instance_id: state.instance.clone(),
                replaced_instance_id: state.parked.clone(),
                endpoint: endpoint(named),
            }),
            (Some(named), _) if available(named) => Err(ActionError::new(
                ErrorName::Failed,
                format!(
                    "could not swap in the restored instance: {given_up}; the original was renamed back: {}",
                    self.whereabouts(&state, call)
                ),
            )),
            (Some(named), _) => running(
                &state,
                format!(
                    "waiting for `{}` to be available again: {}",
                    state.instance,
                    status(named)
                ),
            ),
            (None, Some(parked)) if available(parked) => {
                let (from, to) = (state.parked.clone(), state.instance.clone());
                match rename(clients, &from, &to).await {
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
                            "could not swap in the restored instance: {given_up}; putting the original back \
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
                    state.instance
                ),
            ),
        }
    }

    /// "`db` is the original instance (available), `db-rb-…` is the restored instance (available)", or first
    /// "no instance is named `db`".
    fn whereabouts(&self, state: &State, call: &Call<Params>) -> String {
        let ids = [&state.instance, &state.parked, &state.new_instance];
        let found = [&self.named, &self.parked, &self.restored];
        let mut parts = Vec::new();
        if self.named.is_none() {
            parts.push(format!("no instance is named `{}`", state.instance));
        }
        for (id, instance) in ids.into_iter().zip(found) {
            if let Some(instance) = instance {
                let which = if tagged_by(instance.tag_list(), call) {
                    "restored"
                } else {
                    "original"
                };
                parts.push(format!(
                    "`{id}` is the {which} instance ({})",
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

async fn rename(clients: &Clients, from: &str, to: &str) -> Result<(), ActionError> {
    let renamed = clients
        .aws(aws_sdk_rds::Client::new)
        .modify_db_instance()
        .db_instance_identifier(from)
        .new_db_instance_identifier(to)
        .apply_immediately(true)
        .send()
        .await;
    let Err(e) = renamed else { return Ok(()) };
    // An answer lost on the way: the SDK's next attempt finds no `from` (DBInstanceNotFound), since the
    // first one renamed it.
    match (
        find_instance(clients, from).await?,
        find_instance(clients, to).await?,
    ) {
        (None, Some(_)) => Ok(()),
        _ => Err(ActionError::aws(
            format!("rename RDS instance `{from}` to `{to}`"),
            e,
        )),
    }
}

fn status(instance: &DbInstance) -> &str {
    instance.db_instance_status().unwrap_or("unknown")
}

fn available(instance: &DbInstance) -> bool {
    status(instance) == "available"
}

fn endpoint(instance: &DbInstance) -> String {
    instance
        .endpoint()
        .and_then(|e| e.address())
        .unwrap_or_default()
        .to_owned()
}

/// The instance with this id, or `None` when RDS does not know it.
pub async fn find_instance(clients: &Clients, id: &str) -> Result<Option<DbInstance>, ActionError> {
    match clients
        .aws(aws_sdk_rds::Client::new)
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(output) => Ok(output.db_instances.unwrap_or_default().into_iter().next()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(ActionError::aws(format!("describe RDS instance `{id}`"), e)),
    }
}
