//! `stepback approve` and `stepback reject`.

use std::io::Read;
use std::process::ExitCode;

use cli::approval::{self, AnswerError, Decision};

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
}

pub fn run(args: &Args, decision: Decision) -> ExitCode {
    let token = if args.token == "-" {
        let mut token = String::new();
        if let Err(error) = std::io::stdin().read_to_string(&mut token) {
            eprintln!("error: cannot read the token from standard input: {error}");
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
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let sent = runtime.block_on(async {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        approval::answer(
            &aws_sdk_sfn::Client::new(&config),
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
            eprintln!("{verb} by {by}");
            ExitCode::SUCCESS
        }
        Err(error @ AnswerError::NotWaiting { .. }) => {
            eprintln!("error: {error}");
            ExitCode::from(INVALID)
        }
        Err(error @ AnswerError::Aws(_)) => {
            eprintln!("error: {error}");
            ExitCode::from(IO_ERROR)
        }
    }
}
