//! What every workflow target runs on a source: `stepback check`'s path (parse, validate, build the DAG, render
//! every diagnostic), then `compile` and `plan` on what it accepts. A panic anywhere is a finding; so is a
//! span a renderer cannot show, and a compiler's internal error on a workflow that `check` accepted.

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};

pub mod generate;

/// Checks `source`, renders its diagnostics, and compiles and plans it when it is valid.
pub fn check_compile_plan(source: &str) {
    let checked = workflow::check(source);
    render(source, &checked.diagnostics);
    let Some(workflow) = checked.workflow else {
        return;
    };
    compile_and_plan(source, &workflow);
}

fn compile_and_plan(source: &str, workflow: &workflow::Workflow) {
    let options =
        compiler::Options::default().with_account("us-east-1", "123456789012", "stepback-");
    for result in [
        compiler::compile(workflow, &options),
        compiler::plan(workflow),
    ] {
        match result {
            Ok(compiled) => render(source, &compiled.over_limits),
            Err(errors) => {
                for error in errors {
                    match error {
                        compiler::CompileError::Limit(diagnostic) => render(source, &[diagnostic]),
                        compiler::CompileError::Unsupported { .. } => {}
                        compiler::CompileError::Internal(message) => {
                            panic!("internal error on a valid workflow: {message}")
                        }
                    }
                }
            }
        }
    }
}

/// Renders as `stepback check` does, after checking that every span lies on character boundaries of the source.
fn render(source: &str, diagnostics: &[workflow::Diagnostic]) {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    for diagnostic in diagnostics {
        for span in
            std::iter::once(&diagnostic.span).chain(diagnostic.related.iter().map(|(s, _)| s))
        {
            assert!(
                span.start <= span.end && source.get(span.clone()).is_some(),
                "{} has span {span:?}, not a slice of the {}-byte source",
                diagnostic.code.as_str(),
                source.len()
            );
        }
        let named = NamedSource::new("fuzz.toml", source.to_owned());
        let report = miette::Report::new(diagnostic.clone()).with_source_code(named);
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, report.as_ref());
    }
}
