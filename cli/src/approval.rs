//! Answering an approval: the `approval` step waits on a task token (`lambda:invoke.waitForTaskToken`);
//! `stepback approve` resumes it with SendTaskSuccess, `stepback reject` fails it with SendTaskFailure.

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use catalog::ErrorName;
use catalog::contract::ApprovalAnswer;

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
    #[error("Step Functions did not take the answer: {0}")]
    Aws(String),
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
                .map_err(classify)?;
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
                .map_err(classify)?;
        }
    }
    Ok(())
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> AnswerError {
    match error.code() {
        Some(code @ ("TaskDoesNotExist" | "TaskTimedOut" | "InvalidToken")) => {
            AnswerError::NotWaiting {
                code: code.to_owned(),
            }
        }
        _ => AnswerError::Aws(aws_sdk_sfn::error::DisplayErrorContext(&error).to_string()),
    }
}
