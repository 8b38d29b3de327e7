use std::path::PathBuf;
use std::process::ExitCode;

use crate::output::{err, errln};
use crate::report::{self, INVALID, IO_ERROR};

pub fn run(files: &[PathBuf], deny_warnings: bool) -> ExitCode {
    let mut code = 0;
    for path in files {
        let source = match report::read(path) {
            Ok(source) => source,
            Err(_) => {
                code = IO_ERROR;
                continue;
            }
        };
        let checked = workflow::check(&source);
        let mut diagnostics = checked.diagnostics;
        // The limits `compile` refuses (history events, definition size, state data): a workflow that passes
        // `check` in CI compiles at deploy time.
        let mut compile_errors = Vec::new();
        if let Some(workflow) = &checked.workflow {
            match compiler::plan(workflow) {
                Ok(compiled) => diagnostics.extend(compiled.over_limits),
                Err(errors) => compile_errors = errors,
            }
        }
        err!("{}", report::render(path, &source, &diagnostics));
        let compile_failures = compile_errors.len();
        report::compile_errors(path, &source, compile_errors);
        let errors = diagnostics.iter().filter(|d| d.is_error()).count() + compile_failures;
        let warnings = diagnostics.len() + compile_failures - errors;
        let failed = errors > 0 || deny_warnings && warnings > 0;
        let verdict = if failed { "invalid" } else { "ok" };
        errln!(
            "{}: {verdict} ({}, {})",
            path.display(),
            count(errors, "error"),
            count(warnings, "warning")
        );
        if failed {
            code = code.max(INVALID);
        }
    }
    ExitCode::from(code)
}

/// `1 warning`, `2 warnings`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
