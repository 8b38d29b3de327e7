//! What an action takes and gives: the types of its params and outputs, and the rules on their values.

/// The type of a parameter or an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    String,
    Number,
    Bool,
    /// A list of strings.
    StringList,
    /// A table of string values, e.g. EC2 tags.
    StringMap,
    /// A duration literal such as `"30s"`; lowered to whole seconds.
    Duration,
    /// Load-balancer targets: `"i-0abc"`, `"i-0abc:8080"` or `"10.0.0.7:80"`, or the `targets` output of
    /// `alb.deregister` passed through whole.
    Targets,
    /// A metric's datapoints, oldest first: `[{"time": "2026-11-27T15:04:00Z", "value": 1.5}]`. Only an output
    /// (`check.metric`'s); no param takes one.
    Series,
}

impl ValueType {
    pub const fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Bool => "bool",
            ValueType::StringList => "list",
            ValueType::StringMap => "table",
            ValueType::Duration => "duration",
            ValueType::Targets => "targets",
            ValueType::Series => "series",
        }
    }

    /// Whether a value of type `self` may be passed where `wanted` is expected.
    pub fn fits(self, wanted: ValueType) -> bool {
        self == wanted || (self == ValueType::StringList && wanted == ValueType::Targets)
    }

    /// The type in a sentence: "`key` expects a list of strings".
    pub const fn phrase(self) -> &'static str {
        match self {
            ValueType::String => "a string",
            ValueType::Number => "a number",
            ValueType::Bool => "a bool",
            ValueType::StringList => "a list of strings",
            ValueType::StringMap => "a table of strings",
            ValueType::Duration => "a duration",
            ValueType::Targets => "targets",
            ValueType::Series => "a series of datapoints",
        }
    }

    /// How to write a value of the type, for a diagnostic's help.
    pub const fn how_to_write(self) -> &'static str {
        match self {
            ValueType::String => "write a string, e.g. \"webapp\" or \"${input.name}\"",
            ValueType::Number => "write a number, e.g. 200",
            ValueType::Bool => "write true or false",
            ValueType::StringList => "write a list, e.g. [\"a\", \"b\"]",
            ValueType::StringMap => "write a table, e.g. { Name = \"web\" }",
            ValueType::Duration => "write a duration, e.g. \"2m\"",
            ValueType::Targets => "write [\"i-0abc:80\"], or pass \"${steps.<drain>.targets}\"",
            ValueType::Series => {
                "pass it to nothing: a series is for reading in the execution's record"
            }
        }
    }
}

/// A duration as the language writes it (`"30s"`, `"1h 30m"`), for the JSON Schema.
pub const DURATION_PATTERN: &str = r"^([0-9]+ ?[a-z]+ ?)+$";

#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ValueType,
    pub required: bool,
    pub doc: &'static str,
    /// For numbers: the inclusive range a literal must fall in.
    pub range: Option<(f64, f64)>,
    /// For strings: the only values a literal may take (empty: any).
    pub allowed: &'static [&'static str],
    /// Whether a shell runs the param's text.
    pub shell: Shell,
    /// What a literal must satisfy beyond its type, range and allowed values.
    pub constraint: Constraint,
}

/// A rule on a param's literal that a range or a list of values cannot say. The language checks it in the
/// workflow; the Lambda checks the value it receives again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    None,
    /// A CloudWatch statistic ([`crate::metric::is_statistic`]).
    Statistic,
    /// A CloudWatch period ([`crate::metric::is_period`]).
    Period,
    /// A duration that holds `count` periods of `period` (two other params, their defaults when absent).
    Holds {
        period: (&'static str, u64),
        count: (&'static str, u64),
    },
    /// Names a resource (an instance, a snapshot): never empty. An empty id filters nothing in a Describe
    /// call, so a lookup by it would answer whatever comes first. The language refuses `""` and an input that
    /// defaults to it, the state machine refuses `""` in such an input, and the Lambda refuses it again.
    Name,
}

/// Whether a shell runs a param's text. A value from the execution (an input, a step output) that sits in such
/// text reaches the Lambda apart from the text, which binds it to a shell variable: it stays data, never code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    /// No shell reads it.
    Not,
    /// Each item is a line of one shell script (`ssm.command`'s `commands`).
    Script,
    /// An argv, which no shell reads, unless it starts a shell with `-c`: then the item after that flag is a
    /// script ([`Shell::script_item`]).
    Argv,
}

