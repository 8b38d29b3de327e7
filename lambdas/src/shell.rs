//! Shell scripts whose values from the execution stay data. A line that holds values arrives as
//! `[text, value, text, …, text]` (the compiler's `payload::insert_run_by`), the author's text and the values apart.
//! Each value is bound to a variable by an assignment at the top of the script, where single quotes make any
//! text inert, and the line reads the variable where the value was written. Why not quote each value in place:
//! the place may be inside `"…"` or `$(…)`, where single-quoted text is code again; a variable's expansion is
//! never parsed as shell syntax, in any place.

use serde::Deserialize;
use serde_json::Value;

use crate::ActionError;

/// One line of a script, or one argv item that a shell runs as a script.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ShellLine {
    /// The author's text only.
    Text(String),
    /// `[text, value, text, …, text]`.
    Parts(Vec<Value>),
}

/// The variables that hold the values: `STEPBACK_VALUE_1`, …
const VARIABLE: &str = "STEPBACK_VALUE_";

/// `lines` as one script: the values' assignments first (after a `#!` line), then the lines with each value
/// read from its variable. Lines without values are unchanged, so a script without values is as written.
pub fn script(lines: &[ShellLine]) -> Result<Vec<String>, ActionError> {
    let mut assignments = Vec::new();
    let mut lexer = Lexer {
        word_start: true,
        ..Lexer::default()
    };
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let rendered = match line {
            ShellLine::Text(text) => {
                lexer.read(text);
                text.clone()
            }
            ShellLine::Parts(parts) => {
                let mut rendered = String::new();
                for (i, part) in parts.iter().enumerate() {
                    if i % 2 == 0 {
                        let text = part.as_str().ok_or_else(|| malformed(parts))?;
                        lexer.read(text);
                        rendered.push_str(text);
                        continue;
                    }
                    let name = format!("{VARIABLE}{}", assignments.len() + 1);
                    assignments.push(format!("{name}={}", quote(&scalar(part)?)));
                    rendered.push_str(&lexer.expansion(&name));
                }
                if parts.len() % 2 == 0 {
                    return Err(malformed(parts));
                }
                rendered
            }
        };
        lexer.read("\n");
        out.push(rendered);
    }
    let at = usize::from(out.first().is_some_and(|l| l.starts_with("#!")));
    out.splice(at..at, assignments);
    Ok(out)
}

/// One argv item: its text, or as a whole script when it holds values.
pub fn argv_item(item: &ShellLine) -> Result<String, ActionError> {
    match item {
        ShellLine::Text(text) => Ok(text.clone()),
        ShellLine::Parts(_) => Ok(script(std::slice::from_ref(item))?.join("\n")),
    }
}

fn malformed(parts: &[Value]) -> ActionError {
    ActionError::invalid_input(format!(
        "a shell line's parts must be [text, value, text, …, text], texts as strings: {}",
        Value::Array(parts.to_vec())
    ))
}

/// A value as the text the shell gets: strings as they are, numbers and bools as written in JSON.
fn scalar(value: &Value) -> Result<String, ActionError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => value.to_string(),
        other => {
            return Err(ActionError::invalid_input(format!(
                "a value in a shell command must be a string, number or bool, not {other}"
            )));
        }
    };
    if text.contains('\0') {
        return Err(ActionError::invalid_input(
            "a value in a shell command holds a NUL character, which no shell can hold",
        ));
    }
    Ok(text)
}

/// POSIX single quotes, in which every character but `'` is literal: `'` becomes `'\''`.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Where in the shell's syntax the text read so far ends, enough to read a variable there. A wrong guess (a
/// quote inside `$(…)` in double quotes, a here-document) only changes whether the variable is split or
/// expanded at all: its value is never parsed, whatever the place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Place {
    #[default]
    Plain,
    Single,
    Double,
    Comment,
}

#[derive(Default)]
struct Lexer {
    place: Place,
    /// The last character was an unquoted or double-quoted `\`.
    escaped: bool,
    /// The next character starts a word, where `#` starts a comment.
    word_start: bool,
}

