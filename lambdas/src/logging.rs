//! The functions' logs, to CloudWatch through stdout: the level that Lambda's advanced logging controls set
//! (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` as a bare level; `INFO` by default), JSON when
//! `AWS_LAMBDA_LOG_FORMAT=JSON`. No task token is ever logged, at any level: at TRACE, lambda_runtime logs the raw
//! event, which carries an approval's token (`raw JSON event received from Lambda`), so that one target never goes
//! below DEBUG. A level is all the environment sets, never per-crate directives, so none can turn it back on.
//! `lambdas/tests/it/bootstrap.rs` runs the binary at TRACE and looks for the token in what it wrote.

use std::str::FromStr;

use lambda_runtime::tracing::subscriber::EnvFilter;
use lambda_runtime::tracing::subscriber::filter::{Directive, LevelFilter};

/// Where lambda_runtime logs each raw event at TRACE.
const RAW_EVENT_TARGET: &str = "lambda_runtime::layers::api_response";

/// Installs the subscriber; call once, before the runtime starts.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|text| LevelFilter::from_str(&text).ok())
        .unwrap_or(LevelFilter::INFO);
    let mut filter = EnvFilter::default().add_directive(level.into());
    if let Ok(raw_event) = Directive::from_str(&format!("{RAW_EVENT_TARGET}=debug")) {
        filter = filter.add_directive(raw_event);
    }
    let collector = lambda_runtime::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        collector.json().init();
    } else {
        collector.init();
    }
}
