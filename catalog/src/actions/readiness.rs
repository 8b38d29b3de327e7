//! `readiness`: the function that records what the readiness machine's checks found (`crate::readiness`).

use crate::Grant;
use crate::actions::guard::LOCK_TABLE;
use crate::params::{ValueType as T, optional, output, param};
use crate::readiness::{ACTION, CHECKS, NAMESPACE, RULE, TOPIC, WORKFLOW};
use crate::resources::KMS_THROUGH_SNS;
use crate::spec::{ActionSpec, FUNCTION, MINUTE, RETRY_QUICK, Runtime};

pub const SPEC: ActionSpec = ActionSpec {
    name: ACTION,
    summary: "record what the scheduled checks found: a CloudWatch metric per step and for the whole rollback, \
              the topic told when the steps that cannot run change, the alarm trigger armed the first time every \
              step can run",
    params: &[
        param(
            WORKFLOW,
            T::String,
            "the workflow's name: the metrics' dimension, and its lock table's",
        ),
        param(
            CHECKS,
            T::StringList,
            "what each step's check found, as the readiness machine gathers them: step, cases and findings",
        ),
        optional(
            TOPIC,
            T::String,
            "[readiness].topic: told when the steps that cannot run change",
        ),
        optional(
            RULE,
            T::String,
            "the name of [trigger]'s EventBridge rule, enabled the first time every step can run",
        ),
    ],
    exactly_one_of: &[],
    outputs: &[
        output("ready", T::Bool, "whether every step can run"),
        output(
            "not_ready",
            T::StringList,
            "the steps that cannot run, in the workflow's order",
        ),
    ],
    runtime: Runtime::Invoke,
    grants: &[
        // The metrics; CloudWatch scopes PutMetricData by no resource, only by the namespace condition key.
        Grant::unscoped(&["cloudwatch:PutMetricData"]).in_namespace(NAMESPACE),
        // The last verdict, one item of the lock table, so that the topic hears of a change once.
        Grant::on(&["dynamodb:GetItem", "dynamodb:UpdateItem"], &[LOCK_TABLE]),
        Grant::on(
            &["sns:Publish"],
            &["arn:{partition}:sns:{region}:{account}:{topic?}"],
        ),
        KMS_THROUGH_SNS.given(TOPIC),
        // Whether the trigger is armed, and arming it.
        Grant::on(
            &["events:DescribeRule", "events:EnableRule"],
            &["arn:{partition}:events:{region}:{account}:rule/{rule?}"],
        ),
    ],
    changes: &[],
    needs: &[],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 1,
    default_timeout_secs: MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    example: None,
    user_facing: false,
};
