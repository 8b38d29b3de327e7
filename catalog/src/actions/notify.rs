//! `notify`.

use crate::params::{ValueType as T, optional, output, param};
use crate::resources::{KMS_DESCRIBE, KMS_THROUGH_SNS, TOPIC};
use crate::spec::{ActionSpec, FUNCTION, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "notify",
    summary: "publish a message to an SNS topic",
    params: &[
        param("topic", T::String, "SNS topic ARN"),
        optional(
            "subject",
            T::String,
            "email subject; cut to SNS's 100 characters",
        ),
        param("message", T::String, "message body"),
    ],
    exactly_one_of: &[],
    outputs: &[output("message_id", T::String, "SNS message id")],
    runtime: Runtime::Invoke,
    // GetTopicAttributes: `stepback preflight`'s check that the topic exists.
    grants: &[
        Grant::on(&["sns:GetTopicAttributes", "sns:Publish"], &[TOPIC]),
        KMS_THROUGH_SNS,
        KMS_DESCRIBE,
    ],
    changes: &[],
    needs: &[Need::Topic { topic: "topic" }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 5,
    default_timeout_secs: MINUTE,
    guards: &[],
    poll_interval: None,
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
topic = "arn:aws:sns:us-east-1:123456789012:ops"
message = "rollback to v41"
"#,
    ),
    user_facing: true,
};
