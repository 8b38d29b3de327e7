//! `stepback deploy`: check, compile and template the workflow, upload the Lambda zip, and create or update the
//! stack through a change set, printing its changes and then its events.

use std::path::PathBuf;
use std::process::ExitCode;

use cli::aws::{AwsArgs, Session};
use cli::stack::{self, Change, Deployment, Outcome, Progress};

use crate::output::{self, errln, outln};
use crate::report::{self, INVALID, IO_ERROR};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow to deploy.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The CloudFormation stack to create or update.
    #[arg(long)]
    stack: String,
    /// The Lambda zip; default: what lambdas/README.md's build command writes.
    #[arg(long, value_name = "ZIP", default_value = stack::DEFAULT_ZIP)]
    code: PathBuf,
    /// The S3 bucket for the zip and the template; default: `stepback-artifacts-<account>-<region>`, created
    /// once (versioned, encrypted, public access blocked).
    #[arg(long)]
    bucket: Option<String>,
    /// An ECS task or execution role ARN that the ECS functions may pass (TaskRoleArns), beside those read from
    /// the task definitions that the workflow's services run and tasks start; repeatable.
    #[arg(long = "task-role", value_name = "ARN")]
    task_roles: Vec<String>,
    /// Execute the change set without asking.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

pub fn run(args: &Args) -> ExitCode {
    let (source, workflow) = match report::load_with_source(&args.file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let compiled = match report::compiled(
        &args.file,
        &source,
        &workflow,
        &compiler::Options::default(),
    ) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let template = compiler::template::template(&workflow, &compiled, &source);
    let zip = match std::fs::read(&args.code) {
        Ok(zip) => zip,
        Err(error) => {
            errln!(
                "error: cannot read the Lambda zip {}: {error}\n  help: build it with `{}`, or pass --code",
                args.code.display(),
                stack::BUILD_ZIP
            );
            return ExitCode::from(IO_ERROR);
        }
    };
    let needs_roles = template["Parameters"]
        .get(compiler::iam::TASK_ROLES_PARAMETER)
        .is_some();
    let yes = args.yes;
    let outcome = match crate::runtime::block_on(async {
        let session = Session::load(&args.aws).await?;
        let task_roles = if needs_roles {
            let found = cli::task_roles::task_roles(&session, &workflow).await;
            print_task_roles(&found, &args.task_roles);
            let roles = found.with(&args.task_roles);
            if roles.is_empty() {
                return Err(stack::DeployError::NoTaskRoles {
                    workflow: workflow.name.clone(),
                });
            }
            roles
        } else {
            Vec::new()
        };
        let deployment = Deployment {
            stack: &args.stack,
            template: &template,
            zip: &zip,
            bucket: args.bucket.as_deref(),
            task_roles: &task_roles,
        };
        let outcome = stack::deploy(&session, &deployment, print_progress, |changes| {
            confirm(changes, yes)
        })
        .await?;
        let machine = stack::state_machine_arn(&session, &args.stack).await.ok();
        let trigger = cli::readiness::trigger(&session, &args.stack)
            .await
            .ok()
            .flatten();
        Ok::<_, stack::DeployError>((outcome, (machine, trigger)))
    }) {
        Ok(result) => result,
        Err(code) => return code,
    };
    match outcome {
        Ok((Outcome::NoChanges, _)) => {
            outln!(
                "no changes: stack {} already deploys this workflow",
                args.stack
            );
            ExitCode::SUCCESS
        }
        Ok((Outcome::Declined, _)) => {
            errln!("not deployed: the change set was declined");
            ExitCode::from(INVALID)
        }
        Ok((Outcome::Deployed { status, outputs }, (state_machine, trigger))) => {
            outln!("{}: {status}", args.stack);
            for (key, value) in &outputs {
                outln!("  {key}: {value}");
            }
            if let Some(machine) = &state_machine {
                if !outputs.iter().any(|(key, _)| key == "StateMachineArn") {
                    outln!("  StateMachineArn: {machine}");
                    outln!("  ConsoleUrl: {}", cli::execution::console_url(machine));
                }
            }
            match trigger {
                Some(trigger) if trigger.armed => outln!(
                    "  alarm trigger: armed (EventBridge rule `{}`): its alarms start a rollback",
                    trigger.rule
                ),
                Some(trigger) => outln!(
                    "  alarm trigger: disabled (EventBridge rule `{}`) until a readiness run or `stepback preflight --stack {}` finds every step ready",
                    trigger.rule,
                    args.stack
                ),
                None => {}
            }
            outln!(
                "start a rollback: stepback start --stack {} --input key=value, or from the console URL above",
                args.stack
            );
            ExitCode::SUCCESS
        }
        Err(error @ stack::DeployError::StackFailed { .. }) => {
            errln!("error: {error}");
            ExitCode::from(INVALID)
        }
        Err(error) => {
            errln!("error: {error}");
            ExitCode::from(IO_ERROR)
        }
    }
}

/// Which roles the ECS functions may pass, and where each was found.
fn print_task_roles(found: &cli::task_roles::TaskRoles, given: &[String]) {
    for role in &found.found {
        errln!("task role {} ({})", role.arn, role.from);
    }
    for role in given
        .iter()
        .filter(|r| !found.found.iter().any(|f| &f.arn == *r))
    {
        errln!("task role {role} (--task-role)");
    }
    for unread in &found.unread {
        errln!("could not read the roles of {unread}");
    }
}

fn print_progress(progress: Progress) {
    match progress {
        Progress::BucketCreated(bucket) => errln!("created bucket {bucket}"),
        Progress::Uploaded { key, bytes } => errln!("uploaded {key} ({bytes} bytes)"),
        Progress::AlreadyUploaded(key) => errln!("unchanged code: {key} is uploaded already"),
        Progress::Event {
            time,
            resource,
            status,
            reason,
        } => {
            let reason = if reason.is_empty() {
                String::new()
            } else {
                format!("  {reason}")
            };
            errln!("{time}  {resource:<28} {status}{reason}");
        }
    }
}

/// Prints the changes; asks on a terminal unless `--yes`. Without a terminal, only `--yes` executes.
fn confirm(changes: &[Change], yes: bool) -> bool {
    errln!("changes:");
    let rows = changes.iter().map(|change| {
        let replacement = match change.replacement.as_deref() {
            Some("True") => "  (replacement)",
            Some("Conditional") => "  (may replace)",
            _ => "",
        };
        [
            change.action.clone(),
            change.logical_id.clone(),
            format!("{}{replacement}", change.resource_type),
        ]
    });
    for line in output::columns(rows) {
        errln!("  {line}");
    }
    if yes {
        return true;
    }
    output::confirm("execute these changes?").unwrap_or_else(|| {
        errln!("not a terminal: pass --yes to execute the change set");
        false
    })
}
