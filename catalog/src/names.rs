//! The identifiers that the Lambdas derive from a step's params, and the IAM patterns that name them: both
//! come from the one function here, so a role always covers the names its Lambda makes.
//!
//! RDS stores DB instance and cluster identifiers as lowercase strings, and allows 63 letters, digits or
//! hyphens (RDS API reference, CreateDBInstance `DBInstanceIdentifier` and CreateDBCluster
//! `DBClusterIdentifier`: "This parameter is stored as a lowercase string"). An ARN names the stored form, so a
//! pattern built from `Orders` as written would never match `db:orders`.

/// The guard's lock table, one per state machine: `<state machine>-stepback-lock`, which the template creates
/// and the guard finds from its execution's state machine. A workflow's name is `[A-Za-z0-9-_]{1,64}`, so the
/// table's name keeps to DynamoDB's `[a-zA-Z0-9_.-]{3,255}` (DynamoDB developer guide, "Naming rules").
pub fn lock_table(state_machine: &str) -> String {
    format!("{state_machine}{LOCK_TABLE_SUFFIX}")
}

/// What [`lock_table`] appends; the guard's IAM pattern ends with it (a catalog test keeps them equal).
pub const LOCK_TABLE_SUFFIX: &str = "-stepback-lock";

/// The attempt key that ends every derived id: eight hex digits (`lambdas::Call::attempt_key`).
pub const KEY_LEN: usize = 8;

/// RDS allows 63 characters in an instance or cluster identifier.
pub const RDS_ID_MAX: usize = 63;

/// An instance or cluster identifier as RDS stores it, and as its ARN names it.
pub fn rds_id(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// A name `rds.restore` derives from the original's identifier: `<original>-<marker>-<key>`, the original cut
/// (never the marker or the key) so that the whole fits RDS's 63 characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derived {
    /// The restored instance or cluster, `<id>-rb-<key>`.
    Restored,
    /// Where the original is parked by a swap, `<id>-pre-rollback-<key>`.
    Parked,
    /// A reader of the restored Aurora cluster, `<cluster>-rb-reader-<n>-<key>` ([`Derived::reader`]).
    Reader,
}

/// Room for a reader's number and its hyphen: Aurora has at most 15 readers.
const READER_INDEX_LEN: usize = 3;

impl Derived {
    /// The modifier that names it in a catalog pattern: `{instance@restored}`.
    pub fn from_modifier(modifier: &str) -> Option<Derived> {
        match modifier {
            "restored" => Some(Derived::Restored),
            "parked" => Some(Derived::Parked),
            "reader" => Some(Derived::Reader),
            _ => None,
        }
    }

    fn marker(self) -> &'static str {
        match self {
            Derived::Restored => "rb",
            Derived::Parked => "pre-rollback",
            Derived::Reader => "rb-reader",
        }
    }

    /// The identifier for one attempt key.
    pub fn id(self, original: &str, key: &str) -> String {
        format!("{}-{key}", self.stem(original))
    }

    /// The `n`th reader (from 1) of the cluster restored from `original`'s snapshot, for one attempt key.
    pub fn reader(original: &str, n: usize, key: &str) -> String {
        Derived::Reader.id(original, &format!("{n}-{key}"))
    }

    /// The IAM pattern for every attempt key. `original` may hold `*` where the workflow knows the text only at
    /// run time (`webapp-${input.env}` compiles to `webapp-*`): what follows the first `*` may be cut, so only
    /// what comes before it is kept.
    pub fn pattern(self, original: &str) -> String {
        match original.split_once('*') {
            Some((known, _)) if known.len() < self.room() => {
                format!("{}*-{}-*", rds_id(known), self.marker())
            }
            Some((known, _)) => format!("{}-*", self.stem(known)),
            None => format!("{}-*", self.stem(original)),
        }
    }

    /// How much of the original fits beside `-<marker>-<key>`.
    fn room(self) -> usize {
        let index = match self {
            Derived::Reader => READER_INDEX_LEN,
            Derived::Restored | Derived::Parked => 0,
        };
        RDS_ID_MAX - KEY_LEN - index - self.marker().len() - 2
    }

    /// `<original, as stored, cut>-<marker>`; a cut that ends on a hyphen drops it (RDS refuses `--`).
    fn stem(self, original: &str) -> String {
        let mut base = rds_id(original);
        base.truncate(self.room());
        format!("{}-{}", base.trim_end_matches('-'), self.marker())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0a1b2c3d";

    /// What IAM's `*` matches, for these tests: a pattern with one or two stars.
    fn covers(pattern: &str, id: &str) -> bool {
        let parts: Vec<&str> = pattern.split('*').collect();
        let mut rest = id;
        for (i, part) in parts.iter().enumerate() {
            if i == 0 {
                let Some(after) = rest.strip_prefix(part) else {
                    return false;
                };
                rest = after;
            } else if i == parts.len() - 1 {
                return rest.ends_with(part);
            } else {
                let Some(at) = rest.find(part) else {
                    return false;
                };
                rest = &rest[at + part.len()..];
            }
        }
        rest.is_empty()
    }

    #[test]
    fn derived_ids_are_stored_forms_within_63_characters_and_their_patterns_cover_them() {
        let long = format!("orders-{}", "x".repeat(56));
        assert_eq!(long.len(), 63);
        for original in [
            "orders",
            "Orders-DB",
            long.as_str(),
            "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w",
        ] {
            for derived in [Derived::Restored, Derived::Parked] {
                let id = derived.id(original, KEY);
                assert!(id.len() <= RDS_ID_MAX, "{id}");
                assert_eq!(id, rds_id(&id), "{id}");
                assert!(!id.contains("--") && id.ends_with(KEY), "{id}");
                let pattern = derived.pattern(original);
                assert!(covers(&pattern, &id), "{pattern} does not cover {id}");
            }
            let reader = Derived::reader(original, 15, KEY);
            assert!(reader.len() <= RDS_ID_MAX, "{reader}");
            assert!(!reader.contains("--") && reader.ends_with(KEY), "{reader}");
            let pattern = Derived::Reader.pattern(original);
            assert!(
                covers(&pattern, &reader),
                "{pattern} does not cover {reader}"
            );
        }
        assert_eq!(
            Derived::reader("Orders", 2, KEY),
            "orders-rb-reader-2-0a1b2c3d"
        );
        assert_eq!(Derived::Restored.id("Orders", KEY), "orders-rb-0a1b2c3d");
        assert_eq!(Derived::Parked.pattern("Orders"), "orders-pre-rollback-*");
        assert_eq!(
            Derived::Restored.id(&long, KEY),
            format!("orders-{}-rb-0a1b2c3d", "x".repeat(44))
        );
    }

    #[test]
    fn a_pattern_from_text_known_at_run_time_keeps_what_comes_before_it() {
        assert_eq!(Derived::Restored.pattern("Web-*-db"), "web-*-rb-*");
        for env in [
            "prod",
            "a-very-long-environment-name-that-gets-cut-off-here",
        ] {
            let id = Derived::Restored.id(&format!("Web-{env}-db"), KEY);
            assert!(covers("web-*-rb-*", &id), "{id}");
        }
    }
}
