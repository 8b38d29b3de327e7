//! `stepback rehearse`: run the whole rollback on this machine, the real Lambdas included, with no AWS account.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cli::approval::Decision;
use cli::execution;
use cli::rehearsal::{self, Event, Plan, Rehearsal};

use crate::output::{self, errln, outln};
use crate::progress::{Progress, human, simulated};
use crate::report::{self, INVALID, IO_ERROR};

/// For the tests that run `stepback rehearse` as a process: a file to write every request the handlers sent and
/// every Lambda Invoke answered (`Rehearsal::sent`), as JSON, for the model check.
const SAVE_REQUESTS: &str = "STEPBACK_SAVE_REQUESTS";

#[derive(clap::Args)]
pub struct Args {
    /// The workflow to rehearse, e.g. examples/webapp-rollback.toml.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// An input, e.g. --input restore_data=true; repeatable. Built and checked as `stepback start` does.
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = crate::start::parse_pair)]
    inputs: Vec<(String, String)>,
    /// An emulator already running, instead of a moto server started and stopped by the rehearsal: moto
    /// started with MOTO_PORT=PORT (and this rehearsal given --lambda-port PORT) and MOTO_ECS_SERVICE_RUNNING=2
    /// (else its services run no task, and the rehearsal refuses it). Its state is reset first. E.g.
    /// `MOTO_PORT=8124 MOTO_ECS_SERVICE_RUNNING=2 moto_server -p 5000 & stepback rehearse FILE --endpoint
    /// http://127.0.0.1:5000 --lambda-port 8124`.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// With --endpoint: the loopback port to serve the Lambda Invoke API on, the MOTO_PORT the emulator was
    /// started with (its interpreter invokes Lambda there).
    #[arg(long, value_name = "PORT", requires = "endpoint")]
    lambda_port: Option<u16>,
    /// How many times faster than real time the rollback's waits, approval timeouts and retry intervals run
    /// (a Lambda invocation's timeout stays: the handler runs in real time).
    #[arg(long, default_value_t = rehearsal::DEFAULT_SPEED, value_parser = clap::value_parser!(u64).range(1..))]
    speed: u64,
    /// Approve these approval steps when they wait (`all`: every one); repeatable.
    #[arg(long, value_name = "all|STEP", num_args = 1..)]
    approve: Vec<String>,
    /// Reject this approval step when it waits, to rehearse the failure path; repeatable.
    #[arg(long, value_name = "STEP")]
    reject: Vec<String>,
    /// Make this step's AWS calls fail with the AWS error its handler reports as ERROR (default
    /// Stepback.Failed: AccessDenied), to rehearse the failure path and the [on_failure] steps; repeatable.
    /// A step whose action calls no AWS API (check.http) reports ERROR from its Lambda without running.
    /// E.g. --fail backup_db=Stepback.Precondition.
    #[arg(long, value_name = "STEP[=ERROR]")]
    fail: Vec<String>,
    /// Hold this step's long operation in progress for DURATION of simulated time (real time divided by
    /// --speed), since the emulator's operations finish at once: its poll reads an in-progress status (a
    /// snapshot `creating`, a rollout `IN_PROGRESS`, an EKS Deployment whose replicas stay un-updated) until
    /// then, to rehearse the polling loop. Every AWS call
    /// is still made; repeatable. E.g. --slow backup_db=10m.
    #[arg(long, value_name = "STEP=DURATION", value_parser = slow)]
    slow: Vec<(String, Duration)>,
    /// Inject faults into a fraction P (0 to 1) of the handlers' AWS calls: throttling, 5xx answers, and
    /// replies dropped after the emulator acted on the call. The rehearsal's own calls (the world, the stack,
    /// the execution's history) are not faulted. The output counts the faults. E.g. --chaos 0.2 --seed 7.
    #[arg(long, value_name = "P", value_parser = probability)]
    chaos: Option<f64>,
    /// The seed that picks the calls --chaos faults: the same seed faults the same calls (default: drawn, and
    /// printed so that the run can be replayed).
    #[arg(long, value_name = "N", requires = "chaos")]
    seed: Option<u64>,
    /// Make this check step find what it looks for, so that it fails and the failure path runs: a check.logs
    /// step gets lines matching its pattern in its log groups (one more than its threshold), a check.alarms step
    /// its alarms in the state it does not wait for; repeatable. E.g. --breach alarms_clear.
    #[arg(long, value_name = "STEP")]
    breach: Vec<String>,
    /// Start the execution from the event of this [trigger] alarm going into ALARM, as the trigger's rule
    /// passes it on (the inputs from [trigger].input), instead of from --input; repeatable: each starts one more
    /// execution after the previous one ended, which the trigger's cooldown holds back. E.g.
    /// --alarm-event webapp-5xx-rate --alarm-event webapp-5xx-rate.
    #[arg(long, value_name = "ALARM")]
    alarm_event: Vec<String>,
    /// After the deploy, take out of the world what this step needs (its snapshot deleted, its target group's
    /// targets deregistered, its DB instance stopped), then show a readiness run finding it not ready, the
    /// readiness alarm going to ALARM and the notice naming the step, then the fix put back and the alarm OK
    /// again; then the rollback runs. Needs [readiness]. E.g. --drift backup_db.
    #[arg(long, value_name = "STEP")]
    drift: Option<String>,
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
        let Some(name) = catalog::ErrorName::from_name(error) else {
            errln!(
                "error: --fail {text}: `{error}` is not an error a step reports\n  help: one of {}",
                catalog::ErrorName::ALL
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::from(INVALID);
        };
        if rehearsal::calls_aws(&workflow, step)
            && rehearsal_front::faults::aws_error(name).is_none()
        {
            errln!(
                "error: --fail {text}: no AWS answer makes a step report `{error}`\n  help: an AWS answer fails a step with one of {}; --reject STEP rehearses a rejection, and --slow STEP=DURATION past the step's timeout a timeout",
                catalog::ErrorName::ALL
                    .iter()
                    .filter(|e| rehearsal_front::faults::aws_error(**e).is_some())
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::from(INVALID);
        }
        fail.push((step.to_owned(), name));
    }
    for (step, _) in &args.slow {
        if !steps.contains(&step.as_str()) {
            errln!(
                "error: --slow {step}: the workflow has no step `{step}`\n  help: its steps are {}",
                steps.join(", ")
            );
            return ExitCode::from(INVALID);
        }
        if !rehearsal::slowable(&workflow, step) {
            let slowable: Vec<&str> = steps
                .iter()
                .copied()
                .filter(|s| rehearsal::slowable(&workflow, s))
                .collect();
            let help = if slowable.is_empty() {
                "none of this workflow's steps polls an AWS status that --slow can hold".to_owned()
            } else {
                format!("the steps --slow can hold are {}", slowable.join(", "))
            };
            errln!(
                "error: --slow {step}: step `{step}` polls no AWS status that --slow can hold in progress\n  help: {help}"
            );
            return ExitCode::from(INVALID);
        }
    }
    for step in &args.breach {
        let action = workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .find(|s| &s.id == step)
            .map(|s| s.action.name);
        if !action.is_some_and(|a| cli::world::BREACHABLE.contains(&a)) {
            let breachable: Vec<&str> = workflow
                .steps
                .iter()
                .filter(|s| cli::world::BREACHABLE.contains(&s.action.name))
                .map(|s| s.id.as_str())
                .collect();
            errln!(
                "error: --breach {step}: the workflow has no {} step `{step}`\n  help: the steps --breach can make fail are {}",
                cli::world::BREACHABLE.join(" or "),
                if breachable.is_empty() {
                    "none".to_owned()
                } else {
                    breachable.join(", ")
                }
            );
            return ExitCode::from(INVALID);
        }
    }
    let alarms: &[String] = workflow.trigger.as_ref().map_or(&[], |t| &t.alarms);
    for alarm in &args.alarm_event {
        if !alarms.contains(alarm) {
            errln!(
                "error: --alarm-event {alarm}: `{alarm}` does not start this workflow\n  help: {}",
                if alarms.is_empty() {
                    "the workflow has no [trigger]; add one with `alarms = [...]`".to_owned()
                } else {
                    format!("its [trigger] alarms are {}", alarms.join(", "))
                }
            );
            return ExitCode::from(INVALID);
        }
    }
    if let Some(step) = &args.drift {
        let driftable: Vec<&str> = workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .filter(|s| cli::drift::driftable(s))
            .map(|s| s.id.as_str())
            .collect();
        let problem = if workflow.readiness.is_none() {
            Some((
                "the workflow's [readiness] is off, so nothing would find it".to_owned(),
                "remove `enabled = false` from [readiness]".to_owned(),
            ))
        } else if !driftable.contains(&step.as_str()) {
            Some((
                format!(
                    "step `{step}` needs nothing the rehearsal can take ({})",
                    cli::drift::KINDS
                ),
                if driftable.is_empty() {
                    "none of this workflow's steps does".to_owned()
                } else {
                    format!(
                        "the steps --drift can take from are {}",
                        driftable.join(", ")
                    )
                },
            ))
        } else {
            None
        };
        if let Some((problem, help)) = problem {
            errln!("error: --drift {step}: {problem}\n  help: {help}");
            return ExitCode::from(INVALID);
        }
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
    let chaos = args
        .chaos
        .map(|probability| rehearsal_front::faults::Chaos {
            probability,
            seed: args.seed.unwrap_or_else(|| fastrand::u64(..1_000_000)),
        });
    let plan = Plan {
        workflow,
        source,
        input,
        speed,
        endpoint: args.endpoint.clone(),
        fail,
        slow: args.slow.clone(),
        chaos,
        breach: args.breach.clone(),
        lambda_port: args.lambda_port,
    };
    let result = crate::runtime::block_on(async {
        outln!("rehearsing {name} in the AWS emulator, with the real Lambda handlers");
        if let Some(chaos) = chaos {
            outln!(
                "chaos: faults in a fraction {} of the handlers' AWS calls, seed {} (replay with --seed {})",
                chaos.probability,
                chaos.seed,
                chaos.seed
            );
        }
        let rehearsal = Rehearsal::prepare(plan, |event| show(&event, &progress)).await?;
        outln!(
            "time runs {speed}x: a {} wait takes {}",
            human(Duration::from_secs(5 * 60)),
            human(rehearsal::real(Duration::from_secs(5 * 60), speed))
        );
        for (step, held) in &args.slow {
            outln!(
                "{step} held in progress for {} ({} real)",
                human(*held),
                human(rehearsal::real(*held, speed))
            );
        }
        if let Some(step) = &args.drift {
            let drift = rehearsal.drift(step).await?;
            outln!("drift: {}", drift.taken);
            show_readiness(&rehearsal.check_readiness().await?);
            rehearsal.mend(&drift).await?;
            outln!("fix: {}", drift.fix);
            show_readiness(&rehearsal.check_readiness().await?);
        } else if !args.alarm_event.is_empty() {
            // The trigger is deployed disabled: armed, as in an account, by a readiness run (or preflight).
            let (run, armed) = rehearsal.arm_trigger().await?;
            match run {
                Some(run) => show_readiness(&run),
                None => outln!(
                    "preflight: {}",
                    if armed {
                        "every step can run; the alarm trigger is armed"
                    } else {
                        "not every step can run; the alarm trigger stays disabled"
                    }
                ),
            }
        }
        let mut alarms = args.alarm_event.iter();
        let first = alarms.next();
        let decide_first = |step: &str| progress.suspend(|| decide(args, step));
        let outcome = match first {
            Some(alarm) => {
                outln!("started by the event of alarm {alarm} going into ALARM");
                rehearsal
                    .run_alarm_event(alarm, decide_first, |event| show(&event, &progress))
                    .await
            }
            None => {
                rehearsal
                    .run(decide_first, |event| show(&event, &progress))
                    .await
            }
        };
        progress.finish(match &outcome {
            Ok(outcome) if outcome.succeeded => "succeeded",
            _ => "failed",
        });
        let outcome = outcome?;
        if let Some(held) = &outcome.held_back {
            outln!(
                "held back, nothing rolled back: {}: {}",
                held.ended,
                held.because
            );
        }
        // Each further alarm event after the previous execution ended: the trigger's cooldown.
        for alarm in alarms {
            let again = rehearsal
                .run_alarm_event(alarm, |step| decide(args, step), |_| {})
                .await?;
            match &again.held_back {
                Some(held) => outln!(
                    "alarm {alarm} again: held back, nothing rolled back: {}: {}",
                    held.ended,
                    held.because
                ),
                None => outln!(
                    "alarm {alarm} again: {} ({})",
                    if again.succeeded {
                        "succeeded"
                    } else {
                        "failed"
                    },
                    again.execution
                ),
            }
        }
        let world = rehearsal.world_state().await;
        if let Some(path) = std::env::var_os(SAVE_REQUESTS) {
            let requests = serde_json::to_string(&rehearsal.sent()).unwrap_or_default();
            // `write` says on standard error whether it wrote.
            crate::compile::write(&PathBuf::from(path), &requests);
        }
        Ok::<_, rehearsal::RehearseError>((outcome, world, rehearsal.faults()))
    });
    let (outcome, world, faults) = match result {
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
    if chaos.is_some() || !args.fail.is_empty() {
        outln!("{}", injected(&faults));
    }
    if chaos.is_some() {
        for line in absorbed(&faults, &outcome.report) {
            outln!("{line}");
        }
    }
    outln!();
    outln!("{}", audit::render::text(&outcome.report).trim_end());
    outln!();
    outln!("the world after the rollback:");
    let rows = world.iter().flat_map(|line| {
        // A resource's further states stand under its first.
        let mut states = line.state.lines();
        let first = [line.resource.as_str(), states.next().unwrap_or_default()];
        std::iter::once(first).chain(states.map(|more| ["", more]))
    });
    for line in output::columns(rows) {
        outln!("  {line}");
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
    output::confirm(&format!("approve step `{step}`?")).map(|yes| {
        if yes {
            Decision::Approve
        } else {
            Decision::Reject
        }
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

/// A readiness run: its verdict, the readiness alarm's state, and each notice the topic received, indented.
fn show_readiness(run: &rehearsal::ReadinessRun) {
    let verdict = if run.ready {
        "ready".to_owned()
    } else {
        format!("not ready: {}", run.not_ready.join(", "))
    };
    let alarm = &run.alarm;
    let state = if alarm.before == alarm.now {
        format!("stays {}", alarm.now)
    } else {
        format!("{} -> {}", alarm.before, alarm.now)
    };
    outln!("readiness run: {verdict}; alarm {}: {state}", alarm.alarm);
    for (subject, message) in &run.notices {
        outln!("  notice \"{subject}\":");
        for line in message.lines() {
            outln!("    {line}");
        }
    }
}

/// The faults injected, by kind, among the handlers' calls.
fn injected(counts: &rehearsal_front::faults::Counts) -> String {
    let mut kinds: Vec<String> = rehearsal_front::faults::Fault::ALL
        .iter()
        .map(|fault| {
            let n = counts.faults.get(fault).copied().unwrap_or(0);
            format!("{n} {}", fault.describe())
        })
        .collect();
    if counts.failed > 0 {
        kinds.push(format!("{} failed by --fail", counts.failed));
    }
    format!(
        "faults injected into the handlers' {} AWS calls: {}",
        counts.calls,
        kinds.join(", ")
    )
}

/// Per step that met a fault or was retried, in DAG order: the faults its handler's calls met (the SDK retries
/// a faulted call within the handler) and the state machine's retries of the step (a call that still failed).
fn absorbed(counts: &rehearsal_front::faults::Counts, report: &audit::Report) -> Vec<String> {
    let rows = report.steps.iter().filter_map(|step| {
        let faults = counts.by_step.get(&step.id);
        let met: usize = faults.map_or(0, |f| f.values().sum());
        let retries = step.retries.len();
        if met == 0 && retries == 0 {
            return None;
        }
        let kinds: Vec<String> = faults
            .into_iter()
            .flatten()
            .map(|(fault, n)| format!("{n} {}", fault.describe()))
            .collect();
        let faults = if kinds.is_empty() {
            "no fault".to_owned()
        } else {
            kinds.join(", ")
        };
        let retried = match retries {
            0 => "no retry".to_owned(),
            1 => "retried once".to_owned(),
            n => format!("retried {n} times"),
        };
        let outcome = format!("{faults}; {retried} ({})", step.outcome.label());
        Some([step.id.clone(), outcome])
    });
    output::columns(rows)
        .into_iter()
        .map(|line| format!("  {line}"))
        .collect()
}

/// `--slow`'s STEP=DURATION, e.g. `backup_db=10m`.
fn slow(text: &str) -> Result<(String, Duration), String> {
    let Some((step, duration)) = text.split_once('=') else {
        return Err(format!("`{text}` is not STEP=DURATION, e.g. backup_db=10m"));
    };
    let duration = humantime::parse_duration(duration)
        .map_err(|e| format!("`{duration}` is not a duration, e.g. 10m: {e}"))?;
    Ok((step.to_owned(), duration))
}

/// `--chaos`'s fraction of calls: a number from 0 to 1.
fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{text}` is not a fraction from 0 to 1, e.g. 0.2")),
    }
}
