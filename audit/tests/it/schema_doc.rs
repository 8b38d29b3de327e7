//! `docs/audit-json.md` lists every field that `--format json` writes, as `path` with `[]` for list items.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Field paths of a report's JSON: `steps[].outputs` is a leaf (its keys are the action's outputs).
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.insert(path.clone());
                if !matches!(path.as_str(), "steps[].outputs" | "trigger.inputs[].value") {
                    paths(v, &path, out);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| paths(v, &format!("{prefix}[]"), out)),
        _ => {}
    }
}

#[test]
fn every_json_field_is_documented() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/audit-json.md"),
    )
    .expect("docs/audit-json.md");
    let mut found = BTreeSet::new();
    let mut visit = |path: &Path| {
        let json: Value =
            serde_json::from_str(&audit::render::json(&crate::audit(path))).expect("JSON");
        paths(&json, "", &mut found);
    };
    insta::glob!("../data", "**/*.json", |path| visit(path));
    let missing: Vec<&String> = found
        .iter()
        .filter(|p| !doc.contains(&format!("| `{p}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "fields missing from docs/audit-json.md: {missing:?}"
    );
}
