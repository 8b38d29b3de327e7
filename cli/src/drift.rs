//! `stepback rehearse --drift STEP`: what a step needs, taken out of the rehearsal's world after the deploy, as
//! drift takes it in production (a database stopped, a snapshot deleted by a retention policy, a target group
//! emptied), so that the readiness run finds it; then the fix, put back.

use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use catalog::Need;
use serde_json::{Map, Value as Json};
use workflow::model::Step;

use crate::aws::{AwsError, Session};
use crate::readiness;

/// What a drift took, and how it is put back.
#[derive(Clone, Debug)]
pub struct Drift {
    pub step: String,
    /// What was taken, e.g. "DB instance `webapp-db` stopped".
    pub taken: String,
    /// The fix, as a person would make it.
    pub fix: String,
    undo: Undo,
}

#[derive(Clone, Debug)]
enum Undo {
    StartDbInstance(String),
    SnapshotAgain {
        snapshot: String,
        instance: String,
    },
    Register {
        group: String,
        targets: Vec<TargetDescription>,
    },
}

/// What can be taken from a step's world, by what the catalog says it needs: a snapshot, a target group's
/// targets, a DB instance's availability.
pub const KINDS: &str = "a DB snapshot, a target group's targets, or an available DB instance";

/// Whether `--drift` can take something from `step`'s world.
pub fn driftable(step: &Step) -> bool {
    step.action.needs.iter().any(|need| target(need).is_some())
}

/// The need a drift takes, the most specific first.
fn target(need: &Need) -> Option<u8> {
    match need {
        Need::DbSnapshot { .. } => Some(0),
        Need::TargetGroup { .. } => Some(1),
        Need::DbInstance { .. } => Some(2),
        _ => None,
    }
}

fn failed(action: &str, error: impl std::fmt::Display) -> AwsError {
    AwsError::Other {
        action: action.to_owned(),
        reason: error.to_string(),
    }
}

/// Takes what `step` needs out of the world, with the params known from `input`.
pub async fn drift(
    session: &Session,
    step: &Step,
    input: &Map<String, Json>,
) -> Result<Drift, AwsError> {
    let params = readiness::known_params(step, input);
    let text = |name: &str| params.get(name).and_then(Json::as_str).map(str::to_owned);
    let need = step
        .action
        .needs
        .iter()
        .filter(|need| target(need).is_some())
        .min_by_key(|need| target(need))
        .copied();
    let refused = |reason: &str| failed(&format!("--drift {}", step.id), reason);
    let config = &session.config;
    let (taken, fix, undo) = match need {
        Some(Need::DbSnapshot { snapshot, instance }) => {
            let (Some(snapshot), Some(instance)) = (text(snapshot), text(instance)) else {
                return Err(refused("its snapshot is known only at run time"));
            };
            aws_sdk_rds::Client::new(config)
                .delete_db_snapshot()
                .db_snapshot_identifier(&snapshot)
                .send()
                .await
                .map_err(|e| failed("rds:DeleteDBSnapshot", e))?;
            (
                format!("DB snapshot `{snapshot}` deleted, as a retention policy would"),
                format!("snapshot `{instance}` again as `{snapshot}`"),
                Undo::SnapshotAgain { snapshot, instance },
            )
        }
        Some(Need::TargetGroup { target_group, .. }) => {
            let Some(group) = text(target_group) else {
                return Err(refused("its target group is known only at run time"));
            };
            let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
            let health = elb
                .describe_target_health()
                .target_group_arn(&group)
                .send()
                .await
                .map_err(|e| failed("elasticloadbalancing:DescribeTargetHealth", e))?;
            let targets: Vec<TargetDescription> = health
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target().cloned())
                .collect();
            elb.deregister_targets()
                .target_group_arn(&group)
                .set_targets(Some(targets.clone()))
                .send()
                .await
                .map_err(|e| failed("elasticloadbalancing:DeregisterTargets", e))?;
            (
                format!(
                    "the {} targets of target group `{group}` deregistered",
                    targets.len()
                ),
                "register the targets again".to_owned(),
                Undo::Register { group, targets },
            )
        }
        Some(Need::DbInstance { instance }) => {
            let Some(instance) = text(instance) else {
                return Err(refused("its DB instance is known only at run time"));
            };
            aws_sdk_rds::Client::new(config)
                .stop_db_instance()
                .db_instance_identifier(&instance)
                .send()
                .await
                .map_err(|e| failed("rds:StopDBInstance", e))?;
            (
                format!("DB instance `{instance}` stopped"),
                format!("start `{instance}` (aws rds start-db-instance)"),
                Undo::StartDbInstance(instance),
            )
        }
        _ => {
            return Err(refused(&format!(
                "`{}` needs nothing the rehearsal can take: {KINDS}",
                step.action.name
            )));
        }
    };
    Ok(Drift {
        step: step.id.clone(),
        taken,
        fix,
        undo,
    })
}

/// Puts back what [`drift`] took.
pub async fn mend(session: &Session, drift: &Drift) -> Result<(), AwsError> {
    let config = &session.config;
    match &drift.undo {
        Undo::StartDbInstance(instance) => aws_sdk_rds::Client::new(config)
            .start_db_instance()
            .db_instance_identifier(instance)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("rds:StartDBInstance", e)),
        Undo::SnapshotAgain { snapshot, instance } => aws_sdk_rds::Client::new(config)
            .create_db_snapshot()
            .db_snapshot_identifier(snapshot)
            .db_instance_identifier(instance)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("rds:CreateDBSnapshot", e)),
        Undo::Register { group, targets } => aws_sdk_elasticloadbalancingv2::Client::new(config)
            .register_targets()
            .target_group_arn(group)
            .set_targets(Some(targets.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("elasticloadbalancing:RegisterTargets", e)),
    }
}
