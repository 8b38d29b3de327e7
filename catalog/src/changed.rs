//! What a step that is done changed, in one line for the person paged when the rollback fails: the Lambda
//! answers it as [`crate::contract::Response::changed`], the state machine keeps it in the step's record when
//! an `[on_failure]` step reads `${failure.completed}`, and the failure path lists the done steps' lines.

use serde_json::{Map, Value};

use crate::{ActionSpec, ValueType};

/// The most bytes a step's line takes as JSON, quotes included; the Lambda cuts it to fit, ending in `…`. The
/// state data counts it for every step (`compiler::state_size`).
pub const CHANGED_BYTES: usize = 256;
/// The most characters of one value in the line: an ARN shows its resource id, a long text its start.
const VALUE_CHARS: usize = 64;

/// `<action> <resource> → <output> <value>, ...`: the resource it changes as the step's params name it (the
/// catalog's [`crate::Changes`], items of a list joined by `,`), then its outputs that fit on a line (strings,
/// numbers and bools; a list or table by its length), e.g. `ecs.deploy prod/webapp-web → image_tag v1,
/// task_definition_before webapp-web:2, task_definition_after webapp-web:1`. At most [`CHANGED_BYTES`].
pub fn line(
    action: &ActionSpec,
    params: &Map<String, Value>,
    output: &Map<String, Value>,
) -> String {
    let mut line = action.name.to_owned();
    let resource = action.changes.iter().find_map(|changes| {
        let names: Vec<String> = changes
            .params
            .iter()
            .filter_map(|&p| params.get(p).and_then(shown))
            .collect();
        (!names.is_empty()).then(|| names.join("/"))
    });
    if let Some(resource) = resource {
        line.push(' ');
        line.push_str(&resource);
    }
    let outputs: Vec<String> = action
        .outputs
        .iter()
        .filter(|o| o.ty != ValueType::Series)
        .filter_map(|o| Some(format!("{} {}", o.name, shown(output.get(o.name)?)?)))
        .collect();
    if !outputs.is_empty() {
        line.push_str(" → ");
        line.push_str(&outputs.join(", "));
    }
    cut(line, CHANGED_BYTES)
}

/// A value as the line shows it; `None` when it says nothing (null, empty).
fn shown(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => arn_resource_id(s).unwrap_or(s).to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) if items.iter().all(|i| i.is_string()) && items.len() <= 3 => {
            let items: Vec<String> = items.iter().filter_map(shown).collect();
            (!items.is_empty()).then(|| items.join(","))?
        }
        Value::Array(items) => format!("({} items)", items.len()),
        Value::Object(map) => format!("({} entries)", map.len()),
        Value::Null => return None,
    };
    Some(if text.chars().count() > VALUE_CHARS {
        text.chars().take(VALUE_CHARS - 1).chain(['…']).collect()
    } else {
        text
    })
}

/// `arn:aws:ecs:us-east-1:123456789012:task-definition/webapp:1` → `webapp:1`: the resource after its type
/// (ARNs are `arn:partition:service:region:account:resource`, the resource `type/id` or `type:id`).
fn arn_resource_id(text: &str) -> Option<&str> {
    let resource = text.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    Some(
        resource
            .split_once(['/', ':'])
            .map_or(resource, |(_, id)| id),
    )
}

/// `text` cut to at most `bytes` as JSON, ending in `…` when cut.
fn cut(text: String, bytes: usize) -> String {
    let json = |s: &str| serde_json::to_string(s).map_or(usize::MAX, |j| j.len());
    if json(&text) <= bytes {
        return text;
    }
    let mut kept = String::new();
    for c in text.chars() {
        kept.push(c);
        if json(&kept) + '…'.len_utf8() > bytes {
            kept.pop();
            break;
        }
    }
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(action: &str, params: Value, output: Value, expect: &str) {
        let action = crate::action(action).expect("in the catalog");
        let (Value::Object(params), Value::Object(output)) = (params, output) else {
            panic!("objects")
        };
        assert_eq!(line(action, &params, &output), expect);
    }

    #[test]
    fn a_deploy_names_its_service_and_what_it_runs_now() {
        check(
            "ecs.deploy",
            json!({"cluster": "prod", "service": "webapp-web", "image_tag": "previous"}),
            json!({
                "image_tag": "v1",
                "task_definition_before": "arn:aws:ecs:us-east-1:123456789012:task-definition/webapp-web:2",
                "task_definition_after": "arn:aws:ecs:us-east-1:123456789012:task-definition/webapp-web:1",
            }),
            "ecs.deploy prod/webapp-web → image_tag v1, task_definition_before webapp-web:2, \
             task_definition_after webapp-web:1",
        );
    }

    #[test]
    fn an_action_that_changes_nothing_shows_its_outputs() {
        check(
            "rds.snapshot",
            json!({"instance": "webapp-db"}),
            json!({"snapshot_id": "webapp-db-pre-rollback-1a2b3c4d", "instance": "webapp-db", "cluster": ""}),
            "rds.snapshot → snapshot_id webapp-db-pre-rollback-1a2b3c4d, instance webapp-db",
        );
    }

    #[test]
    fn lists_show_their_items_or_their_length() {
        check(
            "ssm.command",
            json!({"instance_ids": ["i-1", "i-2"], "commands": ["true"]}),
            json!({"command_id": "c-1"}),
            "ssm.command i-1,i-2 → command_id c-1",
        );
        let many: Vec<String> = (0..40).map(|i| format!("10.0.0.{i}:80")).collect();
        check(
            "alb.register",
            json!({"target_group": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/0a", "targets": many}),
            json!({"targets": many}),
            "alb.register web/0a → targets (40 items)",
        );
    }

    #[test]
    fn a_long_line_is_cut_to_its_bound_as_json() {
        for text in ["x", "\"", "\u{1}", "é"].map(|c| c.repeat(300)) {
            let cut = cut(text, CHANGED_BYTES);
            let json = serde_json::to_string(&cut).expect("a string");
            assert!(
                json.len() <= CHANGED_BYTES && json.len() > CHANGED_BYTES - 10,
                "{json}"
            );
            assert!(cut.ends_with('…'));
        }
        assert_eq!(cut("short".into(), CHANGED_BYTES), "short");
    }
}
