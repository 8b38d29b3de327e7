//! The swap, done by `poll`: the original renamed out of the way and the restored one into its name, each
//! once it is available, or, once the swap is given up, the original renamed back.

use catalog::ErrorName;
use catalog::contract::Response;
use catalog::names;

use super::{Params, RENAME_ATTEMPTS, State, available, status};
use crate::rds::{self, Database, Kind};
use crate::{ActionError, Call, Clients, done, running};

/// Where the instances of a swap are now: under the original name, under the parked id, and under the
/// restored instance's own id.
pub(super) struct Swap {
    pub(super) named: Option<Database>,
    pub(super) parked: Option<Database>,
    pub(super) restored: Option<Database>,
}

impl Swap {
    /// Renames the original out of the way, then the restored one into its name, each once it is available.
    pub(super) async fn forward(
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
    pub(super) async fn back(
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
