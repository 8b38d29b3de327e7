//! `stepback`: the only code that reads files, prints, or talks to AWS.

mod actions;
mod approve;
mod audit;
mod check;
mod compile;
mod deploy;
mod explain;
mod graph;
mod output;
mod plan;
mod preflight;
mod progress;
mod ready;
mod rehearse;
mod report;
mod runtime;
mod schema;
mod start;
mod template;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "stepback",
    version,
    about = "Rollback runbooks as code: TOML workflows compiled to AWS Step Functions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// In the order a user meets them: what a step can do, checking, reading a plan, compiling, answering.
#[derive(Subcommand)]
enum Command {
    /// List the actions a step can use, or show one: its params, outputs, IAM actions, retry, estimate,
    /// timeout and an example step.
    ///
    /// Example: stepback actions check.http
    Actions {
        /// An action, e.g. ecs.deploy; without it, every action with its summary.
        action: Option<String>,
    },
    /// Validate workflow files and print every problem found.
    ///
    /// Exit code 0: valid (warnings allowed), 1: invalid, 2: a file could not be read.
    ///
    /// Example: stepback check examples/*.toml
    Check {
        /// Workflow files to check, e.g. examples/*.toml.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Fail on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Explain a diagnostic code: why the rule exists, an example that breaks it, and the fix.
    ///
    /// Example: stepback explain E020
    Explain {
        /// A code as `stepback check` prints it, e.g. E020 or W001.
        code: String,
    },
    /// Print the dependency graph of a workflow.
    ///
    /// Conditional steps are marked (hexagons in Mermaid, dashed in dot); `on_failure` steps are drawn apart.
    /// The orders the compiler adds where the graph does not nest into Parallel states (`plan`'s added edges)
    /// are drawn dashed, labelled `added`.
    ///
    /// Example: stepback graph examples/webapp-rollback.toml --format dot | dot -Tsvg > rollback.svg
    Graph {
        /// The workflow file, e.g. examples/webapp-rollback.toml.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = graph::Format::Mermaid)]
        format: graph::Format,
    },
    /// Print when each step starts and ends if every step takes its estimate, the total and what it assumes,
    /// then the compiler's figures: structure, added edges, history events, definition size.
    ///
    /// Example: stepback plan examples/webapp-rollback.toml
    Plan {
        /// The workflow file, e.g. examples/webapp-rollback.toml.
        file: PathBuf,
    },
    /// Compile a workflow into an AWS Step Functions definition (`<name>.asl.json`).
    ///
    /// Example: stepback compile examples/webapp-rollback.toml -o build
    Compile(compile::Args),
    /// Write the CloudFormation template that deploys the rollback: the state machine, one Lambda function and
    /// least-privilege role per action, log groups, and the EventBridge rule of `[trigger]`.
    ///
    /// The functions' code comes from the template's CodeBucket/CodeKey parameters (lambdas/README.md builds
    /// the zip). Deploy it with `aws cloudformation deploy` or your own tools (infra/README.md).
    ///
    /// Example: stepback template examples/webapp-rollback.toml -o build --format yaml
    Template(template::Args),
    /// Deploy the rollback: check, compile and template the workflow, upload the Lambda zip (keyed by its
    /// content hash, so unchanged code uploads nothing), and create or update the stack through a change set.
    ///
    /// Prints the changes (asks before executing them unless --yes), follows the stack's events, and ends with
    /// the state machine ARN and its console URL. Exit code 1: the workflow is invalid or the stack failed;
    /// 2: the zip is missing, or AWS refused (no credentials, stack in ROLLBACK_COMPLETE, foreign bucket...).
    ///
    /// The roles the ECS functions may pass (iam:PassRole) are read from the task definitions that the
    /// workflow's services run and its tasks start (DescribeServices, DescribeTaskDefinition), each printed with
    /// where it was found; --task-role adds one that cannot be read.
    ///
    /// Example: stepback deploy examples/webapp-rollback.toml --stack webapp-rollback --yes
    ///
    /// Example: stepback deploy examples/webapp-rollback.toml --stack webapp-rollback --task-role arn:aws:iam::123456789012:role/webapp-task --yes
    Deploy(deploy::Args),
    /// Rehearse a rollback on this machine, with no AWS account: the emulator (moto) runs the compiled state
    /// machine, the real Lambda handlers act, in process, on a world made from the workflow's steps.
    ///
    /// Starts moto on a loopback port (installed by `scripts/setup`), creates what the steps name (DB instance,
    /// ECS service with two task-definition revisions, target group with targets, topic, alarms, instances, web
    /// endpoint), deploys the stack with the real template, starts the execution as `stepback start` does and
    /// answers approvals as `stepback approve` does. Waits run --speed times faster. Prints each step as it runs,
    /// then the audit and the world's state. Exit code 0: the rollback succeeded; 1: it failed, or the workflow or
    /// input is invalid; 2: the emulator could not start, or an approval found no answer.
    ///
    /// Example: stepback rehearse examples/webapp-rollback.toml --approve all
    ///
    /// Example: stepback rehearse examples/webapp-rollback.toml --input restore_data=true --input restore_snapshot=webapp-db-0312 --approve all
    ///
    /// Example: stepback rehearse examples/webapp-rollback.toml --fail deploy --approve all
    Rehearse(rehearse::Args),
    /// Start a rollback: the input is built from the workflow's `[input]` (types checked, defaults filled)
    /// before any AWS call, and the execution is named after who started it and when.
    ///
    /// Example: stepback start examples/webapp-rollback.toml --stack webapp-rollback --input to_version=v41 --follow
    Start(start::Args),
    /// Check, before an incident, that the rollback can run: each step's deployed function looks, with its own
    /// role and changing nothing, at what the step will touch (the DB instance is available, the target group has
    /// targets, the topic exists, the URL answers...), all steps at once.
    ///
    /// Prints a table of step, status (ok, missing, not ready, denied, not yet knowable, error), resource and the
    /// fix. Steps whose `when` is false with the input are skipped. Exit code 0: every step that runs can start
    /// (what is not yet knowable, e.g. an earlier step's output, does not fail it); 1: something is missing, not
    /// ready or denied; 2: usage, or AWS could not be reached or refused.
    ///
    /// Without FILE, the workflow is the one the stack was deployed from, which `stepback deploy` keeps in the
    /// stack's template.
    ///
    /// Example: stepback preflight examples/webapp-rollback.toml --stack webapp-rollback --input restore_data=true --input restore_snapshot=webapp-db-0312
    ///
    /// Example: stepback preflight --stack webapp-rollback
    Preflight(preflight::Args),
    /// Show whether the deployed rollback could run now, and its last day: the stack's `[readiness]` checks
    /// every few minutes, and this reads what they recorded.
    ///
    /// Now: each step's check in its deployed function, with its own role and changing nothing, for the input an
    /// alarm's start gives and for the input's defaults, as the readiness machine runs them; the table is
    /// preflight's (step, status, resource, fix). Unlike `preflight`, it never arms the alarm trigger; it says
    /// whether it is armed. The last day: metric `Ready` in namespace Stepback/Readiness (GetMetricData), per
    /// schedule period, the least of each (as the readiness alarm reads it): when the rollback and each step went
    /// not ready and when they were ready again, and the periods with no run. Exit code 0: every step that runs
    /// can start now; 1: one cannot, or the workflow's `[readiness]` is off; 2: AWS could not be reached or
    /// refused.
    ///
    /// Example: stepback readiness --stack webapp-rollback
    Readiness(ready::Args),
    /// Approve a step that waits in an `approval`: the token is found in the execution's history (or given
    /// with --token).
    ///
    /// The step's result records who approved (by EXECUTION_ARN: the caller's ARN from STS, with --by as a display
    /// name; by --token: --by or $USER) and why.
    /// Exit code 1: no approval is waiting; 2: AWS could not be reached or refused.
    ///
    /// Example: stepback approve arn:aws:states:us-east-1:123456789012:execution:webapp-rollback:rollback-20261127T0312Z-alice --comment "snapshot checked"
    Approve(approve::Args),
    /// Reject a step that waits in an `approval`: it fails with Stepback.Rejected and the failure path runs.
    ///
    /// Example: stepback reject "$EXECUTION_ARN" --step approve_restore --comment "wrong snapshot"
    Reject(approve::Args),
    /// Print the JSON Schema of the workflow language.
    ///
    /// Save it and point taplo or Even Better TOML at it for completion:
    ///
    /// Example: stepback schema > stepback.schema.json, then start a workflow with `#:schema ./stepback.schema.json`
    Schema,
    /// Audit a rollback: who, what, when, why and how long, step by step, from its execution history.
    ///
    /// Fetches DescribeExecution, the definition it ran and the whole GetExecutionHistory, and maps the states
    /// back to the workflow's steps. The task token is never printed. Exit code 1: the history cannot be read;
    /// 2: usage, IO or AWS error.
    ///
    /// Example: stepback audit arn:aws:states:us-east-1:123456789012:execution:webapp-rollback:r42 --format html -o r42.html
    ///
    /// Example: stepback audit --history r42.json --format md
    ///
    /// Example: stepback audit --list --stack webapp-rollback --since 30d
    Audit(audit::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Actions { action } => actions::run(action.as_deref()),
        Command::Check {
            files,
            deny_warnings,
        } => check::run(&files, deny_warnings),
        Command::Explain { code } => explain::run(&code),
        Command::Graph { file, format } => graph::run(&file, format),
        Command::Plan { file } => plan::run(&file),
        Command::Compile(args) => compile::run(&args),
        Command::Template(args) => template::run(&args),
        Command::Deploy(args) => deploy::run(&args),
        Command::Rehearse(args) => rehearse::run(&args),
        Command::Start(args) => start::run(&args),
        Command::Preflight(args) => preflight::run(&args),
        Command::Readiness(args) => ready::run(&args),
        Command::Approve(args) => approve::run(&args, cli::approval::Decision::Approve),
        Command::Reject(args) => approve::run(&args, cli::approval::Decision::Reject),
        Command::Schema => schema::run(),
        Command::Audit(args) => audit::run(&args),
    };
    output::finish(code)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every verb is in the README's CLI table, in ARCHITECTURE.md's codemap, and has an example in its
    /// `--help`: a new verb cannot ship without the three.
    #[test]
    fn every_verb_is_documented_with_an_example() {
        let readme = include_str!("../../README.md");
        let architecture = include_str!("../../ARCHITECTURE.md");
        let codemap = architecture
            .lines()
            .find(|line| line.starts_with("- `cli/` — `stepback`:"))
            .expect("ARCHITECTURE.md's codemap has the cli line");
        for verb in super::Cli::command().get_subcommands_mut() {
            let name = verb.get_name().to_owned();
            let in_table = readme.contains(&format!("| `stepback {name}"))
                || readme.contains(&format!("\\|{name} "));
            assert!(in_table, "README's CLI table has no row for `{name}`");
            assert!(
                codemap.contains(&format!("`{name}`")),
                "ARCHITECTURE.md's cli line does not list `{name}`: {codemap}"
            );
            let help = verb.render_long_help().to_string();
            assert!(
                help.contains("stepback ") && help.contains("xample"),
                "`stepback {name} --help` has no example:\n{help}"
            );
        }
    }
}
