//! `stepback audit`: the rollback's record from its execution history.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audit::report::Trigger;
use audit::{AuditError, Bundle, History, Report};
use cli::aws::{AwsArgs, Session};
use cli::history::{self, FetchError};
use serde_json::Value;

use crate::output::{errln, out, outln};
use crate::report::{INVALID, IO_ERROR};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Md,
    Html,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The execution to audit.
    #[arg(required_unless_present_any = ["history", "list"], conflicts_with_all = ["history", "list"])]
    execution_arn: Option<String>,
    /// Audit a saved history instead: a file from --save-history, or the output of `aws stepfunctions
    /// get-execution-history --execution-arn ARN` (then give --definition too).
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// The definition the execution ran, when the history file has none: `stepback compile`'s .asl.json, or the
    /// output of `aws stepfunctions describe-state-machine-for-execution`.
    #[arg(long, value_name = "FILE", requires = "history")]
    definition: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the audit to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also save what was fetched (history, description, definition; the task token redacted) for --history.
    #[arg(long, value_name = "FILE", requires = "execution_arn")]
    save_history: Option<PathBuf>,
    /// List the past rollbacks of a state machine, one line each: name, status, trigger, start, duration, the
    /// failed step.
    #[arg(long, requires = "machine")]
    list: bool,
    /// The state machine whose executions --list lists.
    #[arg(
        long,
        value_name = "STATE_MACHINE_ARN",
        requires = "list",
        group = "machine"
    )]
    arn: Option<String>,
    /// With --list: the stack `stepback deploy` made, whose state machine to list.
    #[arg(long, value_name = "NAME", requires = "list", group = "machine")]
    stack: Option<String>,
    /// How far back --list goes.
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration, requires = "list")]
    since: Duration,
    #[command(flatten)]
    aws: AwsArgs,
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            errln!("error: cannot start the async runtime: {error}");
            ExitCode::from(IO_ERROR)
        })
}

async fn client(args: &AwsArgs) -> Result<aws_sdk_sfn::Client, FetchError> {
    let session = Session::load(args).await?;
    Ok(aws_sdk_sfn::Client::new(&session.config))
}

fn fetch_error(error: FetchError) -> ExitCode {
    errln!("error: {error}");
    ExitCode::from(IO_ERROR)
}

fn invalid(error: AuditError) -> ExitCode {
    errln!("error: {error}");
    ExitCode::from(INVALID)
}

pub fn run(args: &Args) -> ExitCode {
    match audit_or_list(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn audit_or_list(args: &Args) -> Result<(), ExitCode> {
    if args.list {
        return list(
            args.arn.as_deref(),
            args.stack.as_deref(),
            args.since,
            &args.aws,
        );
    }
    let bundle = match (&args.execution_arn, &args.history) {
        (Some(arn), _) => {
            let bundle = runtime()?
                .block_on(async { history::fetch(&client(&args.aws).await?, arn).await })
                .map_err(fetch_error)?;
            if let Some(path) = &args.save_history {
                // Serialising JSON values cannot fail.
                let text = serde_json::to_string_pretty(&bundle).unwrap_or_default();
                write(path, &text)?;
            }
            bundle
        }
        (None, Some(path)) => {
            let mut bundle = Bundle::from_json(&crate::report::read(path)?).map_err(invalid)?;
            if let Some(path) = &args.definition {
                bundle.definition = Some(definition(&crate::report::read(path)?)?);
            }
            bundle
        }
        (None, None) => {
            errln!("error: give an execution ARN, --history FILE, or --list");
            return Err(ExitCode::from(IO_ERROR));
        }
    };
    let report = History::from_bundle(bundle)
        .and_then(|history| audit::audit(&history))
        .map_err(invalid)?;
    let text = match args.format {
        Format::Text => audit::render::text(&report),
        Format::Md => audit::render::markdown(&report),
        Format::Html => audit::render::html(&report),
        Format::Json => audit::render::json(&report),
    };
    match &args.output {
        Some(path) => write(path, &text),
        None => {
            out!("{text}");
            Ok(())
        }
    }
}

/// Writes atomically and says so (`compile`'s writer).
fn write(path: &std::path::Path, text: &str) -> Result<(), ExitCode> {
    let code = crate::compile::write(path, text);
    if code == ExitCode::SUCCESS {
        Ok(())
    } else {
        Err(code)
    }
}

/// An ASL definition, or `describe-state-machine(-for-execution)` output whose `definition` holds one.
fn definition(text: &str) -> Result<Value, ExitCode> {
    let value: Value = serde_json::from_str(text).map_err(|error| {
        errln!("error: the definition is not JSON: {error}");
        ExitCode::from(INVALID)
    })?;
    Ok(match value.get("definition") {
        Some(inner) => inner.clone(),
        None => value,
    })
}

/// The executions of the state machine `arn` names, or of the one `stack` holds.
fn list(
    arn: Option<&str>,
    stack: Option<&str>,
    since: Duration,
    aws: &AwsArgs,
) -> Result<(), ExitCode> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let since_ms = i64::try_from(now.saturating_sub(since.as_millis())).unwrap_or(0);
    let runtime = runtime()?;
    let lines = runtime
        .block_on(async {
            let session = Session::load(aws).await?;
            let state_machine = match (arn, stack) {
                (Some(arn), _) => arn.to_owned(),
                (None, Some(stack)) => cli::stack::state_machine_arn(&session, stack).await?,
                // clap requires one of them with --list.
                (None, None) => return Ok(Vec::new()),
            };
            let client = aws_sdk_sfn::Client::new(&session.config);
            let listed = history::list(&client, &state_machine, since_ms).await?;
            let mut lines = Vec::with_capacity(listed.len());
            for execution in listed {
                // One execution that cannot be read does not hide the others.
                let report = match history::fetch(&client, &execution.arn).await {
                    Ok(bundle) => History::from_bundle(bundle)
                        .and_then(|h| audit::audit(&h))
                        .ok(),
                    Err(_) => None,
                };
                lines.push(line(&execution, report.as_ref()));
            }
            Ok::<_, FetchError>(lines)
        })
        .map_err(fetch_error)?;
    if lines.is_empty() {
        errln!("no executions since {}", humantime::format_duration(since));
    }
    for line in lines {
        outln!("{line}");
    }
    Ok(())
}

fn line(execution: &history::Listed, report: Option<&Report>) -> String {
    let trigger = match report.map(|r| &r.trigger) {
        Some(Trigger::Alarm { name, .. }) => format!("alarm {name}"),
        Some(Trigger::Manual { .. }) => "manual".to_owned(),
        None => "-".to_owned(),
    };
    let duration = report
        .and_then(|r| r.execution.duration_ms)
        .map_or_else(|| "-".to_owned(), audit::render::duration);
    let failed = report
        .and_then(|r| r.failure.as_ref())
        .map(|f| match &f.step {
            Some(step) => format!("failed at {step}"),
            None => "failed outside a step".to_owned(),
        })
        .unwrap_or_default();
    format!(
        "{}  {}  {}  {}  {}  {}",
        execution.name,
        execution.status,
        trigger,
        audit::history::format_time(execution.start),
        duration,
        failed
    )
    .trim_end()
    .to_owned()
}
