//! `stepback preflight`: before an incident, run every step's read-only check in its deployed function, and
//! print per step and resource whether the rollback can run.

use std::path::PathBuf;
use std::process::ExitCode;

use cli::aws::{AwsArgs, Session};
use cli::readiness::{self, Outcome, StepCheck};

use crate::output::{columns, errln, outln};
use crate::report::{self, INVALID, IO_ERROR};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(true).args(["file", "stack"])))]
pub struct Args {
    /// The workflow: its steps and params, and its `[input]` defaults; without it, the workflow the stack was
    /// deployed from, which `stepback deploy` keeps in the stack's template.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// The stack `stepback deploy` made; default: the workflow's name.
    #[arg(long)]
    stack: Option<String>,
    /// An input, e.g. --input restore_snapshot=webapp-db-0312; repeatable. A param from an input that has no
    /// value (given or default) is not yet knowable.
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = crate::start::parse_pair)]
    inputs: Vec<(String, String)>,
    #[command(flatten)]
    aws: AwsArgs,
}

pub fn run(args: &Args) -> ExitCode {
    let from_file = match &args.file {
        Some(file) => match report::load(file) {
            Ok(workflow) => Some(workflow),
            Err(code) => return code,
        },
        None => None,
    };
    let result = crate::runtime::block_on(async {
        let session = Session::load(&args.aws).await?;
        let (workflow, stack) = match (from_file, &args.stack) {
            (Some(workflow), stack) => {
                let stack = stack.clone().unwrap_or_else(|| workflow.name.clone());
                (workflow, stack)
            }
            (None, Some(stack)) => {
                let source = cli::stack::deployed_workflow(&session, stack).await?;
                match report::deployed(stack, &source) {
                    Ok(workflow) => (workflow, stack.clone()),
                    Err(code) => return Ok(Err(code)),
                }
            }
            // clap's group requires one of them.
            (None, None) => return Ok(Err(ExitCode::from(IO_ERROR))),
        };
        let input = match cli::execution::known_input(&workflow, &args.inputs, None) {
            Ok(input) => input,
            Err(problems) => {
                for problem in problems {
                    errln!("{problem}");
                }
                return Ok(Err(ExitCode::from(INVALID)));
            }
        };
        let steps = readiness::preflight(&session, &workflow, &input, &stack).await?;
        // Every step that runs can start: the alarm trigger, deployed disabled, may start a rollback now.
        let trigger = match readiness::trigger(&session, &stack).await? {
            Some(trigger) if steps.iter().all(StepCheck::passes) => {
                let armed_now = readiness::arm(&session, &trigger).await?;
                Some((trigger, armed_now))
            }
            other => other.map(|trigger| (trigger, false)),
        };
        Ok::<_, cli::aws::AwsError>(Ok((steps, trigger)))
    });
    let (steps, trigger) = match result {
        Ok(Ok(Ok(found))) => found,
        Ok(Ok(Err(code))) | Err(code) => return code,
        Ok(Err(error)) => {
            errln!("error: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    print(&steps);
    match trigger {
        Some((trigger, true)) => outln!(
            "alarm trigger: armed now (EventBridge rule `{}` enabled): its alarms start the rollback",
            trigger.rule
        ),
        Some((trigger, false)) if trigger.armed => {
            outln!("alarm trigger: armed (EventBridge rule `{}`)", trigger.rule);
        }
        Some((trigger, false)) => outln!(
            "alarm trigger: stays disabled (EventBridge rule `{}`) until every step can run",
            trigger.rule
        ),
        None => {}
    }
    if steps.iter().all(StepCheck::passes) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INVALID)
    }
}

/// The table of what each step's check found, then the verdict: `stepback readiness` prints it too.
pub(crate) fn print(steps: &[StepCheck]) {
    let mut rows = vec![[
        "step".to_owned(),
        "status".to_owned(),
        "resource".to_owned(),
    ]];
    for step in steps {
        match &step.outcome {
            Outcome::Skipped => rows.push([
                step.step.clone(),
                "skipped".to_owned(),
                "its `when` is false with this input".to_owned(),
            ]),
            Outcome::Checked(findings) => {
                for (i, finding) in findings.iter().enumerate() {
                    let name = if i == 0 { step.step.as_str() } else { "" };
                    rows.push([
                        name.to_owned(),
                        finding.verdict.as_str().to_owned(),
                        format!("{}: {}", finding.resource, finding.detail),
                    ]);
                    if !finding.fix.is_empty() {
                        rows.push([
                            String::new(),
                            String::new(),
                            format!("fix: {}", finding.fix),
                        ]);
                    }
                }
            }
        }
    }
    for line in columns(rows) {
        outln!("{line}");
    }
    let failing: Vec<&str> = steps
        .iter()
        .filter(|s| !s.passes())
        .map(|s| s.step.as_str())
        .collect();
    if failing.is_empty() {
        outln!("\nready: every step that runs with this input can start");
    } else {
        outln!(
            "\nnot ready: {} of {} steps: {}",
            failing.len(),
            steps.len(),
            failing.join(", ")
        );
    }
}