/// The programs that read their `-c` argument as shell code.
const SHELLS: [&str; 7] = ["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"];

impl Shell {
    /// For an argv whose items are `Some(text)` when literal: the index of the item that a shell reads as a
    /// script, e.g. 2 in `["/bin/sh", "-c", "..."]` (flags may be joined, `-ec`).
    pub fn script_item(argv: &[Option<&str>]) -> Option<usize> {
        let program = argv.first().copied().flatten()?;
        let name = program.rsplit('/').next().unwrap_or(program);
        if !SHELLS.contains(&name) {
            return None;
        }
        let flag = argv.iter().skip(1).position(|item| {
            item.is_some_and(|f| f.starts_with('-') && !f.starts_with("--") && f.contains('c'))
        })?;
        let script = flag + 2;
        (script < argv.len()).then_some(script)
    }
}

impl ParamSpec {
    /// The param's JSON Schema, for `stepback schema`. With allowed values (or a statistic's form), a literal
    /// string (or each item of a list) must be one of them; a reference is checked when the step runs.
    pub fn json_schema(&self) -> serde_json::Value {
        use serde_json::json;
        let reference = json!({ "type": "string", "pattern": r"^\$\{[A-Za-z0-9_.]+\}$" });
        let a_reference = json!({ "type": "string", "pattern": r"\$\{" });
        let string = if self.constraint == Constraint::Statistic {
            json!({ "anyOf": [{ "type": "string", "pattern": crate::metric::STATISTIC_PATTERN }, a_reference] })
        } else if self.allowed.is_empty() {
            json!({ "type": "string" })
        } else {
            json!({ "anyOf": [{ "enum": self.allowed }, a_reference] })
        };
        let mut schema = match self.ty {
            ValueType::String => string,
            ValueType::Number => json!({ "anyOf": [{ "type": "number" }, reference] }),
            ValueType::Bool => json!({ "anyOf": [{ "type": "boolean" }, reference] }),
            ValueType::StringList | ValueType::Targets => {
                json!({ "anyOf": [{ "type": "array", "items": string }, reference] })
            }
            ValueType::StringMap => {
                json!({ "type": "object", "additionalProperties": { "type": "string" } })
            }
            ValueType::Duration => json!({ "type": "string", "pattern": DURATION_PATTERN }),
            // No param takes one ([`ValueType::Series`]).
            ValueType::Series => json!({ "type": "array" }),
        };
        if let serde_json::Value::Object(map) = &mut schema {
            map.insert("description".into(), self.doc.into());
        }
        schema
    }

    /// A value of the param as TOML, for `stepback actions`' example step: its first allowed value, else a
    /// placeholder named after it.
    pub fn example_value(&self) -> String {
        let placeholder = match self.allowed.first() {
            Some(allowed) => format!("\"{allowed}\""),
            None => format!("\"<{}>\"", self.name),
        };
        match self.ty {
            ValueType::String => placeholder,
            ValueType::Number => self.range.map_or(1.0, |(min, _)| min).to_string(),
            ValueType::Bool => "true".to_owned(),
            ValueType::StringList => format!("[{placeholder}]"),
            ValueType::StringMap => "{ Name = \"<value>\" }".to_owned(),
            ValueType::Duration => "\"2m\"".to_owned(),
            ValueType::Targets => "[\"i-0123456789abcdef0\"]".to_owned(),
            // Only an output: no param takes one.
            ValueType::Series => "[]".to_owned(),
        }
    }

