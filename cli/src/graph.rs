use std::path::Path;
use std::process::ExitCode;

use crate::output::out;
use crate::report;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Mermaid,
    Dot,
}

pub fn run(path: &Path, format: Format) -> ExitCode {
    let workflow = match report::load(path) {
        Ok(workflow) => workflow,
        Err(code) => return code,
    };
    out!(
        "{}",
        match format {
            Format::Mermaid => workflow::render::mermaid(&workflow),
            Format::Dot => workflow::render::dot(&workflow),
        }
    );
    ExitCode::SUCCESS
}
