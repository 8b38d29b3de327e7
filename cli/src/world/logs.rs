//! CloudWatch Logs: log groups.

use serde_json::{Map, Value as Json};

use super::{KnownParams, Seeding, World, failed};
use crate::aws::AwsError;

/// `Need::LogGroups`: each log group.
pub(super) async fn log_groups(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    log_groups: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    for group in params.list(log_groups) {
        logs.create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .map_err(|e| failed("logs:CreateLogGroup", e))?;
        world.created.push(format!("log group {group}"));
    }
    Ok(())
}

/// `--breach` of a `check.logs` step: one line more than its threshold in each of its log groups, holding every
/// term of its pattern.
pub(super) async fn breach(
    world: &mut World,
    config: &aws_config::SdkConfig,
    step: &str,
    params: &Map<String, Json>,
) -> Result<(), AwsError> {
    let pattern = params
        .get("pattern")
        .and_then(Json::as_str)
        .unwrap_or_default();
    if pattern.trim_start().starts_with(['{', '[']) {
        return Err(failed(
            &format!("--breach {step}"),
            format!(
                "its pattern `{pattern}` is not terms; the rehearsal writes lines for term patterns only"
            ),
        ));
    }
    let line = pattern
        .split_whitespace()
        .filter(|term| !term.starts_with('-'))
        .map(|term| term.trim_start_matches('?').trim_matches('"'))
        .collect::<Vec<_>>()
        .join(" ");
    let line = format!("{line} (written by stepback rehearse --breach {})", step);
    let count = params.get("threshold").and_then(Json::as_u64).unwrap_or(0) + 1;
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or_default());
    for group in super::strings(params, "log_groups") {
        let stream = "stepback-rehearse-breach";
        logs.create_log_stream()
            .log_group_name(&group)
            .log_stream_name(stream)
            .send()
            .await
            .map_err(|e| failed("logs:CreateLogStream", e))?;
        let events = (0..count).map(|_| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now)
                .message(&line)
                .build()
        });
        logs.put_log_events()
            .log_group_name(&group)
            .log_stream_name(stream)
            .set_log_events(events.collect::<Result<Vec<_>, _>>().ok())
            .send()
            .await
            .map_err(|e| failed("logs:PutLogEvents", e))?;
        world.created.push(format!(
            "log group {group}: {count} line(s) `{line}`, for --breach {}",
            step
        ));
    }
    Ok(())
}
