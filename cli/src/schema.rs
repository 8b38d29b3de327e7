use crate::output::outln;
use std::process::ExitCode;

pub fn run() -> ExitCode {
    let schema = workflow::schema::json_schema();
    // Serialising a serde_json::Value cannot fail.
    outln!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    ExitCode::SUCCESS
}
