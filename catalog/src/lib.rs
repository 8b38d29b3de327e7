//! The single source of truth shared by the compiler and the Lambdas:
//! - [`ACTIONS`]: every action's params, outputs, IAM actions, default retry, estimate and timeout, one file
//!   per action in `actions/`;
//! - [`ErrorName`]: the error names a Lambda raises and `Retry`/`Catch` match;
//! - [`contract`]: the payload that the state machine sends to a Lambda and gets back;
//! - [`manifest`]: which states belong to which step, written by the compiler and read by the audit.
//!
//! This crate does no IO and links nothing but serde (and strsim, for [`closest`]).

mod actions;
pub mod changed;
pub mod contract;
mod errors;
pub mod iam;
pub mod kubernetes;
pub mod manifest;
pub mod metric;
pub mod names;
mod params;
pub mod readiness;
mod resources;
mod spec;
pub mod world;

pub use errors::{ErrorName, LAMBDA_FUNCTION_TIMEOUTS, LAMBDA_SERVICE_ERRORS};
pub use iam::Grant;
pub use world::Need;

pub use actions::{
    ACTIONS, ALARM_DETAIL_TYPE, DEFAULT_LIST_LENGTH, DEFAULT_STRING_LENGTH, GUARD_COOLDOWN,
    GUARD_DECLARED, GUARD_INPUT, GUARD_MAX_LENGTHS, GUARD_STARTED_WITH, GUARD_TOPIC, HeldBack,
    LOCK_ITEM, LOCK_KEY, MAX_INPUT_LENGTH, TARGETS_BY_HAND, TARGETS_BY_OWNER, input_length,
};
pub use params::{
    Constraint, DURATION_PATTERN, ERROR_MESSAGE_BYTES, NOTES_BYTES, OutputSpec, PROGRESS_BYTES,
    ParamSpec, RDS_ID_BYTES, Shell, TEXT_BYTES, ValueType,
};
pub use resources::AUTO_SCALING_PROCESSES;
pub use spec::{
    ActionSpec, Changes, FunctionSpec, Guard, GuardKind, PolledStatus, RetrySpec, Runtime,
};

