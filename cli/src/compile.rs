//! `stepback compile`: write the Step Functions definition, atomically, or print it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::output::{errln, out, outln};
use crate::report::{self, IO_ERROR};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow file to compile, e.g. examples/webapp-rollback.toml.
    file: PathBuf,
    /// Write `<name>.asl.json` (with --example-input, `<name>.input.json`) into this directory, created if
    /// missing, instead of printing it.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// The region the machine runs in: its partition goes into the task ARNs (`arn:aws-cn:states:::...` for
    /// cn-north-1; without it, `arn:aws:`), and with --account the function ARNs are filled; otherwise they stay
    /// `${Stepback...Arn}` placeholders for CloudFormation's DefinitionSubstitutions.
    #[arg(long)]
    region: Option<String>,
    /// The AWS account id (12 digits) the functions live in, with --region.
    #[arg(long, requires = "region", value_name = "ID")]
    account: Option<String>,
    /// Function name prefix used with --region/--account: `<prefix>rds-snapshot`.
    #[arg(long, default_value = "stepback-")]
    prefix: String,
    /// An explicit substitution, e.g. --substitution StepbackNotifyArn=arn:aws:lambda:...; repeatable.
    #[arg(long = "substitution", value_name = "KEY=VALUE", value_parser = parse_substitution)]
    substitutions: Vec<(String, String)>,
    /// Print an example execution input instead of the definition: every input with its default, and `null`
    /// for each required one, to be filled in.
    #[arg(long)]
    example_input: bool,
}

fn parse_substitution(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

pub fn run(args: &Args) -> ExitCode {
    let (source, workflow) = match report::load_with_source(&args.file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if args.example_input {
        return example_input(args, &workflow);
    }
    let mut options = compiler::Options {
        substitutions: args
            .substitutions
            .iter()
            .cloned()
            .collect::<BTreeMap<_, _>>(),
        ..compiler::Options::default()
    };
    if let Some(region) = &args.region {
        options = match &args.account {
            Some(account) => options.with_account(region, account, &args.prefix),
            None => options.in_region(region),
        };
    }
    let compiled = match report::compiled(&args.file, &source, &workflow, &options) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let Some(dir) = &args.out_dir else {
        out!("{}", compiled.json);
        return ExitCode::SUCCESS;
    };
    let path = dir.join(format!("{}.asl.json", workflow.name));
    let code = write(&path, &compiled.json);
    if code == ExitCode::SUCCESS && !compiled.placeholders.is_empty() {
        let keys: Vec<&str> = compiled.placeholders.iter().map(String::as_str).collect();
        errln!("DefinitionSubstitutions needed: {}", keys.join(", "));
    }
    code
}

/// The example execution input, printed or written as `<name>.input.json`; the required inputs are `null`,
/// which the machine refuses, and are named on stderr.
fn example_input(args: &Args, workflow: &workflow::Workflow) -> ExitCode {
    // Serialising a serde_json::Value cannot fail.
    let json = serde_json::to_string_pretty(&compiler::example_input(workflow)).unwrap_or_default();
    let code = match &args.out_dir {
        None => {
            outln!("{json}");
            ExitCode::SUCCESS
        }
        Some(dir) => write(
            &dir.join(format!("{}.input.json", workflow.name)),
            &(json + "\n"),
        ),
    };
    let required: Vec<String> = workflow
        .inputs
        .iter()
        .filter(|i| i.default.is_none())
        .map(|i| match &i.description {
            Some(description) => format!("{} ({}: {description})", i.name, i.ty.name()),
            None => format!("{} ({})", i.name, i.ty.name()),
        })
        .collect();
    if !required.is_empty() {
        errln!(
            "required, replace each null: {}; a required string must not be empty",
            required.join(", ")
        );
    }
    code
}

/// Writes a file atomically and says so; the exit code.
pub(crate) fn write(path: &Path, text: &str) -> ExitCode {
    match write_atomically(path, text.as_bytes()) {
        Ok(()) => {
            errln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            errln!("error: cannot write {}: {error}", path.display());
            ExitCode::from(IO_ERROR)
        }
    }
}

/// A temporary file in the same directory, renamed over the target: readers see the old file or the new one,
/// never a part, and nothing is left behind on failure (the temporary file is removed when dropped).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
