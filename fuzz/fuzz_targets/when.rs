//! `when` conditions: arbitrary text as the condition of a step that can read inputs of every type and the
//! outputs of an earlier step, through check, compile and plan (the compiler lowers it to a Choice).
#![no_main]

use libfuzzer_sys::fuzz_target;

const WORKFLOW: &str = r#"version = 1
name = "when"

[input]
environment = { type = "string", default = "prod" }
replicas = { type = "number", default = 2 }
dry_run = { type = "bool", default = false }

[steps.probe]
action = "check.http"
url = "https://app.example.com/health"
continue_on_error = true

[steps.act]
action = "wait"
after = ["probe"]
duration = "1s"
when = "#;

fuzz_target!(|data: &[u8]| {
    let Ok(condition) = std::str::from_utf8(data) else {
        return;
    };
    // A TOML basic string holding exactly `condition`, escapes and all.
    let quoted = toml::Value::String(condition.to_owned()).to_string();
    stepback_fuzz::check_compile_plan(&format!("{WORKFLOW}{quoted}\n"));
});
