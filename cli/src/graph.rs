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
    let added = compiler::added_edges(&workflow);
    out!(
        "{}",
        match format {
            Format::Mermaid => workflow::render::mermaid(&workflow, &added),
            Format::Dot => workflow::render::dot(&workflow, &added),
        }
    );
    ExitCode::SUCCESS
}