impl Lexer {
    fn read(&mut self, text: &str) {
        for c in text.chars() {
            let at_word_start = std::mem::replace(
                &mut self.word_start,
                c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')'),
            );
            if std::mem::take(&mut self.escaped) {
                continue;
            }
            self.place = match (self.place, c) {
                (Place::Plain | Place::Double, '\\') => {
                    self.escaped = true;
                    self.place
                }
                (Place::Plain, '\'') => Place::Single,
                (Place::Single, '\'') => Place::Plain,
                (Place::Plain, '"') => Place::Double,
                (Place::Double, '"') => Place::Plain,
                (Place::Plain, '#') if at_word_start => Place::Comment,
                (Place::Comment, '\n') => Place::Plain,
                (place, _) => place,
            };
        }
    }

    /// The variable `name` read where the text ends: one word outside quotes, as it is inside double quotes, and
    /// by closing and reopening single quotes inside them.
    fn expansion(&mut self, name: &str) -> String {
        self.word_start = false;
        match self.place {
            Place::Plain => format!("\"${{{name}}}\""),
            Place::Double | Place::Comment => format!("${{{name}}}"),
            Place::Single => format!("'\"${{{name}}}\"'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HOSTILE: &str = "v1; touch pwned; $(touch pwned) `touch pwned` \" ' \n touch pwned #";

    fn lines(value: &Value) -> Vec<ShellLine> {
        vec![
            ShellLine::Text("#!/bin/sh".to_owned()),
            ShellLine::Parts(vec![json!("export TAG="), value.clone(), json!("")]),
            ShellLine::Parts(vec![json!("echo \"tag: "), value.clone(), json!("\"")]),
            ShellLine::Parts(vec![json!("echo 'tag: "), value.clone(), json!("'")]),
            ShellLine::Parts(vec![json!("echo \"$(echo "), value.clone(), json!(")\"")]),
            ShellLine::Parts(vec![json!("echo $TAG # "), value.clone(), json!("")]),
            ShellLine::Parts(vec![json!("echo ${TAG:-"), value.clone(), json!("}")]),
            ShellLine::Text("cat <<EOF".to_owned()),
            ShellLine::Parts(vec![json!("heredoc: "), value.clone(), json!("")]),
            ShellLine::Text("EOF".to_owned()),
        ]
    }

    #[test]
    fn values_are_assigned_once_and_read_where_they_were_written() {
        let script = script(&lines(&json!("it's"))).expect("a script");
        let expected = [
            "#!/bin/sh",
            r#"STEPBACK_VALUE_1='it'\''s'"#,
            r#"STEPBACK_VALUE_2='it'\''s'"#,
            r#"STEPBACK_VALUE_3='it'\''s'"#,
            r#"STEPBACK_VALUE_4='it'\''s'"#,
            r#"STEPBACK_VALUE_5='it'\''s'"#,
            r#"STEPBACK_VALUE_6='it'\''s'"#,
            r#"STEPBACK_VALUE_7='it'\''s'"#,
            r#"export TAG="${STEPBACK_VALUE_1}""#,
            r#"echo "tag: ${STEPBACK_VALUE_2}""#,
            r#"echo 'tag: '"${STEPBACK_VALUE_3}"''"#,
            r#"echo "$(echo ${STEPBACK_VALUE_4})""#,
            r#"echo $TAG # ${STEPBACK_VALUE_5}"#,
            r#"echo ${TAG:-"${STEPBACK_VALUE_6}"}"#,
            "cat <<EOF",
            r#"heredoc: "${STEPBACK_VALUE_7}""#,
            "EOF",
        ];
        assert_eq!(script, expected);
    }

    /// The script runs in a real `sh`: a hostile value comes out as written, and runs nothing.
    #[test]
    fn a_hostile_value_stays_data_in_a_real_shell() {
        let dir = std::env::temp_dir().join(format!("stepback-shell-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let script = script(&lines(&json!(HOSTILE)))
            .expect("a script")
            .join("\n");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(&dir)
            .output()
            .expect("sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{script}\n{stdout}");
        assert!(!dir.join("pwned").exists(), "the value ran:\n{script}");
        let split = HOSTILE.split_whitespace().collect::<Vec<_>>().join(" ");
        let expected = [
            format!("tag: {HOSTILE}"),
            format!("tag: {HOSTILE}"),
            // Unquoted inside `$(…)`: split into words, which echo joins with single spaces; still not run.
            split.clone(),
            // `$TAG` unquoted, as the author wrote it: the export kept the value whole.
            split.clone(),
            split.clone(),
            format!("heredoc: \"{HOSTILE}\""),
        ]
        .join("\n");
        assert_eq!(stdout.trim_end(), expected, "{script}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn malformed_parts_are_invalid_input() {
        for parts in [
            json!(["a", "v"]),
            json!([1, "v", "b"]),
            json!(["a", ["x"], "b"]),
        ] {
            let line: ShellLine = serde_json::from_value(parts).expect("a line");
            let failure = script(&[line]).expect_err("refused");
            assert_eq!(failure.name, catalog::ErrorName::InvalidInput, "{failure}");
        }
    }
}
