//! CloudWatch: alarms, and metrics with good datapoints.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use catalog::metric::{self, Comparison};
use serde_json::{Map, Value as Json};

use super::{KnownParams, Seeding, World, failed};
use crate::aws::AwsError;

/// `Need::Alarms`: each alarm, in OK.
pub(super) async fn alarms(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    alarms: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    for alarm in params.list(alarms) {
        cloudwatch
            .put_metric_alarm()
            .alarm_name(&alarm)
            .namespace("Rehearsal")
            .metric_name("Errors")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .send()
            .await
            .map_err(|e| failed("cloudwatch:PutMetricAlarm", e))?;
        world.created.push(format!("CloudWatch alarm {alarm} (OK)"));
    }
    Ok(())
}

/// `Need::Metric`: good datapoints over the check's window and an hour ahead.
#[expect(
    clippy::too_many_arguments,
    reason = "one for each param that `Need::Metric` names"
)]
pub(super) async fn metric(
    world: &mut World,
    seeding: &mut Seeding<'_>,
    params: &KnownParams<'_>,
    namespace: &str,
    metric: &str,
    dimensions: &str,
    period: &str,
    periods: &str,
    window: &str,
    comparison: &str,
    threshold: &str,
) -> Result<(), AwsError> {
    let config = &seeding.session.config;
    let (Some(namespace), Some(name), Some(comparison), Some(threshold)) = (
        params.text(namespace),
        params.text(metric),
        params
            .text(comparison)
            .and_then(|c| Comparison::from_symbol(&c)),
        params.get(threshold).and_then(Json::as_f64),
    ) else {
        return Ok(());
    };
    let seconds =
        |name: &str, default: u64| params.get(name).and_then(Json::as_u64).unwrap_or(default);
    let period = seconds(period, metric::DEFAULT_PERIOD_SECS);
    let window = metric::window_secs(
        params.get(window).and_then(Json::as_u64),
        period,
        seconds(periods, metric::DEFAULT_PERIODS),
    );
    let dimensions: Vec<_> = params
        .get(dimensions)
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        // A dimension may name what the world created under another name (an instance).
        .filter_map(|(name, value)| {
            let value = world.renamed(value.as_str()?);
            Some(Dimension::builder().name(name).value(value).build())
        })
        .collect();
    let value = comparison.good_value(threshold);
    put_good_datapoints(
        config,
        &namespace,
        &name,
        &dimensions,
        value,
        period,
        window,
    )
    .await?;
    world.created.push(format!(
        "CloudWatch metric {namespace} {name}: {value} every {}, from {} ago to {} ahead",
        workflow::duration::format(period),
        workflow::duration::format(window),
        workflow::duration::format(METRIC_AHEAD_SECS),
    ));
    Ok(())
}

/// How far ahead of now a seeded metric has datapoints: a rehearsal's check reads whole periods up to its own
/// now, which is later than the seeding.
const METRIC_AHEAD_SECS: u64 = 60 * 60;
/// PutMetricData takes at most 1,000 datapoints a call (CloudWatch API reference).
const DATAPOINTS_PER_PUT: usize = 1000;

/// One datapoint of `value` at every period boundary from `window` ago to [`METRIC_AHEAD_SECS`] ahead: one
/// sample a period, so every statistic but `SampleCount` (1) reads `value`.
async fn put_good_datapoints(
    config: &aws_config::SdkConfig,
    namespace: &str,
    name: &str,
    dimensions: &[Dimension],
    value: f64,
    period: u64,
    window: u64,
) -> Result<(), AwsError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let first = (now - now % period).saturating_sub(window);
    let datapoints: Vec<MetricDatum> = (first..now + METRIC_AHEAD_SECS)
        .step_by(usize::try_from(period.max(1)).unwrap_or(usize::MAX))
        .map(|at| {
            MetricDatum::builder()
                .metric_name(name)
                .set_dimensions(Some(dimensions.to_vec()))
                .timestamp(aws_smithy_types::DateTime::from_secs(
                    i64::try_from(at).unwrap_or_default(),
                ))
                .value(value)
                // CloudWatch keeps periods under a minute only for high-resolution metrics.
                .storage_resolution(if period < 60 { 1 } else { 60 })
                .build()
        })
        .collect();
    // The emulator's bridge (`rehearsal_front::moto_gaps`) reads CBOR, not gzip: PutMetricData compresses a body over
    // 10 KB.
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(config)
            .disable_request_compression(true)
            .build(),
    );
    for chunk in datapoints.chunks(DATAPOINTS_PER_PUT) {
        cloudwatch
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| failed("cloudwatch:PutMetricData", e))?;
    }
    Ok(())
}

/// `--breach` of a `check.alarms` step: its alarms in the state it does not wait for.
pub(super) async fn breach(
    world: &mut World,
    config: &aws_config::SdkConfig,
    step: &str,
    params: &Map<String, Json>,
) -> Result<(), AwsError> {
    let expected = params.get("state").and_then(Json::as_str).unwrap_or("OK");
    let state = if expected == "ALARM" {
        aws_sdk_cloudwatch::types::StateValue::Ok
    } else {
        aws_sdk_cloudwatch::types::StateValue::Alarm
    };
    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    for alarm in super::strings(params, "alarms") {
        cloudwatch
            .set_alarm_state()
            .alarm_name(&alarm)
            .state_value(state.clone())
            .state_reason(format!("set by stepback rehearse --breach {}", step))
            .send()
            .await
            .map_err(|e| failed("cloudwatch:SetAlarmState", e))?;
        world.created.push(format!(
            "CloudWatch alarm {alarm} set to {}, for --breach {}",
            state.as_str(),
            step
        ));
    }
    Ok(())
}
