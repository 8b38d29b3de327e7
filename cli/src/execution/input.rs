//! The typed input a start sends: `--input k=v` and `--input-file` values, checked against the workflow's
//! `[input]`, defaults filled.

use std::collections::BTreeMap;

use catalog::ValueType;
use serde_json::{Map, Value as Json};
use workflow::Workflow;

/// A `--input k=v` or `--input-file` value that the workflow's `[input]` refuses. Codes as `check` gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputProblem {
    pub code: &'static str,
    pub message: String,
    pub help: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "error[{}]: {}\n  help: {}",
            self.code, self.message, self.help
        )
    }
}

/// The execution input: every declared input, given or defaulted, typed; every problem at once. `given` are
/// `--input k=v` pairs (a string is taken as written, a number or bool parsed, a list as JSON or comma-separated);
/// `file` is an `--input-file` object, which `given` overrides.
pub fn build_input(
    workflow: &Workflow,
    given: &[(String, String)],
    file: Option<&Json>,
) -> Result<Json, Vec<InputProblem>> {
    let (input, mut problems) = known_values(workflow, given, file);
    for declared in &workflow.inputs {
        if !input.contains_key(&declared.name) {
            problems.push(InputProblem {
                code: workflow::Code::MissingKey.as_str(),
                message: format!(
                    "input `{}` is required ({})",
                    declared.name,
                    declared.ty.name()
                ),
                help: format!("pass --input {}=...", declared.name),
            });
        }
    }
    if problems.is_empty() {
        Ok(Json::Object(input))
    } else {
        Err(problems)
    }
}

/// The inputs known before a run: given or defaulted, typed, as `build_input` takes them; a required input
/// that is not given is absent, not a problem.
pub fn known_input(
    workflow: &Workflow,
    given: &[(String, String)],
    file: Option<&Json>,
) -> Result<Map<String, Json>, Vec<InputProblem>> {
    let (input, problems) = known_values(workflow, given, file);
    if problems.is_empty() {
        Ok(input)
    } else {
        Err(problems)
    }
}

fn known_values(
    workflow: &Workflow,
    given: &[(String, String)],
    file: Option<&Json>,
) -> (Map<String, Json>, Vec<InputProblem>) {
    let mut problems = Vec::new();
    let mut values: BTreeMap<String, Json> = BTreeMap::new();
    let declared = || workflow.inputs.iter().map(|i| i.name.as_str());
    let unknown = |name: &str| InputProblem {
        code: workflow::Code::UnknownReference.as_str(),
        message: format!("unknown input `{name}`"),
        help: closest(name, declared()).map_or_else(
            || {
                format!(
                    "the workflow declares: {}",
                    declared().collect::<Vec<_>>().join(", ")
                )
            },
            |c| format!("did you mean `{c}`?"),
        ),
    };
    if let Some(file) = file {
        match file.as_object() {
            Some(object) => {
                for (name, value) in object {
                    match workflow.input(name) {
                        Some(input) if fits(value, input.ty) => {
                            values.insert(name.clone(), value.clone());
                        }
                        Some(input) => problems.push(mistyped(name, input.ty, &value.to_string())),
                        None => problems.push(unknown(name)),
                    }
                }
            }
            None => problems.push(InputProblem {
                code: workflow::Code::WrongType.as_str(),
                message: "the input file is not a JSON object".into(),
                help: "write an object such as {\"to_version\": \"v41\"}".into(),
            }),
        }
    }
    for (name, text) in given {
        let Some(input) = workflow.input(name) else {
            problems.push(unknown(name));
            continue;
        };
        match parse(text, input.ty) {
            Some(value) => {
                values.insert(name.clone(), value);
            }
            None => problems.push(mistyped(name, input.ty, text)),
        }
    }
    let mut input = Map::new();
    for declared in &workflow.inputs {
        if let Some(value) = values
            .remove(&declared.name)
            .or_else(|| declared.default.clone())
        {
            input.insert(declared.name.clone(), value);
        }
    }
    (input, problems)
}

fn mistyped(name: &str, ty: ValueType, text: &str) -> InputProblem {
    InputProblem {
        code: workflow::Code::ParamType.as_str(),
        message: format!("input `{name}` expects a {}, found `{text}`", ty.name()),
        help: match ty {
            ValueType::Bool => format!("--input {name}=true or --input {name}=false"),
            ValueType::Number => format!("--input {name}=3"),
            ValueType::StringList => {
                format!("--input {name}=a,b or --input '{name}=[\"a\",\"b\"]'")
            }
            _ => format!("--input {name}=text"),
        },
    }
}

fn parse(text: &str, ty: ValueType) -> Option<Json> {
    match ty {
        ValueType::Bool => match text {
            "true" => Some(Json::Bool(true)),
            "false" => Some(Json::Bool(false)),
            _ => None,
        },
        ValueType::Number => serde_json::from_str::<serde_json::Number>(text)
            .ok()
            .map(Json::Number),
        ValueType::StringList => match serde_json::from_str::<Json>(text) {
            Ok(list @ Json::Array(_)) if fits(&list, ty) => Some(list),
            _ => Some(Json::Array(
                text.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| Json::String(s.trim().to_owned()))
                    .collect(),
            )),
        },
        _ => Some(Json::String(text.to_owned())),
    }
}

fn fits(value: &Json, ty: ValueType) -> bool {
    match ty {
        ValueType::Bool => value.is_boolean(),
        ValueType::Number => value.is_number(),
        ValueType::StringList => value
            .as_array()
            .is_some_and(|items| items.iter().all(Json::is_string)),
        _ => value.is_string(),
    }
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
