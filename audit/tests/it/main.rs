//! One integration-test binary for the audit: the recorded and hand-written histories rendered (snapshots),
//! bad input, the HTML in a real browser, and the step events `start --follow` shows.

mod bad_input;
mod browser;
mod fixtures;
mod follow;
mod schema_doc;

use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Reads and audits a history file; panics with the error when it does not audit.
fn audit(path: &Path) -> audit::Report {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    audit::audit_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
