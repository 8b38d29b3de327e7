use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};

/// What `stepback check` shows for a source, then (when valid) what `stepback graph` prints.
fn check(name: &str, source: &str) -> String {
    let checked = workflow::check(source);
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(110);
    let mut out = String::new();
    for diagnostic in &checked.diagnostics {
        let named = NamedSource::new(name, source.to_owned());
        let report = miette::Report::new(diagnostic.clone()).with_source_code(named);
        handler
            .render_report(&mut out, report.as_ref())
            .expect("rendering into a String");
    }
    if let Some(workflow) = &checked.workflow {
        out.push_str("--- graph ---\n");
        out.push_str(&workflow::render::mermaid(workflow, &[]));
    }
    out
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn valid_workflows() {
    insta::glob!("../data/ok", "*.toml", |path| {
        let source = std::fs::read_to_string(path).expect("fixture is readable");
        let checked = workflow::check(&source);
        assert!(
            checked.workflow.is_some(),
            "{} should be valid: {:#?}",
            path.display(),
            checked.diagnostics
        );
        insta::assert_snapshot!(check(&file_name(path), &source));
    });
}

#[test]
fn invalid_workflows() {
    insta::glob!("../data/err", "*.toml", |path| {
        let source = std::fs::read_to_string(path).expect("fixture is readable");
        let checked = workflow::check(&source);
        assert!(
            checked.diagnostics.iter().any(|d| d.is_error()),
            "{} should be invalid",
            path.display()
        );
        insta::assert_snapshot!(check(&file_name(path), &source));
    });
}

/// The examples are what users copy: each is valid and draws no warning.
#[test]
fn examples_are_valid() {
    let mut count = 0;
    insta::glob!("../../../examples", "*.toml", |path| {
        let source = std::fs::read_to_string(path).expect("example is readable");
        let checked = workflow::check(&source);
        assert!(
            checked.workflow.is_some() && checked.diagnostics.is_empty(),
            "{} should check clean:\n{}",
            path.display(),
            check(&file_name(path), &source)
        );
        insta::assert_snapshot!(check(&file_name(path), &source));
        count += 1;
    });
    assert!(count > 0, "no examples found");
}

/// Every code in the registry is exercised by a fixture, so none is unreachable or untested. The compiler's
/// codes are exercised by `compiler/tests/it/limits.rs`.
#[test]
fn every_code_has_a_fixture() {
    let mut seen = std::collections::BTreeSet::new();
    for dir in ["ok", "err"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(dir);
        for entry in std::fs::read_dir(dir).expect("fixture dir") {
            let source = std::fs::read_to_string(entry.expect("entry").path()).expect("fixture");
            seen.extend(workflow::check(&source).diagnostics.iter().map(|d| d.code));
        }
    }
    let missing: Vec<_> = workflow::Code::ALL
        .iter()
        .filter(|c| !seen.contains(c) && !workflow::Code::COMPILE.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

/// One mistake, one error: in `err/one-error-*.toml` a single defect has many dependents (steps after it,
/// reads of it), and none of them is reported again.
#[test]
fn one_defect_gives_one_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/err");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        if !file_name(&path).starts_with("one-error-") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("fixture");
        let errors: Vec<String> = workflow::check(&source)
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.code.as_str(), d.message))
            .collect();
        assert_eq!(errors.len(), 1, "{}: {errors:#?}", path.display());
        checked += 1;
    }
    assert!(checked >= 2, "the one-error fixtures are missing");
}

/// Mutating the example byte by byte must never panic.
#[test]
fn no_panic_on_truncated_or_mangled_input() {
    let source = include_str!("../../../examples/webapp-rollback.toml");
    for cut in (0..source.len()).step_by(7) {
        if let Some(prefix) = source.get(..cut) {
            let _ = workflow::check(prefix);
            let mangled = format!("{prefix}\"${{{}", source.get(cut..).unwrap_or_default());
            let _ = workflow::check(&mangled);
        }
    }
}

/// The README's section on `when` quotes the grammar that `explain` prints, so the two never drift apart.
#[test]
fn readme_quotes_the_condition_grammar() {
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(workflow::CONDITION_GRAMMAR),
        "README.md's section on `when` differs from workflow::CONDITION_GRAMMAR; paste the constant there"
    );
}
