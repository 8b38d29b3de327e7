//! `approval`.

use crate::params::{ValueType as T, output, param};
use crate::resources::{KMS_DESCRIBE, KMS_THROUGH_SNS, TOPIC};
use crate::spec::{ActionSpec, FUNCTION, HOUR, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need, contract};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "approval",
    summary: "ask a person to approve through SNS, and wait for `stepback approve` or `stepback reject`",
    params: &[
        param(
            "topic",
            T::String,
            "SNS topic ARN the request is published to",
        ),
        param("message", T::String, "what needs approval"),
    ],
    exactly_one_of: &[],
    outputs: &[
        output("approved_by", T::String, "who approved"),
        output("comment", T::String, "the approver's comment")
            .at_most(contract::APPROVAL_COMMENT_BYTES + 2),
    ],
    runtime: Runtime::TaskToken,
    // GetTopicAttributes: `stepback preflight`'s check that the topic exists.
    grants: &[
        Grant::on(&["sns:GetTopicAttributes", "sns:Publish"], &[TOPIC]),
        KMS_THROUGH_SNS,
        KMS_DESCRIBE,
    ],
    changes: &[],
    needs: &[Need::Topic { topic: "topic" }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 10 * MINUTE,
    default_timeout_secs: HOUR,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
topic = "arn:aws:sns:us-east-1:123456789012:ops"
message = "restore webapp-db from webapp-db-known-good?"
"#,
    ),
    user_facing: true,
};
