//! `stepback`: the only code that reads files, prints, or talks to AWS.

mod approve;
mod check;
mod compile;
mod graph;
mod plan;
mod report;
mod schema;
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

#[derive(Subcommand)]
enum Command {
    /// Validate workflow files and print every problem found.
    ///
    /// Exit code 0: valid (warnings allowed), 1: invalid, 2: a file could not be read.
    ///
    /// Example: stepback check examples/*.toml
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Fail on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Print the dependency graph of a workflow.
    ///
    /// Conditional steps are marked (hexagons in Mermaid, dashed in dot); `on_failure` steps are drawn apart.
    ///
    /// Example: stepback graph examples/webapp-rollback.toml --format dot | dot -Tsvg > rollback.svg
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = graph::Format::Mermaid)]
        format: graph::Format,
    },
    /// Approve a step that waits in an `approval`; the approval message gives the token.
    ///
    /// The step's result records who approved and why. Exit code 1: no approval waits on that token.
    ///
    /// Example: stepback approve --token "$TOKEN" --comment "snapshot rds:webapp-db-0412 checked"
    Approve(approve::Args),
    /// Reject a step that waits in an `approval`: it fails with Stepback.Rejected and the failure path runs.
    ///
    /// Example: stepback reject --token - --comment "wrong snapshot" < token.txt
    Reject(approve::Args),
    /// Print the JSON Schema of the workflow language.
    ///
    /// Save it and point taplo or Even Better TOML at it for completion:
    ///
    /// Example: stepback schema > stepback.schema.json, then start a workflow with `#:schema ./stepback.schema.json`
    Schema,
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
    /// Print the critical path, the compiled machine's estimated makespan, its series-parallel structure and its
    /// worst-case history events.
    ///
    /// Example: stepback plan examples/webapp-rollback.toml
    Plan { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            files,
            deny_warnings,
        } => check::run(&files, deny_warnings),
        Command::Graph { file, format } => graph::run(&file, format),
        Command::Schema => schema::run(),
        Command::Compile(args) => compile::run(&args),
        Command::Template(args) => template::run(&args),
        Command::Plan { file } => plan::run(&file),
        Command::Approve(args) => approve::run(&args, cli::approval::Decision::Approve),
        Command::Reject(args) => approve::run(&args, cli::approval::Decision::Reject),
    }
}
