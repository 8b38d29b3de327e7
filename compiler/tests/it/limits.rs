//! What Step Functions would refuse: a worst-case history over 25,000 events (E033) or a definition over 1 MB
//! (E034). Each is a diagnostic at the step that weighs most, rendered like `check`'s. `compiler/tests/data/err`
//! holds a fixture per case that a small file shows; the definition size needs a megabyte, so it is generated.

use std::collections::BTreeSet;

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};
use workflow::{Code, Diagnostic};

/// The diagnostics `compile` refuses `source` with, as `stepback compile` renders them.
fn refuse(name: &str, source: &str) -> (Vec<Diagnostic>, String) {
    let checked = workflow::check(source);
    let Some(workflow) = checked.workflow else {
        panic!("{name} is not a valid workflow: {:#?}", checked.diagnostics);
    };
    let errors = compiler::compile(&workflow, &compiler::Options::default())
        .expect_err("over a Step Functions limit");
    let diagnostics: Vec<Diagnostic> = errors
        .into_iter()
        .map(|error| match error {
            compiler::CompileError::Limit(diagnostic) => diagnostic,
            other => panic!("{name}: not a limit: {other}"),
        })
        .collect();
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(110);
    let mut out = String::new();
    for diagnostic in &diagnostics {
        let report = miette::Report::new(diagnostic.clone())
            .with_source_code(NamedSource::new(name, source.to_owned()));
        handler
            .render_report(&mut out, report.as_ref())
            .expect("rendering into a String");
    }
    (diagnostics, out)
}

#[test]
fn limits_are_spanned_diagnostics() {
    let mut seen = BTreeSet::new();
    insta::glob!("../data/err", "*.toml", |path: &Path| {
        let source = std::fs::read_to_string(path).expect("fixture readable");
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let (diagnostics, rendered) = refuse(&name.unwrap_or_default(), &source);
        insta::assert_snapshot!(rendered);
        seen.extend(diagnostics.iter().map(|d| d.code));
    });

    // Long step descriptions (each becomes a `Comment`) push the definition past 1 MB while the history stays
    // small; the step with the longest name weighs most.
    let description = "d".repeat(12_000);
    let steps: String = (0..100)
        .map(|i| format!("[steps.s{i}]\naction = \"wait\"\nduration = \"1s\"\ndescription = \"{description}\"\n\n"))
        .collect();
    let source = format!("version = 1\nname = \"large\"\n\n{steps}");
    let (diagnostics, rendered) = refuse("large.toml", &source);
    insta::assert_snapshot!("e034-definition-size", rendered);
    seen.extend(diagnostics.iter().map(|d| d.code));

    let compile_codes: BTreeSet<Code> = Code::COMPILE.iter().copied().collect();
    assert_eq!(seen, compile_codes, "every compile code has a case");
}

/// `stepback explain E033` shows a workflow that compiles to E033. (E034's example is a fragment: a megabyte
/// does not fit on a screen, so the test above generates it.)
#[test]
fn the_history_budget_explanation_gives_it() {
    let example = Code::HistoryBudget.explanation().example;
    let source = format!("version = 1\nname = \"example\"\n\n{example}");
    let (diagnostics, _) = refuse("example.toml", &source);
    let codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::HistoryBudget]);
}
