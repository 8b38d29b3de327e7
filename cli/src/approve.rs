//! `stepback approve` and `stepback reject`.

use std::io::Read;
use std::process::ExitCode;

use cli::approval::{self, AnswerError, Decision};
use cli::aws::{AwsArgs, Session};

use crate::output::errln;
use crate::report::{INVALID, IO_ERROR};

#[derive(clap::Args)]
pub struct Args {
    /// The task token from the approval message; `-` reads it from standard input, out of the shell history.
    #[arg(long)]
    token: String,
    /// Why; recorded in the execution history.
    #[arg(long, default_value = "")]
    comment: String,
    /// Who answers; recorded in the execution history. Default: $USER.
    #[arg(long)]
    by: Option<String>,
    #[command(flatten)]
    aws: AwsArgs,
}

pub fn run(args: &Args, decision: Decision) -> ExitCode {
    let token = if args.token == "-" {
        let mut token = String::new();
        if let Err(error) = std::io::stdin().read_to_string(&mut token) {
            errln!("error: cannot read the token from standard input: {error}");
            return ExitCode::from(IO_ERROR);
        }
        token.trim().to_owned()
    } else {
        args.token.clone()
    };
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            errln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let sent = runtime.block_on(async {
        let session = Session::load(&args.aws).await?;
        approval::answer(
            &aws_sdk_sfn::Client::new(&session.config),
            &token,
            decision,
            &by,
            &args.comment,
        )
        .await
    });
    match sent {
        Ok(()) => {
            let verb = if decision == Decision::Approve {
                "approved"
            } else {
                "rejected"
            };
            errln!("{verb} by {by}");
            ExitCode::SUCCESS
        }
        Err(error @ AnswerError::NotWaiting { .. }) => {
            errln!("error: {error}");
            ExitCode::from(INVALID)
        }
        Err(error @ AnswerError::Aws(_)) => {
            errln!("error: {error}");
            ExitCode::from(IO_ERROR)
        }
    }
}
