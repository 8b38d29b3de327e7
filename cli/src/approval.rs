//! Answering an approval: the `approval` step waits on a task token (`lambda:invoke.waitForTaskToken`);
//! `stepback approve` resumes it with SendTaskSuccess, `stepback reject` fails it with SendTaskFailure.

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use catalog::ErrorName;
use catalog::contract::ApprovalAnswer;

use crate::aws::{self, AwsError, Call};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The token is wrong or stale: a user error, not the tool's.
    #[error(
        "no approval is waiting on this token ({code}): it was answered already, it timed out, or its execution ended"
    )]
    NotWaiting { code: String },
    /// The comment is longer than the state machine keeps: a user error, found before any request.
    #[error(
        "the comment is {length} bytes long, over the {max} an answer may carry (the state data counts it at that); shorten it"
    )]
    CommentTooLong { length: usize, max: usize },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Refuses a comment longer than [`catalog::contract::APPROVAL_COMMENT_BYTES`].
pub fn check_comment(comment: &str) -> Result<(), AnswerError> {
    let length = catalog::input_length(&comment.into());
    let max = catalog::contract::APPROVAL_COMMENT_BYTES;
    if length > max {
        return Err(AnswerError::CommentTooLong { length, max });
    }
    Ok(())
}

/// Sends the decision. An approval stores `{approved_by, comment}` as the step's result; a rejection fails the
/// step with `Stepback.Rejected`, which no `Retry` matches, so the workflow's failure path runs.
pub async fn answer(
    client: &aws_sdk_sfn::Client,
    token: &str,
    decision: Decision,
    by: &str,
    comment: &str,
) -> Result<(), AnswerError> {
    check_comment(comment)?;
    match decision {
        Decision::Approve => {
            let answer = ApprovalAnswer {
                approved_by: by.to_owned(),
                comment: comment.to_owned(),
            };
            // Serialising two strings cannot fail.
            let output = serde_json::to_string(&answer).unwrap_or_default();
            client
                .send_task_success()
                .task_token(token)
                .output(output)
                .send()
                .await
                .map_err(|error| classify(&error, "states:SendTaskSuccess"))?;
        }
        Decision::Reject => {
            let cause = if comment.is_empty() {
                format!("rejected by {by}")
            } else {
                format!("rejected by {by}: {comment}")
            };
            client
                .send_task_failure()
                .task_token(token)
                .error(ErrorName::Rejected.as_str())
                .cause(cause)
                .send()
                .await
                .map_err(|error| classify(&error, "states:SendTaskFailure"))?;
        }
    }
    Ok(())
}

fn classify<E, R>(error: &SdkError<E, R>, action: &'static str) -> AnswerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error.code() {
        Some(code @ ("TaskDoesNotExist" | "TaskTimedOut" | "InvalidToken")) => {
            AnswerError::NotWaiting {
                code: code.to_owned(),
            }
        }
        _ => AnswerError::Aws(aws::explain(
            error,
            Call {
                service: "Step Functions",
                action,
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::Client;
    use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureError;
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
    use aws_sdk_sfn::types::error::{TaskDoesNotExist, TaskTimedOut};
    use aws_smithy_mocks::{RuleMode, mock};
    use ::tests::mock_client;

    use super::*;

    /// Step Functions names the error in the response; the SDK keeps it as the error's code.
    fn code(code: &str) -> aws_sdk_sfn::error::ErrorMetadata {
        aws_sdk_sfn::error::ErrorMetadata::builder()
            .code(code)
            .build()
    }

    /// moto takes any token, so the answers for a stale one are mocked as Step Functions gives them.
    #[tokio::test]
    async fn a_stale_token_is_the_users_error() {
        let gone = mock!(Client::send_task_success).then_error(|| {
            SendTaskSuccessError::TaskDoesNotExist(
                TaskDoesNotExist::builder()
                    .meta(code("TaskDoesNotExist"))
                    .build(),
            )
        });
        let timed_out = mock!(Client::send_task_failure).then_error(|| {
            SendTaskFailureError::TaskTimedOut(
                TaskTimedOut::builder().meta(code("TaskTimedOut")).build(),
            )
        });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&gone, &timed_out]);
        let approve = answer(&client, "t", Decision::Approve, "bob", "").await;
        assert!(
            matches!(approve, Err(AnswerError::NotWaiting { code }) if code == "TaskDoesNotExist")
        );
        let reject = answer(&client, "t", Decision::Reject, "bob", "").await;
        assert!(matches!(reject, Err(AnswerError::NotWaiting { code }) if code == "TaskTimedOut"));
    }

    /// moto drops SendTaskFailure's cause (the failure reaches the state machine with a null Cause), so what a
    /// rejection sends is checked here; `compiler/tests/it/failure.rs` takes it on to the notice (issue 14).
    #[tokio::test]
    async fn an_approval_carries_who_and_why() {
        let sent = mock!(Client::send_task_success)
            .match_requests(|r| {
                r.task_token() == Some("t")
                    && r.output() == Some(r#"{"approved_by":"bob","comment":"snapshot checked"}"#)
            })
            .then_output(|| {
                aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput::builder().build()
            });
        let rejected = mock!(Client::send_task_failure)
            .match_requests(|r| {
                r.error() == Some("Stepback.Rejected")
                    && r.cause() == Some("rejected by bob: wrong snapshot")
            })
            .then_output(|| {
                aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput::builder().build()
            });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&sent, &rejected]);
        answer(&client, "t", Decision::Approve, "bob", "snapshot checked")
            .await
            .expect("approved");
        answer(&client, "t", Decision::Reject, "bob", "wrong snapshot")
            .await
            .expect("rejected");
        assert_eq!((sent.num_calls(), rejected.num_calls()), (1, 1));
    }
}
