//! `stepback readiness`: whether the deployed rollback could run now (each step's check, as the readiness
//! machine runs it), and its last day, from the metrics the readiness runs put.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use cli::aws::{AwsArgs, Session};
use cli::readiness::history::{self, Change, History, Series};
use cli::readiness::{self, StepCheck};

use crate::output::{errln, outln};
use crate::report::{self, INVALID, IO_ERROR};

#[derive(clap::Args)]
pub struct Args {
    /// The stack `stepback deploy` made; its template keeps the workflow it was deployed from.
    #[arg(long)]
    stack: String,
    #[command(flatten)]
    aws: AwsArgs,
}

pub fn run(args: &Args) -> ExitCode {
    let result = crate::runtime::block_on(async {
        let session = Session::load(&args.aws).await?;
        let source = cli::stack::deployed_workflow(&session, &args.stack).await?;
        let workflow = match report::deployed(&args.stack, &source) {
            Ok(workflow) => workflow,
            Err(code) => return Ok(Err(code)),
        };
        let Some(settings) = &workflow.readiness else {
            errln!(
                "error: stack {}: the workflow's [readiness] is off: nothing checks it or keeps its history\n  help: `stepback preflight --stack {}` checks it now",
                args.stack,
                args.stack
            );
            return Ok(Err(ExitCode::from(INVALID)));
        };
        let mut cases = Vec::new();
        for case in compiler::readiness::cases(&workflow) {
            let input = compiler::readiness::case_input(&workflow, case);
            let steps = readiness::preflight(&session, &workflow, &input, &args.stack).await?;
            cases.push((case, steps));
        }
        let trigger = readiness::trigger(&session, &args.stack).await?;
        let steps: Vec<String> = compiler::readiness::checks(&workflow)
            .into_iter()
            .map(|check| check.step)
            .fold(Vec::new(), |mut steps, step| {
                if !steps.contains(&step) {
                    steps.push(step);
                }
                steps
            });
        let history = history::history(
            &session,
            &workflow.name,
            &steps,
            settings.interval_secs,
            SystemTime::now(),
        )
        .await?;
        Ok::<_, cli::aws::AwsError>(Ok((cases, trigger, history)))
    });
    let (cases, trigger, history) = match result {
        Ok(Ok(Ok(found))) => found,
        Ok(Ok(Err(code))) | Err(code) => return code,
        Ok(Err(error)) => {
            errln!("error: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    for (case, steps) in &cases {
        outln!("now, {}:", case.describe());
        crate::preflight::print(steps);
        outln!();
    }
    match trigger {
        Some(trigger) if trigger.armed => {
            outln!("alarm trigger: armed (EventBridge rule `{}`)", trigger.rule);
        }
        Some(trigger) => outln!(
            "alarm trigger: disabled (EventBridge rule `{}`): armed by the first readiness run, or `stepback preflight`, that finds every step ready",
            trigger.rule
        ),
        None => {}
    }
    print_history(&history);
    if cases
        .iter()
        .all(|(_, steps)| steps.iter().all(StepCheck::passes))
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INVALID)
    }
}

/// The day, the whole rollback first, then each step: when it went not ready and came back.
fn print_history(history: &History) {
    outln!(
        "\nthe last day, from {} to {}, per {} (metric {} `{}`, the least of each period):",
        time(history.from),
        time(history.until),
        humantime::format_duration(history.period),
        catalog::readiness::NAMESPACE,
        catalog::readiness::METRIC
    );
    let width = history
        .steps
        .iter()
        .filter_map(|s| s.step.as_deref())
        .map(str::len)
        .chain([ROLLBACK.len()])
        .max()
        .unwrap_or(0);
    for series in std::iter::once(&history.whole).chain(&history.steps) {
        let name = series.step.as_deref().unwrap_or(ROLLBACK);
        outln!("{name:<width$}  {}", summary(series, history.period));
    }
}

/// The whole rollback's line.
const ROLLBACK: &str = "(rollback)";

/// One series in a line: `no run recorded`, `ready in each of its 96 periods with a run`, or its changes in order.
fn summary(series: &Series, period: Duration) -> String {
    if series.verdicts.is_empty() {
        return "no run recorded".to_owned();
    }
    let runs = series.verdicts.len();
    let changes = series.changes(period);
    if series.not_ready_periods() == 0 && changes.len() == 1 {
        return match runs {
            1 => "ready in its one period with a run".to_owned(),
            _ => format!("ready in each of its {runs} periods with a run"),
        };
    }
    let said: Vec<String> = changes
        .iter()
        .map(|change| match change {
            Change::NotReady(at) => format!("not ready at {}", time(*at)),
            Change::Ready(at) => format!("ready at {}", time(*at)),
            Change::NoRun { from, until } => {
                format!("no run from {} to {}", time(*from), time(*until))
            }
        })
        .collect();
    format!(
        "{}; not ready in {} of {runs} periods",
        said.join(", "),
        series.not_ready_periods()
    )
}

fn time(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}
