//! `stepback explain CODE`: a diagnostic code's long explanation, as `rustc --explain` gives it.

use std::fmt::Write;
use std::process::ExitCode;

use workflow::Code;

use crate::output::{errln, out};
use crate::report::IO_ERROR;

pub fn run(code: &str) -> ExitCode {
    let wanted = code.to_ascii_uppercase();
    match Code::ALL.iter().find(|c| c.as_str() == wanted) {
        Some(&code) => {
            out!("{}", explain(code));
            ExitCode::SUCCESS
        }
        None => {
            let first = Code::ALL.first().map_or("", |c| c.as_str());
            let last = Code::ALL.last().map_or("", |c| c.as_str());
            errln!(
                "error: no code `{code}`; the codes are {first} to {last}, as `stepback check` prints them"
            );
            ExitCode::from(IO_ERROR)
        }
    }
}

fn explain(code: Code) -> String {
    let explanation = code.explanation();
    let kind = if code.as_str().starts_with('W') {
        "warning"
    } else {
        "error"
    };
    let mut text = format!(
        "{} ({kind}): {}\n\n{}\n\nExample:\n\n",
        code.as_str(),
        code.summary(),
        wrap(explanation.why)
    );
    for line in explanation.example.lines() {
        let _ = writeln!(text, "    {line}");
    }
    let _ = writeln!(text, "\n{}", wrap(&format!("Fix: {}", explanation.fix)));
    if matches!(code, Code::ConditionSyntax | Code::ConditionType) {
        let _ = writeln!(text, "\n{}", workflow::CONDITION_GRAMMAR);
    }
    text
}

/// Breaks a paragraph into lines of at most [`WIDTH`] characters, at spaces.
fn wrap(paragraph: &str) -> String {
    let mut text = String::new();
    let mut line = 0;
    for word in paragraph.split_whitespace() {
        let length = word.chars().count();
        if line > 0 && line + 1 + length > WIDTH {
            text.push('\n');
            line = 0;
        } else if line > 0 {
            text.push(' ');
            line += 1;
        }
        text.push_str(word);
        line += length;
    }
    text
}

const WIDTH: usize = 100;
