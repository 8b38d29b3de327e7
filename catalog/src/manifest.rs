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

/// The part a state plays in its step's lowering, beyond the step's first state (named the step's id): each is
/// named `<id>: <suffix>`. The one place these names are written: the compiler names states with
/// [`StatePart::name`], and `start --follow` and `rehearse` tell a step's progress with [`StatePart::of`] among
/// the states the manifest gives the step (the audit needs no part: it reads outcomes from the events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatePart {
    /// The Choice that decides whether the step runs.
    When,
    /// The Pass of a step whose `when` is false.
    Skipped,
    /// A polling loop's task that asks whether the operation is done, its Wait, and its Choice.
    Poll,
    Wait,
    Check,
    /// The Pass that keeps a polling step's result once the operation is done.
    Done,
    /// The operation ran and failed.
    Reported,
    /// No end within the step's timeout.
    TimedOut,
    /// The Pass that records the failure, for the failure path or the branch's record.
    Failed,
    /// A branch's record of the failure, which ends the branch; the Pass after the join that raises it.
    EndBranch,
    Raise,
}

impl StatePart {
    const ALL: [StatePart; 11] = [
        StatePart::When,
        StatePart::Skipped,
        StatePart::Poll,
        StatePart::Wait,
        StatePart::Check,
        StatePart::Done,
        StatePart::Reported,
        StatePart::TimedOut,
        StatePart::Failed,
        StatePart::EndBranch,
        StatePart::Raise,
    ];

    pub const fn suffix(self) -> &'static str {
        match self {
            StatePart::When => "when",
            StatePart::Skipped => "skipped",
            StatePart::Poll => "poll",
            StatePart::Wait => "wait",
            StatePart::Check => "check",
            StatePart::Done => "done",
            StatePart::Reported => "failed (reported)",
            StatePart::TimedOut => "timed out",
            StatePart::Failed => "failed",
            StatePart::EndBranch => "end branch",
            StatePart::Raise => "raise",
        }
    }

    /// `<step>: <suffix>`.
    pub fn name(self, step: &str) -> String {
        format!("{step}: {}", self.suffix())
    }

    /// The part `state` plays in `step`'s lowering; `None` for the step's first state and another step's.
    pub fn of(step: &str, state: &str) -> Option<StatePart> {
        let suffix = state.strip_prefix(step)?.strip_prefix(": ")?;
        StatePart::ALL.into_iter().find(|p| p.suffix() == suffix)
    }
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
    fn every_state_part_is_read_back_from_its_name() {
        for part in StatePart::ALL {
            assert_eq!(StatePart::of("deploy", &part.name("deploy")), Some(part));
            // Another step's state, and the step's first state, play no part in this one.
            assert_eq!(StatePart::of("deploy", &part.name("deploy_worker")), None);
        }
        assert_eq!(StatePart::of("deploy", "deploy"), None);
        assert_eq!(StatePart::of("deploy", "deploy: poll (2)"), None);
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
