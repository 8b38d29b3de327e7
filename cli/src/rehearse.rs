//! `stepback rehearse`: run the whole rollback on this machine, the real Lambdas included, with no AWS account.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cli::approval::Decision;
use cli::execution;
use cli::rehearsal::{self, Event, Plan, Rehearsal};

use crate::output::{errln, outln};
use crate::progress::{Progress, human, simulated};
use crate::report::{self, INVALID, IO_ERROR};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow to rehearse, e.g. examples/webapp-rollback.toml.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// An input, e.g. --input restore_data=true; repeatable. Built and checked as `stepback start` does.
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = crate::start::parse_pair)]
    inputs: Vec<(String, String)>,
    /// An emulator already running (moto started with MOTO_PORT naming a server that runs the Lambda code, or
    /// LocalStack), instead of a moto server started and stopped by the rehearsal.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// How many times faster than real time the rollback's waits, timeouts and retry intervals run.
    #[arg(long, default_value_t = rehearsal::DEFAULT_SPEED, value_parser = clap::value_parser!(u64).range(1..))]
    speed: u64,
    /// Approve these approval steps when they wait (`all`: every one); repeatable.
    #[arg(long, value_name = "all|STEP", num_args = 1..)]
    approve: Vec<String>,
    /// Reject this approval step when it waits, to rehearse the failure path; repeatable.
    #[arg(long, value_name = "STEP")]
    reject: Vec<String>,
    /// Make this step's operation fail with ERROR (default Stepback.Failed), to rehearse the failure path and
    /// the [on_failure] steps; repeatable.
    #[arg(long, value_name = "STEP[=ERROR]")]
    fail: Vec<String>,
    /// Also write the execution's HTML audit to FILE.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
}

pub fn run(args: &Args) -> ExitCode {
    let (source, workflow) = match report::load_with_source(&args.file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let input = match execution::build_input(&workflow, &args.inputs, None) {
        Ok(input) => input,
        Err(problems) => {
            for problem in problems {
                errln!("{problem}");
            }
            return ExitCode::from(INVALID);
        }
    };
    let steps: Vec<&str> = workflow
        .steps
        .iter()
        .chain(&workflow.on_failure)
        .map(|s| s.id.as_str())
        .collect();
    let mut fail = Vec::new();
    for text in &args.fail {
        let (step, error) = text
            .split_once('=')
            .unwrap_or((text, catalog::ErrorName::Failed.as_str()));
        if !steps.contains(&step) {
            errln!(
                "error: --fail {text}: the workflow has no step `{step}`\n  help: its steps are {}",
                steps.join(", ")
            );
            return ExitCode::from(INVALID);
        }
        if catalog::ErrorName::from_name(error).is_none() {
            errln!(
                "error: --fail {text}: `{error}` is not an error a step reports\n  help: one of {}",
                catalog::ErrorName::ALL
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::from(INVALID);
        }
        fail.push((step.to_owned(), error.to_owned()));
    }
    for step in args.approve.iter().chain(&args.reject) {
        if step != "all" && !steps.contains(&step.as_str()) {
            errln!(
                "error: the workflow has no step `{step}`\n  help: its steps are {}",
                steps.join(", ")
            );
            return ExitCode::from(INVALID);
        }
    }
    let name = workflow.name.clone();
    let speed = args.speed;
    let progress = Progress::new(steps.iter().map(|s| (*s).to_owned()).collect(), Some(speed));
    let plan = Plan {
        workflow,
        source,
        input,
        speed,
        endpoint: args.endpoint.clone(),
        fail,
    };
    let result = crate::runtime::block_on(async {
        outln!("rehearsing {name} in the AWS emulator, with the real Lambda handlers");
        let rehearsal = Rehearsal::prepare(plan, |event| show(&event, &progress)).await?;
        outln!(
            "time runs {speed}x: a {} wait takes {}",
            human(Duration::from_secs(5 * 60)),
            human(Duration::from_secs(5 * 60) / u32::try_from(speed).unwrap_or(u32::MAX))
        );
        let outcome = rehearsal
            .run(
                |step| progress.suspend(|| decide(args, step)),
                |event| show(&event, &progress),
            )
            .await;
        progress.finish(match &outcome {
            Ok(outcome) if outcome.succeeded => "succeeded",
            _ => "failed",
        });
        let outcome = outcome?;
        let world = rehearsal.world_state().await;
        Ok::<_, rehearsal::RehearseError>((outcome, world))
    });
    let (outcome, world) = match result {
        Ok(Ok(done)) => done,
        Ok(Err(error)) => {
            errln!("error: {error}");
            return ExitCode::from(IO_ERROR);
        }
        Err(code) => return code,
    };
    let verdict = if outcome.succeeded {
        "succeeded"
    } else {
        "failed"
    };
    outln!(
        "{verdict} in {} (simulated {})",
        human(outcome.took),
        human(simulated(outcome.took, speed))
    );
    outln!();
    outln!("{}", audit::render::text(&outcome.report).trim_end());
    outln!();
    outln!("the world after the rollback:");
    let width = world.iter().map(|l| l.resource.len()).max().unwrap_or(0);
    for line in &world {
        outln!("  {:<width$}  {}", line.resource, line.state);
    }
    if let Some(path) = &args.audit {
        let code = crate::compile::write(path, &audit::render::html(&outcome.report));
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    if outcome.succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INVALID)
    }
}

/// The flags' answer, else a question on a terminal; `None` when nothing answers.
fn decide(args: &Args, step: &str) -> Option<Decision> {
    if args.reject.iter().any(|s| s == step) {
        return Some(Decision::Reject);
    }
    if args.approve.iter().any(|s| s == "all" || s == step) {
        return Some(Decision::Approve);
    }
    if !std::io::stdin().is_terminal() {
        return None;
    }
    eprint!("approve step `{step}`? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(if matches!(answer.trim(), "y" | "Y" | "yes") {
        Decision::Approve
    } else {
        Decision::Reject
    })
}

/// The rehearsal's preparation in plain lines; the execution's steps as `progress` shows them.
fn show(event: &Event, progress: &Progress) {
    match event {
        Event::Emulator {
            endpoint,
            started,
            took,
        } => {
            if *started {
                outln!("emulator: moto on {endpoint}, started in {}", human(*took));
            } else {
                outln!("emulator: {endpoint}");
            }
        }
        Event::Made(what) => outln!("world: {what}"),
        Event::Deployed { stack, took } => outln!("stack {stack}: deployed in {}", human(*took)),
        Event::Started { execution } => {
            outln!("execution {execution}");
            progress.start();
        }
        Event::Step {
            step,
            event,
            elapsed,
        } => progress.step(step, event, *elapsed),
        Event::Answered { step, decision } => progress.answered(step, *decision),
    }
}
