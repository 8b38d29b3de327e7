//! `stepback start`: build the typed input, start an execution, and optionally follow it step by step.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cli::aws::{AwsArgs, AwsError, Session};
use cli::execution;
use serde_json::Value as Json;

use crate::output::{errln, outln};
use crate::progress::Progress;
use crate::report::{self, INVALID, IO_ERROR};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(true).args(["file", "stack", "arn"])))]
pub struct Args {
    /// The workflow: its `[input]` types and defaults build the input; without --stack or --arn, the state
    /// machine named after it in the caller's account and region.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// The stack `stepback deploy` made; its StateMachineArn output. Without FILE, the workflow it was deployed
    /// from (kept in its template) checks the input.
    #[arg(long)]
    stack: Option<String>,
    /// The state machine ARN.
    #[arg(long, value_name = "STATE_MACHINE_ARN")]
    arn: Option<String>,
    /// An input, e.g. --input to_version=v41 --input restore_data=true; repeatable.
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = parse_pair)]
    inputs: Vec<(String, String)>,
    /// A JSON object of inputs; --input overrides its keys.
    #[arg(long, value_name = "FILE")]
    input_file: Option<PathBuf>,
    /// The execution name; default: `rollback-<UTC time>-<caller>`.
    #[arg(long)]
    name: Option<String>,
    /// Show each step as it starts, polls, succeeds, is skipped or fails, until the execution ends; exit 0 only
    /// when it succeeds (one the guard held back, because another rollback runs or one just ran, exits 1).
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

pub fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

pub fn run(args: &Args) -> ExitCode {
    let file_input = match &args.input_file {
        Some(path) => match report::read(path).map(|t| serde_json::from_str::<Json>(&t)) {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                errln!("error: {} is not JSON: {error}", path.display());
                return ExitCode::from(INVALID);
            }
            Err(code) => return code,
        },
        None => None,
    };
    let workflow = match (&args.file, &args.stack, &args.arn) {
        (Some(file), _, _) => match report::load(file) {
            Ok(workflow) => Some(workflow),
            Err(code) => return code,
        },
        // The workflow the stack was deployed from (its template's metadata, as `preflight --stack` reads
        // it): its `[input]` checks the input before the execution starts.
        (None, Some(stack), None) => {
            let source = crate::runtime::block_on(async {
                let session = Session::load(&args.aws).await?;
                cli::stack::deployed_workflow(&session, stack).await
            });
            match source {
                Ok(Ok(source)) => match report::deployed(stack, &source) {
                    Ok(workflow) => Some(workflow),
                    Err(code) => return code,
                },
                Ok(Err(error)) => {
                    errln!("error: {error}");
                    return ExitCode::from(IO_ERROR);
                }
                Err(code) => return code,
            }
        }
        (None, _, _) => None,
    };
    // Refused before any AWS call (with `--stack` alone, before any but GetTemplate): the same codes as `check`.
    let input = match &workflow {
        Some(workflow) => {
            match execution::build_input(workflow, &args.inputs, file_input.as_ref()) {
                Ok(input) => input,
                Err(problems) => {
                    for problem in problems {
                        errln!("{problem}");
                    }
                    return ExitCode::from(INVALID);
                }
            }
        }
        // Without the workflow, values go as JSON where they parse; the machine checks the types.
        None => {
            let mut object = file_input
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            for (key, text) in &args.inputs {
                let value =
                    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.clone()));
                object.insert(key.clone(), value);
            }
            Json::Object(object)
        }
    };
    let target = match (&args.arn, &args.stack, &workflow) {
        (Some(arn), _, _) => Target::Arn(arn),
        (None, Some(stack), _) => Target::Stack(stack),
        (None, None, Some(workflow)) => Target::Named(&workflow.name),
        // clap's group requires one of them.
        (None, None, None) => return ExitCode::from(IO_ERROR),
    };
    let result = crate::runtime::block_on(async {
        let session = Session::load(&args.aws).await?;
        let machine = match target {
            Target::Arn(arn) => arn.to_owned(),
            Target::Stack(stack) => cli::stack::state_machine_arn(&session, stack).await?,
            Target::Named(name) => {
                let caller = cli::aws::caller(&session).await?;
                let region = session
                    .config
                    .region()
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                let partition = compiler::partition::Partition::of_region(&region).name;
                format!(
                    "arn:{partition}:states:{region}:{}:stateMachine:{name}",
                    caller.account
                )
            }
        };
        let name = match &args.name {
            Some(name) => name.clone(),
            None => {
                let caller = cli::aws::caller(&session).await?;
                execution::default_name(caller.short_name(), std::time::SystemTime::now())
            }
        };
        // A person's start is never held back by `[trigger].cooldown`, but they hear about the last rollback.
        let previous = execution::last_ended(&session, &machine)
            .await
            .ok()
            .flatten();
        let arn = execution::start(&session, &machine, &name, &input).await?;
        outln!("started {arn}");
        outln!("  {}", execution::console_url(&arn));
        if let Some(previous) = previous {
            let ago = std::time::SystemTime::now()
                .duration_since(previous.stopped)
                .unwrap_or_default();
            if ago < RECENT {
                outln!(
                    "note: a rollback finished {} minute(s) ago: execution `{}`, {}",
                    ago.as_secs() / 60,
                    previous.name,
                    previous.status
                );
            }
        }
        if !args.follow {
            return Ok(true);
        }
        follow(&session, &arn).await
    });
    match result {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => ExitCode::from(INVALID),
        Ok(Err(error)) => {
            errln!("error: {error}");
            ExitCode::from(IO_ERROR)
        }
        Err(code) => code,
    }
}

/// How long after an execution's end `start` still mentions it.
const RECENT: Duration = Duration::from_secs(24 * 60 * 60);

/// Which state machine to start.
enum Target<'a> {
    Arn(&'a str),
    Stack(&'a str),
    /// The workflow's name, in the caller's account and region.
    Named(&'a str),
}

/// Shows each step event as it appears in the history (as `rehearse` does: live on a terminal); whether the
/// execution succeeded.
async fn follow(session: &Session, execution: &str) -> Result<bool, AwsError> {
    let manifest = execution::manifest(session, execution).await?;
    let steps = manifest
        .iter()
        .flat_map(|m| &m.steps)
        .map(|s| s.id.clone())
        .collect();
    let progress = Progress::new(steps, None);
    progress.start();
    let mut shown = 0;
    let mut followed = execution::Followed::default();
    loop {
        if let Err(error) = followed.update(session, execution).await {
            progress.finish("stopped following");
            return Err(error);
        }
        let events = followed.events();
        if let Some(manifest) = &manifest {
            let steps = followed.step_events(manifest);
            for (step, event, at) in steps.iter().skip(shown) {
                progress.step(step, event, *at);
            }
            shown = steps.len();
        }
        let end = execution::ended(events);
        if let Some(succeeded) = end {
            progress.finish(if succeeded { "ended" } else { "failed" });
            // A held-back execution succeeds as a machine but rolled nothing back: not a success to report.
            let output = events
                .iter()
                .rev()
                .find_map(|e| e.execution_succeeded_event_details())
                .and_then(|d| d.output());
            if let Some(held) = output.and_then(execution::held_back) {
                outln!(
                    "held back, nothing rolled back: {}: {}",
                    held.ended,
                    held.because
                );
                return Ok(false);
            }
            outln!("{}", if succeeded { "succeeded" } else { "failed" });
            return Ok(succeeded);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
