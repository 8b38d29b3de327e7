//! `stepback approve` and `stepback reject`.

use std::io::Read;
use std::process::ExitCode;

use cli::approval::{self, AnswerError, Decision};
use cli::aws::{AwsArgs, AwsError, Session};
use cli::execution;

use crate::output::errln;
use crate::report::{INVALID, IO_ERROR};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["execution", "token"])))]
pub struct Args {
    /// The execution whose waiting approval to answer; its history holds the task token.
    #[arg(value_name = "EXECUTION_ARN")]
    execution: Option<String>,
    /// With several approvals waiting in the execution: the step to answer.
    #[arg(long, requires = "execution")]
    step: Option<String>,
    /// Instead of EXECUTION_ARN: a task token (from the console or the history; the SNS message carries none);
    /// `-` reads it from standard input,
    /// out of the shell history.
    #[arg(long)]
    token: Option<String>,
    /// Why; recorded in the execution history. At most 1024 bytes (a `"` or `\` counts 2).
    #[arg(long, default_value = "")]
    comment: String,
    /// Who answers. With EXECUTION_ARN, a display name recorded beside the caller's ARN from STS, which is what
    /// the audit trusts; with --token, recorded as given (default: $USER).
    #[arg(long)]
    by: Option<String>,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The user's error: exit 1.
    #[error("{0}")]
    NoApproval(String),
}

pub fn run(args: &Args, decision: Decision) -> ExitCode {
    let token = match args.token.as_deref() {
        Some("-") => {
            let mut token = String::new();
            if let Err(error) = std::io::stdin().read_to_string(&mut token) {
                errln!("error: cannot read the token from standard input: {error}");
                return ExitCode::from(IO_ERROR);
            }
            Some(token.trim().to_owned())
        }
        other => other.map(str::to_owned),
    };
    if let Err(error) = approval::check_comment(&args.comment) {
        errln!("error: {error}");
        return ExitCode::from(INVALID);
    }
    let sent = crate::runtime::block_on(async {
        let session = Session::load(&args.aws).await?;
        let (token, by) = match (token, &args.execution) {
            // A token given by hand: the answer says who as given.
            (Some(token), _) => {
                let by = args.by.clone().or_else(|| std::env::var("USER").ok());
                (token, by.unwrap_or_else(|| "unknown".into()))
            }
            (None, Some(execution)) => {
                let token = waiting_token(&session, execution, args.step.as_deref()).await?;
                let caller = cli::aws::caller(&session).await?;
                let by = match &args.by {
                    Some(name) => format!("{name} ({})", caller.arn),
                    None => caller.arn,
                };
                (token, by)
            }
            (None, None) => {
                return Err(Failure::NoApproval("give EXECUTION_ARN or --token".into()));
            }
        };
        let client = aws_sdk_sfn::Client::new(&session.config);
        approval::answer(&client, &token, decision, &by, &args.comment).await?;
        Ok(by)
    });
    match sent {
        Ok(Ok(by)) => {
            let verb = if decision == Decision::Approve {
                "approved"
            } else {
                "rejected"
            };
            errln!("{verb} by {by}");
            ExitCode::SUCCESS
        }
        Ok(Err(
            error @ (Failure::NoApproval(_) | Failure::Answer(AnswerError::NotWaiting { .. })),
        )) => {
            errln!("error: {error}");
            ExitCode::from(INVALID)
        }
        Ok(Err(error)) => {
            errln!("error: {error}");
            ExitCode::from(IO_ERROR)
        }
        Err(code) => code,
    }
}

/// The token of the one approval waiting in the execution (or of `step`'s).
async fn waiting_token(
    session: &Session,
    execution: &str,
    step: Option<&str>,
) -> Result<String, Failure> {
    let events = execution::history(session, execution).await?;
    let waiting = execution::waiting_approvals(&events);
    let chosen: Vec<&execution::Waiting> = waiting
        .iter()
        .filter(|w| step.is_none_or(|s| w.step == s))
        .collect();
    match chosen.as_slice() {
        [one] => Ok(one.token.clone()),
        [] if waiting.is_empty() => Err(Failure::NoApproval(format!(
            "no approval is waiting in {execution}: none was reached, it was answered already, or the execution ended"
        ))),
        [] => Err(Failure::NoApproval(format!(
            "step `{}` is not waiting for an answer; these are: {}",
            step.unwrap_or_default(),
            names(&waiting)
        ))),
        _ => Err(Failure::NoApproval(format!(
            "{} approvals are waiting: {}; pass --step",
            chosen.len(),
            names(&waiting)
        ))),
    }
}

fn names(waiting: &[execution::Waiting]) -> String {
    waiting
        .iter()
        .map(|w| format!("`{}`", w.step))
        .collect::<Vec<_>>()
        .join(", ")
}
