//! What `stepback audit` needs to read an execution back as the workflow's steps, written by the compiler into
//! the definition's top-level `Comment` (ASL allows no other top-level field for it). An execution history names
//! only states, and a Lambda's payload names only its own step; the manifest says which states belong to which
//! step, so that the audit never parses state names.
//!
//! The `Comment` is the human line, a newline, [`MARK`], then the manifest as compact JSON.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Starts the manifest's line in the definition's `Comment`.
pub const MARK: &str = "stepback-manifest: ";

/// Bumped on any change that an older audit would misread.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub workflow: String,
    /// The inputs' defaults, so that the audit can tell given inputs from filled ones.
    #[serde(default)]
    pub defaults: Map<String, Value>,
    /// `[steps]` in declaration order, then `[on_failure]` in order.
    pub steps: Vec<ManifestStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestStep {
    pub id: String,
    /// The catalog name, e.g. `rds.snapshot`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// The `when` condition as the language writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    pub estimate_secs: u64,
    pub timeout_secs: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub continue_on_error: bool,
    /// An `[on_failure]` step.
    #[serde(default, skip_serializing_if = "is_false")]
    pub on_failure: bool,
    /// Every state the compiler emitted for this step; no state belongs to two steps.
    pub states: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Manifest {
    /// The definition's `Comment`: `human`, then the manifest's line.
    pub fn to_comment(&self, human: &str) -> String {
        // Serialising strings, numbers and maps of JSON values cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        // Deploy-time substitution reads `${` anywhere in the definition, and a default may hold one. `${` occurs
        // only inside the manifest's JSON strings, where `\u007b` is the same `{` to `from_comment`.
        let json = json.replace("${", "$\\u007b");
        format!("{human}\n{MARK}{json}")
    }

    /// The manifest in a definition's `Comment`: `None` when there is none (not compiled by stepback).
    pub fn from_comment(comment: &str) -> Option<Result<Manifest, serde_json::Error>> {
        let (_, json) = comment.split_once(MARK)?;
        Some(serde_json::from_str(json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comment_round_trips() {
        let manifest = Manifest {
            version: VERSION,
            workflow: "w".into(),
            defaults: Map::new(),
            steps: vec![ManifestStep {
                id: "a".into(),
                action: "wait".into(),
                after: vec![],
                when: Some("input.x".into()),
                estimate_secs: 1,
                timeout_secs: 2,
                continue_on_error: false,
                on_failure: false,
                states: vec!["a".into(), "a: when".into()],
            }],
        };
        let comment = manifest.to_comment("w (stepback)");
        assert!(comment.starts_with("w (stepback)\nstepback-manifest: {"));
        assert_eq!(
            Manifest::from_comment(&comment).and_then(Result::ok),
            Some(manifest)
        );
        assert!(Manifest::from_comment("w (stepback)").is_none());
    }

    #[test]
    fn a_default_holding_a_placeholder_round_trips_without_one() {
        let mut defaults = Map::new();
        defaults.insert("tag".into(), Value::from("${LATEST}"));
        let manifest = Manifest {
            version: VERSION,
            workflow: "w".into(),
            defaults,
            steps: vec![],
        };
        let comment = manifest.to_comment("w (stepback)");
        assert!(!comment.contains("${"), "{comment}");
        assert_eq!(
            Manifest::from_comment(&comment).and_then(Result::ok),
            Some(manifest)
        );
    }
}
