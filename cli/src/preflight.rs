//! `stepback preflight`: before an incident, run every step's read-only check in its deployed function, and
//! print per step and resource whether the rollback can run.

use std::path::PathBuf;
use std::process::ExitCode;

use catalog::contract::Verdict;
use cli::aws::{AwsArgs, Session};
use cli::readiness::{self, Outcome, StepCheck};

use crate::output::{errln, outln};
use crate::report::{self, INVALID, IO_ERROR};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow: its steps and params, and its `[input]` defaults.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The stack `stepback deploy` made from it; default: the workflow's name.
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
    let workflow = match report::load(&args.file) {
        Ok(workflow) => workflow,
        Err(code) => return code,
    };
    let input = match cli::execution::known_input(&workflow, &args.inputs, None) {
        Ok(input) => input,
        Err(problems) => {
            for problem in problems {
                errln!("{problem}");
            }
            return ExitCode::from(INVALID);
        }
    };
    let stack = args.stack.clone().unwrap_or_else(|| workflow.name.clone());
    let result = crate::runtime::block_on(async {
        let session = Session::load(&args.aws).await?;
        readiness::preflight(&session, &workflow, &input, &stack).await
    });
    let steps = match result {
        Ok(Ok(steps)) => steps,
        Ok(Err(error)) => {
            errln!("error: {error}");
            return ExitCode::from(IO_ERROR);
        }
        Err(code) => return code,
    };
    print(&steps);
    if steps.iter().all(StepCheck::passes) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INVALID)
    }
}

fn print(steps: &[StepCheck]) {
    let width = steps.iter().map(|s| s.step.len()).max().unwrap_or(4).max(4);
    let status_width = Verdict::Unknowable.as_str().len();
    outln!("{:<width$}  {:<status_width$}  resource", "step", "status");
    for step in steps {
        match &step.outcome {
            Outcome::Skipped => outln!(
                "{:<width$}  {:<status_width$}  its `when` is false with this input",
                step.step,
                "skipped"
            ),
            Outcome::Checked(findings) => {
                for (i, finding) in findings.iter().enumerate() {
                    let name = if i == 0 { step.step.as_str() } else { "" };
                    outln!(
                        "{name:<width$}  {:<status_width$}  {}: {}",
                        finding.verdict.as_str(),
                        finding.resource,
                        finding.detail
                    );
                    if !finding.fix.is_empty() {
                        outln!(
                            "{:<width$}  {:<status_width$}  fix: {}",
                            "",
                            "",
                            finding.fix
                        );
                    }
                }
            }
        }
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