/// The closest candidate, when it is close enough to be what the user meant: `check`'s "did you mean", and the
/// guard Lambda's for a misspelt execution input.
pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// The action names a workflow may use, for "did you mean" and the schema.
pub fn user_actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter().filter(|a| a.user_facing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_params_are_unique_and_groups_name_optional_params() {
        let mut names: Vec<_> = ACTIONS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len());
        for action in ACTIONS {
            for group in action.exactly_one_of {
                for name in *group {
                    let spec = action.param(name).map(|p| p.required);
                    assert_eq!(
                        spec,
                        Some(false),
                        "{}: {name} must be an optional param",
                        action.name
                    );
                }
            }
            let mut params: Vec<_> = action.params.iter().map(|p| p.name).collect();
            params.sort_unstable();
            params.dedup();
            assert_eq!(params.len(), action.params.len(), "{}", action.name);
        }
    }

    /// An action a user may write has an example of a step, and one only stepback places has none.
    #[test]
    fn every_user_facing_action_has_an_example() {
        for action in ACTIONS {
            assert_eq!(
                action.example.is_some(),
                action.user_facing,
                "{}",
                action.name
            );
        }
    }

    /// Every `{slot}` of a grant's ARN patterns names one of the action's params or a slot the template fills;
    /// `*` only for the actions in the unscoped table; never a delete.
    #[test]
    fn grants_name_real_params_and_scope_every_action_they_can() {
        const FILLED: [&str; 5] = [
            "partition",
            "region",
            "account",
            "state_machine",
            "task_roles",
        ];
        for action in ACTIONS {
            for grant in action.grants {
                for name in grant.actions {
                    assert!(
                        !name.contains(":Delete")
                            || iam::ONLY_DELETES.iter().any(|(d, _)| d == name),
                        "{}: {name}",
                        action.name
                    );
                    assert_eq!(
                        grant.is_unscoped(),
                        iam::unscoped_reason(name).is_some(),
                        "{}: {name} is granted on `*` exactly when AWS scopes it by no resource",
                        action.name
                    );
                }
                for pattern in grant.resources {
                    for slot in pattern.split('{').skip(1) {
                        let slot = slot.split(['}', '|', '@', '?']).next().unwrap_or_default();
                        assert!(
                            FILLED.contains(&slot) || action.param(slot).is_some(),
                            "{}: `{{{slot}}}` in {pattern} is not a param",
                            action.name
                        );
                    }
                }
            }
        }
    }

    /// What a rehearsal creates is named by the action's own params.
    #[test]
    fn needs_name_real_params() {
        for action in ACTIONS {
            for need in action.needs {
                for name in need.params() {
                    assert!(action.param(name).is_some(), "{}: {name}", action.name);
                }
            }
        }
    }

    #[test]
    fn guards_name_actions_and_params_of_both_sides() {
        for action in ACTIONS {
            for guard in action.guards {
                let by = crate::action(guard.action);
                assert!(by.is_some(), "{}: no action {}", action.name, guard.action);
                for (theirs, ours) in guard.same {
                    assert!(by.and_then(|a| a.param(theirs)).is_some());
                    assert!(action.param(ours).is_some());
                }
            }
        }
    }

    /// What an action changes is named by its params as its IAM patterns name the resource, and actions that
    /// change one kind of resource identify it by as many params.
    #[test]
    fn changed_resources_are_named_by_params_that_the_grants_name() {
        let mut arity = std::collections::BTreeMap::new();
        for (action, changes) in ACTIONS
            .iter()
            .flat_map(|a| a.changes.iter().map(move |c| (a, c)))
        {
            assert!(!changes.params.is_empty(), "{}", action.name);
            // Inside a cluster the access entry is the grant, and its narrowest scope is a namespace (an access
            // policy's `AccessScope` is `cluster` or `namespace`): the one object in it is named by no grant.
            let access = kubernetes::cluster_access(action.name);
            let mut unscoped = 0;
            for name in changes.params {
                assert!(action.param(name).is_some(), "{}: {name}", action.name);
                let slot = format!("{{{name}");
                let by_iam = action
                    .grants
                    .iter()
                    .flat_map(|g| g.resources.iter())
                    .any(|pattern| pattern.contains(&slot));
                let by_access = access.is_some_and(|a| [a.cluster, a.namespace].contains(name));
                if !by_iam && !by_access {
                    unscoped += 1;
                }
            }
            let allowed = usize::from(access.is_some());
            assert!(
                unscoped <= allowed,
                "{}: {unscoped} of {:?} named by no grant",
                action.name,
                changes.params
            );
            let count = *arity
                .entry(changes.resource)
                .or_insert(changes.params.len());
            assert_eq!(count, changes.params.len(), "{}", changes.resource);
        }
    }

    /// A constraint sits on a param of the type it reads, and names the action's own params.
    #[test]
    fn constraints_fit_their_params() {
        for action in ACTIONS {
            for param in action.params {
                let fits = match param.constraint {
                    Constraint::None => true,
                    Constraint::Statistic | Constraint::Name => param.ty == ValueType::String,
                    Constraint::Period => param.ty == ValueType::Duration,
                    Constraint::Holds { period, count } => {
                        param.ty == ValueType::Duration
                            && action.param(period.0).map(|p| p.ty) == Some(ValueType::Duration)
                            && action.param(count.0).map(|p| p.ty) == Some(ValueType::Number)
                    }
                };
                assert!(fits, "{}: {}", action.name, param.name);
            }
        }
    }

    /// A grant for the steps that give a param names an optional param (one of an `exactly_one_of` group, or
    /// the guard's `[trigger].topic`): a required one every step gives, and an unknown one none could.
    #[test]
    fn grants_given_a_param_name_an_optional_one() {
        for action in ACTIONS {
            for grant in action.grants {
                if let Some(given) = grant.given {
                    assert!(
                        action.param(given).is_some_and(|p| !p.required),
                        "{}: {given}",
                        action.name
                    );
                }
            }
        }
    }

    /// Only an action that polls reads a status in its poll.
    #[test]
    fn only_polling_actions_read_a_polled_status() {
        for action in ACTIONS {
            assert!(
                action.polled.is_empty() || action.runtime == Runtime::Poll,
                "{}",
                action.name
            );
        }
    }

    #[test]
    fn function_names_are_pascal_case() {
        let name = |action: &str| action_named(action).arn_substitution();
        assert_eq!(name("rds.restore"), "StepbackRdsRestoreArn");
        assert_eq!(name("ecs.run_task"), "StepbackEcsRunTaskArn");
    }

    fn action_named(name: &str) -> &'static ActionSpec {
        action(name).unwrap_or_else(|| panic!("the catalog has no `{name}`"))
    }
}