    pub(crate) const fn within(self, min: f64, max: f64) -> ParamSpec {
        ParamSpec {
            range: Some((min, max)),
            ..self
        }
    }

    pub(crate) const fn one_of(self, allowed: &'static [&'static str]) -> ParamSpec {
        ParamSpec { allowed, ..self }
    }

    pub(crate) const fn run_by(self, shell: Shell) -> ParamSpec {
        ParamSpec { shell, ..self }
    }

    pub(crate) const fn constrained(self, constraint: Constraint) -> ParamSpec {
        ParamSpec { constraint, ..self }
    }

    /// A param that names a resource ([`Constraint::Name`]).
    pub(crate) const fn naming(self) -> ParamSpec {
        self.constrained(Constraint::Name)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct OutputSpec {
    pub name: &'static str,
    pub ty: ValueType,
    pub doc: &'static str,
    /// The most bytes the output's value takes as JSON. The compiler adds these up against Step Functions'
    /// 256 KB per state; the Lambdas keep to them (free text such as command output is cut, saying so).
    pub max_bytes: usize,
}

/// The bound of an identifier, a name or a short message as JSON: AWS ARNs and names stay under 2 KB.
pub const TEXT_BYTES: usize = 2 * 1024;
/// The bound of an RDS identifier (an instance's or cluster's at most 63 characters, a snapshot's 255) or an
/// endpoint address (a host name, at most 253) as JSON: RDS allows only ASCII letters, digits and hyphens.
pub const RDS_ID_BYTES: usize = 258;
/// The bound of `rds.restore`'s `notes` as JSON, which the Lambda cuts its text to: the state data of a
/// workflow of every action stays under Step Functions' 256 KB with it.
pub const NOTES_BYTES: usize = 256;
/// A poll's progress line (`2 of 3 targets drained`) is cut to this many bytes: the state keeps the last one
/// while the step runs, and a poll loop's timeout quotes it.
pub const PROGRESS_BYTES: usize = 512;
/// A Lambda's error message is cut to this many bytes (saying so), which bounds the `Cause` of every failure
/// the state machine keeps.
pub const ERROR_MESSAGE_BYTES: usize = 4 * 1024;

pub(crate) const fn param(name: &'static str, ty: ValueType, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        required: true,
        doc,
        range: None,
        allowed: &[],
        shell: Shell::Not,
        constraint: Constraint::None,
    }
}

pub(crate) const fn optional(name: &'static str, ty: ValueType, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        required: false,
        doc,
        range: None,
        allowed: &[],
        shell: Shell::Not,
        constraint: Constraint::None,
    }
}

/// An output bounded by its type: a string is an identifier or a short text, a number or a bool a few bytes.
/// Lists and maps say their own bound (`at_most`).
pub(crate) const fn output(name: &'static str, ty: ValueType, doc: &'static str) -> OutputSpec {
    let max_bytes = match ty {
        ValueType::Number | ValueType::Duration => 24,
        ValueType::Bool => 5,
        _ => TEXT_BYTES,
    };
    OutputSpec {
        name,
        ty,
        doc,
        max_bytes,
    }
}

impl OutputSpec {
    pub(crate) const fn at_most(self, max_bytes: usize) -> OutputSpec {
        OutputSpec { max_bytes, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_of_an_argv_follows_a_shells_c_flag() {
        let script = |argv: &[Option<&str>]| Shell::script_item(argv);
        assert_eq!(script(&[Some("sh"), Some("-c"), None]), Some(2));
        assert_eq!(
            script(&[Some("/bin/bash"), Some("-e"), Some("-xc"), None, None]),
            Some(3)
        );
        assert_eq!(script(&[Some("python"), Some("-c"), None]), None);
        assert_eq!(script(&[Some("sh"), Some("./run.sh"), None]), None);
        assert_eq!(script(&[Some("sh"), Some("-c")]), None);
        assert_eq!(script(&[None, Some("-c"), None]), None);
    }
}
