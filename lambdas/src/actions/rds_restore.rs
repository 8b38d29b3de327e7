//! `rds.restore`: RestoreDBInstanceFromDBSnapshot to a new identifier with the original's settings, then
//! poll until available. With `swap`, rename the original to `<id>-pre-rollback-<key>` and the restored one
//! to `<id>`, each once the instance is available, so the endpoint the application uses does not change.
//!
//! Never deletes. Each poll looks at where the instances are now rather than trusting a remembered phase, so
//! a retried poll never renames twice. The restored instance is told apart by its `stepback:execution` tag,
//! which survives a rename (moto gives every instance the same `DbiResourceId`, so that cannot be used).

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
}

/// RDS allows 63 characters in an instance identifier.
const INSTANCE_ID_MAX: usize = 63;

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
                clients
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
                    .await
                    .map_err(|e| ActionError::aws(&attempted, e))?;
            }
        }
        Ok(State {
            instance: instance.clone(),
            new_instance,
            parked,
            swap: swap.unwrap_or(false),
        })
    }

    async fn observe(
        clients: &Clients,
        call: &Call<Params>,
        state: State,
    ) -> Result<Response, ActionError> {
        let is_restored = |i: &DbInstance| tagged_by(i.tag_list(), call);
        let under_new_id = find_instance(clients, &state.new_instance).await?;
        let under_old_id = find_instance(clients, &state.instance).await?;
        match (under_new_id, under_old_id) {
            (Some(restored), _) if !available(&restored) => running(
                &state,
                format!("restoring `{}`: {}", state.new_instance, status(&restored)),
            ),
            (Some(restored), _) if !state.swap => done(&Output {
                instance_id: state.new_instance.clone(),
                new_instance_id: state.new_instance.clone(),
                replaced_instance_id: state.instance.clone(),
                endpoint: endpoint(&restored),
            }),
            (Some(_), Some(original)) if !available(&original) => running(
                &state,
                format!(
                    "waiting for original `{}`: {}",
                    state.instance,
                    status(&original)
                ),
            ),
            (Some(_), Some(_)) => {
                rename(clients, &state.instance, &state.parked).await?;
                running(
                    &state,
                    format!(
                        "renaming original `{}` to `{}`",
                        state.instance, state.parked
                    ),
                )
            }
            (Some(_), None) => {
                rename(clients, &state.new_instance, &state.instance).await?;
                running(
                    &state,
                    format!(
                        "renaming restored `{}` to `{}`",
                        state.new_instance, state.instance
                    ),
                )
            }
            (None, Some(swapped)) if is_restored(&swapped) && available(&swapped) => {
                done(&Output {
                    instance_id: state.instance.clone(),
                    new_instance_id: state.instance.clone(),
                    replaced_instance_id: state.parked.clone(),
                    endpoint: endpoint(&swapped),
                })
            }
            (None, Some(swapped)) if is_restored(&swapped) => running(
                &state,
                format!(
                    "waiting for renamed `{}`: {}",
                    state.instance,
                    status(&swapped)
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
}

async fn rename(clients: &Clients, from: &str, to: &str) -> Result<(), ActionError> {
    clients
        .aws(aws_sdk_rds::Client::new)
        .modify_db_instance()
        .db_instance_identifier(from)
        .new_db_instance_identifier(to)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| ActionError::aws(format!("rename RDS instance `{from}` to `{to}`"), e))?;
    Ok(())
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
