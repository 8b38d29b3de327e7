//! `guard`.

use crate::Grant;
use crate::params::{ValueType as T, optional, output, param};
use crate::resources::{KMS_DESCRIBE, KMS_THROUGH_SNS};
use crate::spec::{ActionSpec, FUNCTION, MINUTE, RETRY_QUICK, Runtime};

/// The `guard` params that the compiler fills: the declared input names, and the input to check against them.
/// JSONPath Choice rules cannot list an object's keys, so the guard Lambda, which runs before any step, does.
pub const GUARD_DECLARED: &str = "declared";
pub const GUARD_INPUT: &str = "input";
/// The `guard` param that bounds each string or list input: its `max_length` by name ([`input_length`]).
pub const GUARD_MAX_LENGTHS: &str = "max_lengths";

/// An input's length as `max_length` counts it: the bytes the value takes in the state data, as JSON (UTF-8),
/// without a string's quotes. Plain text of n ASCII characters is n; a `"` or `\` counts 2.
pub fn input_length(value: &serde_json::Value) -> usize {
    let json = value.to_string();
    match value {
        serde_json::Value::String(_) => json.len().saturating_sub(2),
        _ => json.len(),
    }
}

/// `max_length` of a string input that does not declare one: a version, an id, a reason. One that
/// `[trigger].input` fills from an alarm gets room for what the alarm writes (`workflow::Workflow::max_length`).
pub const DEFAULT_STRING_LENGTH: usize = 1024;
/// `max_length` of a list input that does not declare one, as JSON.
pub const DEFAULT_LIST_LENGTH: usize = 4 * 1024;
/// The largest `max_length` an input may declare: a quarter of what a state may carry.
pub const MAX_INPUT_LENGTH: usize = 64 * 1024;
/// The `guard` params of a workflow with `[trigger]`: the input the execution was started with (whether an alarm
/// started it, [`ALARM_DETAIL_TYPE`]), `[trigger].cooldown` in seconds, and `[trigger].topic`.
pub const GUARD_STARTED_WITH: &str = "started_with";
pub const GUARD_COOLDOWN: &str = "cooldown";
pub const GUARD_TOPIC: &str = "topic";

/// The guard's lock: a DynamoDB table per state machine ([`crate::names::lock_table`]) whose one item, keyed
/// `LOCK_KEY = LOCK_ITEM`, names the execution that acts. The template creates it (`compiler::template`).
pub const LOCK_KEY: &str = "lock";
pub const LOCK_ITEM: &str = "rollback";
/// The lock table's ARN, as [`crate::names::lock_table`] names it.
pub(crate) const LOCK_TABLE: &str =
    "arn:{partition}:dynamodb:{region}:{account}:table/{state_machine}-stepback-lock";

/// The `detail-type` of the event that CloudWatch sends to EventBridge when an alarm changes state (CloudWatch
/// user guide, "Alarm events and EventBridge"); the rule starts the machine with the event as its input.
pub const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

/// The output of an execution that the guard ended before any step (another rollback is running, or an alarm
/// within `[trigger].cooldown`): the machine still SUCCEEDS, so whoever reads the end must look here to tell "held
/// back" from "rolled back". The compiler writes it; `stepback start --follow` reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct HeldBack {
    /// What ended it, e.g. "another rollback is running".
    pub ended: String,
    /// The guard's message, naming the other execution.
    pub because: String,
}

impl HeldBack {
    pub const ENDED: &str = "ended";
    pub const BECAUSE: &str = "because";
}

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "guard",
    summary: "refuse an input that [input] does not declare; take the state machine's lock, or end the \
              execution cleanly when another execution holds it and runs, or when an alarm started it within \
              [trigger].cooldown of the last execution's end",
    params: &[
        param(
            GUARD_DECLARED,
            T::StringList,
            "the names that the workflow's [input] declares",
        ),
        param(
            GUARD_INPUT,
            T::StringMap,
            "the execution input with the defaults filled in; its keys and its values' lengths are checked",
        ),
        optional(
            GUARD_MAX_LENGTHS,
            T::StringMap,
            "each string or list input's max_length: a longer value is refused",
        ),
        optional(
            GUARD_STARTED_WITH,
            T::StringMap,
            "the execution input as started: an alarm's EventBridge event, or a person's input",
        ),
        optional(
            GUARD_COOLDOWN,
            T::Number,
            "[trigger].cooldown in seconds: an alarm-started execution that begins this soon after another ended \
             does not act",
        ),
        optional(
            GUARD_TOPIC,
            T::String,
            "[trigger].topic, told when the cooldown holds an alarm-started execution back",
        ),
    ],
    exactly_one_of: &[],
    outputs: &[output(
        "previous",
        T::String,
        "the execution that held the lock before this one; empty for the state machine's first",
    )],
    runtime: Runtime::Invoke,
    grants: &[
        // The lock: a consistent read, and a conditional write that takes it or notes a held-back alarm. Nothing
        // is deleted: a finished execution's hold is taken over.
        Grant::on(&["dynamodb:GetItem", "dynamodb:UpdateItem"], &[LOCK_TABLE]),
        // Whether the holder still runs, and when it ended.
        Grant::on(
            &["states:DescribeExecution"],
            &[
                "arn:{partition}:states:{region}:{account}:execution:{state_machine}:*",
                // The reference lists Express executions as a required type too; this machine is Standard.
                "arn:{partition}:states:{region}:{account}:express:{state_machine}:*:*",
            ],
        ),
        // Only with `[trigger].topic`.
        Grant::on(
            &["sns:GetTopicAttributes", "sns:Publish"],
            &["arn:{partition}:sns:{region}:{account}:{topic?}"],
        ),
        KMS_THROUGH_SNS.given(GUARD_TOPIC),
        KMS_DESCRIBE.given(GUARD_TOPIC),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names;

    #[test]
    fn the_lock_tables_pattern_is_the_name_the_guard_uses() {
        assert_eq!(
            LOCK_TABLE
                .rsplit_once("table/")
                .map(|(_, name)| name.to_owned()),
            Some(names::lock_table("{state_machine}"))
        );
    }
}
