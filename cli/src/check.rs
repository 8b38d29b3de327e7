use std::path::PathBuf;
use std::process::ExitCode;

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
        eprint!("{}", report::render(path, &source, &checked.diagnostics));
        let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = checked.diagnostics.len() - errors;
        let failed = errors > 0 || deny_warnings && warnings > 0;
        let verdict = if failed { "invalid" } else { "ok" };
        eprintln!(
            "{}: {verdict} ({errors} errors, {warnings} warnings)",
            path.display()
        );
        if failed {
            code = code.max(INVALID);
        }
    }
    ExitCode::from(code)
}
