//! Reading workflow files and rendering diagnostics rustc-style (`file:line:col`, the line, a caret).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::output::{err, errln};
use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};
use workflow::{Checked, Diagnostic, Workflow};

/// Exit codes: 0 ok, 1 invalid input, 2 usage or IO error.
pub const INVALID: u8 = 1;
pub const IO_ERROR: u8 = 2;

pub fn read(path: &Path) -> Result<String, ExitCode> {
    std::fs::read_to_string(path).map_err(|error| {
        errln!("error: cannot read {}: {error}", path.display());
        ExitCode::from(IO_ERROR)
    })
}

pub fn render(path: &Path, source: &str, diagnostics: &[Diagnostic]) -> String {
    let theme = if std::io::stderr().is_terminal() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let named =
            NamedSource::new(path.display().to_string(), source.to_owned()).with_language("toml");
        let report = miette::Report::new(diagnostic.clone()).with_source_code(named);
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, report.as_ref());
    }
    out
}

/// Reads and checks a file; prints its diagnostics. The workflow, or the exit code to stop with.
pub fn load(path: &Path) -> Result<Workflow, ExitCode> {
    load_with_source(path).map(|(_, workflow)| workflow)
}

/// [`load`], keeping the source to render the compiler's diagnostics against.
pub fn load_with_source(path: &Path) -> Result<(String, Workflow), ExitCode> {
    let source = read(path)?;
    let Checked {
        workflow,
        diagnostics,
    } = workflow::check(&source);
    err!("{}", render(path, &source, &diagnostics));
    match workflow {
        Some(workflow) => Ok((source, workflow)),
        None => Err(ExitCode::from(INVALID)),
    }
}

/// Checks the workflow a stack was deployed from (`cli::stack::deployed_workflow`); prints its diagnostics
/// against `stack NAME`. The workflow, or the exit code to stop with.
pub fn deployed(stack: &str, source: &str) -> Result<Workflow, ExitCode> {
    let checked = workflow::check(source);
    let name = PathBuf::from(format!("stack {stack}"));
    err!("{}", render(&name, source, &checked.diagnostics));
    checked.workflow.ok_or(ExitCode::from(INVALID))
}

/// Compiles a checked workflow, as `compile`, `template` and `deploy` all do; on failure prints the errors as
/// `compile_errors` does and gives the exit code to stop with.
pub fn compiled(
    path: &Path,
    source: &str,
    workflow: &Workflow,
    options: &compiler::Options,
) -> Result<compiler::Compiled, ExitCode> {
    compiler::compile(workflow, options).map_err(|errors| {
        compile_errors(path, source, errors);
        ExitCode::from(INVALID)
    })
}

/// Prints the compiler's errors: the limits as diagnostics like `check`'s, the rest as one line each.
pub fn compile_errors(path: &Path, source: &str, errors: Vec<compiler::CompileError>) {
    for error in errors {
        match error {
            compiler::CompileError::Limit(diagnostic) => {
                err!("{}", render(path, source, &[diagnostic]));
            }
            other => errln!("error: {}: {other}", path.display()),
        }
    }
}
