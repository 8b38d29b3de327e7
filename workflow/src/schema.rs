//! The JSON Schema of the language, derived from the action catalog, for `#:schema` in taplo and
//! Even Better TOML. It describes shapes for completion; `stepback check` remains the authority.

use catalog::{ActionSpec, DURATION_PATTERN};
use serde_json::{Map, Value, json};

/// Descriptions are copied as written (into the ASL `Comment`, for one): never interpolated.
const PLAIN_TEXT: &str = "plain text for people; `${...}` in it is not interpolated";

fn retry_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "attempts": { "type": "integer", "minimum": 0, "maximum": 10, "description": "retries after the first attempt" },
            "interval": { "type": "string", "pattern": DURATION_PATTERN, "description": "delay before the first retry" },
            "backoff": { "type": "number", "minimum": 1, "maximum": 10, "description": "factor between delays" },
            "max_delay": { "type": "string", "pattern": DURATION_PATTERN, "description": "longest delay" },
            "jitter": { "type": "boolean", "description": "randomise delays (FULL jitter)" }
        }
    })
}

fn step_schema(action: &ActionSpec, on_failure: bool) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "action".into(),
        json!({ "const": action.name, "description": action.summary }),
    );
    if !on_failure {
        properties.insert(
            "after".into(),
            json!({ "type": "array", "items": { "type": "string" }, "description": "steps that must finish first" }),
        );
    }
    properties.insert("when".into(), json!({ "type": "string", "description": "run only when this condition holds, e.g. \"input.restore_data\"" }));
    properties.insert("retry".into(), retry_schema());
    properties.insert(
        "timeout".into(),
        json!({ "type": "string", "pattern": DURATION_PATTERN }),
    );
    properties.insert("estimate".into(), json!({ "type": "string", "pattern": DURATION_PATTERN, "description": "expected duration, for planning" }));
    properties.insert(
        "description".into(),
        json!({ "type": "string", "description": PLAIN_TEXT }),
    );
    properties.insert(
        "continue_on_error".into(),
        json!({ "type": "boolean", "description": "record a failure and go on" }),
    );
    if !action.guards.is_empty() {
        properties.insert("allow_unguarded".into(), json!({ "type": "boolean", "description": "accept running without a backup before it" }));
    }
    for param in action.params {
        properties.insert(param.name.into(), param.json_schema());
    }
    let required: Vec<&str> = std::iter::once("action")
        .chain(action.params.iter().filter(|p| p.required).map(|p| p.name))
        .collect();
    json!({
        "type": "object",
        "title": action.name,
        "description": action.summary,
        "additionalProperties": false,
        "properties": properties,
        "required": required,
    })
}

fn steps_schema(on_failure: bool) -> Value {
    let variants: Vec<Value> = catalog::user_actions()
        .map(|a| step_schema(a, on_failure))
        .collect();
    let mut schema = json!({
        "type": "object",
        "propertyNames": { "pattern": "^[a-z][a-z0-9_]{0,39}$" },
        "additionalProperties": { "oneOf": variants }
    });
    if on_failure {
        schema["description"] = json!(ON_FAILURE);
    }
    schema
}

/// What `[on_failure]` steps may read, each a string.
const ON_FAILURE: &str = "steps run one after another when a step fails; their params may read ${failure.step} \
     (the failed step's id), ${failure.error} and ${failure.cause} (its error), and ${failure.completed} (each \
     step done by then and what it changed, e.g. `deploy: ecs.deploy prod/webapp → image_tag v1, ...`; `none` \
     when no step was)";

/// The whole schema, deterministic.
pub fn json_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "stepback.schema.json",
        "title": "stepback rollback workflow",
        "type": "object",
        "additionalProperties": false,
        "required": ["version", "name", "steps"],
        "properties": {
            "version": { "const": 1 },
            "name": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" },
            "description": { "type": "string", "description": PLAIN_TEXT },
            "input": {
                "type": "object",
                "description": "execution input; an input without a default is required, and a required string must not be empty",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["type"],
                    "properties": {
                        "type": { "enum": ["string", "bool", "number", "list"] },
                        "default": {},
                        "description": { "type": "string", "description": PLAIN_TEXT },
                        "max_length": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": catalog::MAX_INPUT_LENGTH,
                            "description": format!(
                                "a string or list input only: the most bytes its value may take as JSON (a string's without its quotes); the machine refuses a longer one. Default {} for a string, {} for a list, more for one that [trigger].input fills from an alarm",
                                catalog::DEFAULT_STRING_LENGTH,
                                catalog::DEFAULT_LIST_LENGTH
                            )
                        }
                    }
                }
            },
            "resources": { "type": "object", "additionalProperties": { "type": "string" } },
            "trigger": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "alarms": { "type": "array", "items": { "type": "string" }, "minItems": 1 },
                    "input": { "type": "object", "description": "inputs filled from ${alarm.name|state|reason|time}" },
                    "cooldown": {
                        "type": "string",
                        "pattern": DURATION_PATTERN,
                        "default": "1h",
                        "description": "an alarm-started run within this long after another run ended does not act; \"0s\" turns it off"
                    },
                    "topic": { "type": "string", "description": "SNS topic ARN told when the cooldown holds an alarm-started run back" }
                }
            },
            "readiness": {
                "type": "object",
                "additionalProperties": false,
                "description": "the deployed rollback runs every step's read-only check on a schedule, publishes a metric per step and for the whole, and tells the topic when it becomes not ready or ready again",
                "properties": {
                    "enabled": { "type": "boolean", "default": true, "description": "false: no schedule, metrics or alarm" },
                    "interval": {
                        "type": "string",
                        "pattern": DURATION_PATTERN,
                        "default": "15m",
                        "description": "how often the checks run: whole minutes, from 1m to 1d"
                    },
                    "topic": { "type": "string", "description": "SNS topic ARN told when the rollback becomes not ready or ready again; default: [trigger].topic" }
                }
            },
            "defaults": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "timeout": { "type": "string", "pattern": DURATION_PATTERN },
                    "retry": retry_schema()
                }
            },
            "steps": steps_schema(false),
            "on_failure": steps_schema(true)
        }
    })
}
