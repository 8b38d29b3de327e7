//! `stepback explain`'s texts live beside the codes; their examples must give their code.

use workflow::Code;

/// Each code has a reason and a fix, and its example, checked as a workflow, gives that code and no other
/// error.
#[test]
fn every_code_has_an_explanation_whose_example_gives_it() {
    let mut problems = Vec::new();
    for &code in Code::ALL {
        let explanation = code.explanation();
        for (part, text) in [("why", explanation.why), ("fix", explanation.fix)] {
            if text.is_empty() || !text.ends_with('.') {
                problems.push(format!("{}: the {part} is not a sentence", code.as_str()));
            }
        }
        let source = if explanation.example.starts_with("version") {
            explanation.example.to_owned()
        } else {
            format!("version = 1\nname = \"example\"\n\n{}", explanation.example)
        };
        let found: Vec<Code> = workflow::check(&source)
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect();
        let other_errors = found
            .iter()
            .any(|c| *c != code && c.as_str().starts_with('E'));
        // The compiler's codes come from valid workflows; `compiler/tests/it/limits.rs` compiles their examples.
        let gives_it = if Code::COMPILE.contains(&code) {
            !found.iter().any(|c| c.as_str().starts_with('E'))
        } else {
            found.contains(&code) && !other_errors
        };
        if !gives_it {
            problems.push(format!(
                "{}'s example gives {:?}",
                code.as_str(),
                found.iter().map(|c| c.as_str()).collect::<Vec<_>>()
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
