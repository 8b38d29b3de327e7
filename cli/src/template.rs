//! `stepback template`: write the deployable CloudFormation template, atomically, or print it.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::compile::write;
use crate::output::{errln, out};
use crate::report::{self, IO_ERROR};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Json,
    Yaml,
}

#[derive(clap::Args)]
pub struct Args {
    /// The workflow file to build the stack of, e.g. examples/webapp-rollback.toml.
    file: PathBuf,
    /// Write `<name>.template.<json|yaml>` into this directory (created if missing) instead of printing it.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// The template's format; both deploy with `aws cloudformation deploy`.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
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
    let (text, extension) = match args.format {
        Format::Json => (
            serde_json::to_string_pretty(&template)
                .map(|t| t + "\n")
                .map_err(|e| e.to_string()),
            "json",
        ),
        Format::Yaml => (
            serde_yaml_ng::to_string(&template).map_err(|e| e.to_string()),
            "yaml",
        ),
    };
    let text = match text {
        Ok(text) => text,
        Err(error) => {
            errln!("error: cannot render the template: {error}");
            return ExitCode::from(IO_ERROR);
        }
    };
    let Some(dir) = &args.out_dir else {
        out!("{text}");
        return ExitCode::SUCCESS;
    };
    let path = dir.join(format!("{}.template.{extension}", workflow.name));
    write(&path, &text)
}
