//! The readiness alarm in the rehearsal. moto's CloudFormation makes no `AWS::CloudWatch::Alarm` and moto never
//! evaluates an alarm (its state changes only by SetAlarmState), so the rehearsal makes it from the template's
//! properties (PutMetricAlarm) and, after each readiness run, evaluates it as CloudWatch would at the end of the
//! run's period: the alarm's statistic of its metric over the period, compared with its threshold, a period
//! with no datapoint as `TreatMissingData` says. In the rehearsal one readiness run stands for one period of the
//! schedule, so the period read starts when the run started (moto starts a GetMetricData period at the StartTime
//! given; CloudWatch would round it down to the minute). The alarm's own SNS message is not sent: moto's
//! SetAlarmState publishes nothing, and the notice that names the steps is the `readiness` function's.

use std::time::SystemTime;

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, StateValue, Statistic,
};
use aws_smithy_types::DateTime;
use serde_json::Value as Json;

use super::RehearseError;
use crate::aws::Session;

/// The alarm as the template defines it.
#[derive(Clone, Debug)]
pub(super) struct ReadinessAlarm {
    name: String,
    namespace: String,
    metric: String,
    dimensions: Vec<(String, String)>,
    statistic: String,
    period: i32,
    threshold: f64,
    comparison: String,
    breaching_when_missing: bool,
}

/// The alarm's state after a readiness run, and the state before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmState {
    pub alarm: String,
    pub before: String,
    pub now: String,
}

fn failed(action: &str, e: impl std::fmt::Display) -> RehearseError {
    RehearseError::Readiness(format!("{action}: {e}"))
}

impl ReadinessAlarm {
    /// Makes the alarm of the template's `properties` (its `ReadinessAlarm`).
    pub(super) async fn create(
        session: &Session,
        properties: &Json,
    ) -> Result<ReadinessAlarm, RehearseError> {
        let text = |name: &str| properties[name].as_str().unwrap_or_default().to_owned();
        let alarm = ReadinessAlarm {
            name: text("AlarmName"),
            namespace: text("Namespace"),
            metric: text("MetricName"),
            dimensions: properties["Dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    let field = |f: &str| d[f].as_str().unwrap_or_default().to_owned();
                    (field("Name"), field("Value"))
                })
                .collect(),
            statistic: text("Statistic"),
            period: properties["Period"]
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(60),
            threshold: properties["Threshold"].as_f64().unwrap_or_default(),
            comparison: text("ComparisonOperator"),
            breaching_when_missing: text("TreatMissingData") == "breaching",
        };
        let actions = |name: &str| -> Vec<String> {
            properties[name]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        };
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&session.config);
        cloudwatch
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(text("AlarmDescription"))
            .namespace(&alarm.namespace)
            .metric_name(&alarm.metric)
            .set_dimensions(Some(alarm.sdk_dimensions()))
            .statistic(Statistic::from(alarm.statistic.as_str()))
            .period(alarm.period)
            .evaluation_periods(1)
            .threshold(alarm.threshold)
            .comparison_operator(ComparisonOperator::from(alarm.comparison.as_str()))
            .treat_missing_data(text("TreatMissingData"))
            .set_alarm_actions(Some(actions("AlarmActions")))
            .set_ok_actions(Some(actions("OKActions")))
            .send()
            .await
            .map_err(|e| failed("cloudwatch:PutMetricAlarm", e))?;
        // "INSUFFICIENT_DATA – The alarm has just started" (CloudWatch user guide, "Alarm evaluation"); moto
        // 5.2.5 makes a new alarm OK.
        cloudwatch
            .set_alarm_state()
            .alarm_name(&alarm.name)
            .state_value(StateValue::InsufficientData)
            .state_reason("the alarm has just started")
            .send()
            .await
            .map_err(|e| failed("cloudwatch:SetAlarmState", e))?;
        Ok(alarm)
    }

    fn sdk_dimensions(&self) -> Vec<Dimension> {
        self.dimensions
            .iter()
            .map(|(name, value)| Dimension::builder().name(name).value(value).build())
            .collect()
    }

    /// Evaluates the alarm on the period that began at `since` (a readiness run's start), and sets its state.
    pub(super) async fn evaluate(
        &self,
        session: &Session,
        since: SystemTime,
    ) -> Result<AlarmState, RehearseError> {
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&session.config);
        let metric = Metric::builder()
            .namespace(&self.namespace)
            .metric_name(&self.metric)
            .set_dimensions(Some(self.sdk_dimensions()))
            .build();
        let query = MetricDataQuery::builder()
            .id("readiness")
            .metric_stat(
                MetricStat::builder()
                    .metric(metric)
                    .period(self.period)
                    .stat(&self.statistic)
                    .build(),
            )
            .build();
        let whole_seconds = since
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let start = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(whole_seconds);
        let data = cloudwatch
            .get_metric_data()
            .metric_data_queries(query)
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(
                SystemTime::now() + std::time::Duration::from_secs(1),
            ))
            .send()
            .await
            .map_err(|e| failed("cloudwatch:GetMetricData", e))?;
        let value = data
            .metric_data_results()
            .iter()
            .flat_map(|r| r.values())
            .copied()
            .reduce(f64::min);
        let breaching = match value {
            Some(value) => match self.comparison.as_str() {
                "LessThanThreshold" => value < self.threshold,
                "LessThanOrEqualToThreshold" => value <= self.threshold,
                "GreaterThanThreshold" => value > self.threshold,
                _ => value >= self.threshold,
            },
            None => self.breaching_when_missing,
        };
        let before = cloudwatch
            .describe_alarms()
            .alarm_names(&self.name)
            .send()
            .await
            .map_err(|e| failed("cloudwatch:DescribeAlarms", e))?
            .metric_alarms()
            .first()
            .and_then(|a| a.state_value())
            .map_or_else(|| "INSUFFICIENT_DATA".to_owned(), |s| s.as_str().to_owned());
        let now = if breaching {
            StateValue::Alarm
        } else {
            StateValue::Ok
        };
        if before != now.as_str() {
            let reason = match value {
                Some(value) => format!(
                    "the period's {} {value}, {} {}",
                    self.statistic, self.comparison, self.threshold
                ),
                None => "no datapoint in the period, treated as breaching".to_owned(),
            };
            cloudwatch
                .set_alarm_state()
                .alarm_name(&self.name)
                .state_value(now.clone())
                .state_reason(reason)
                .send()
                .await
                .map_err(|e| failed("cloudwatch:SetAlarmState", e))?;
        }
        Ok(AlarmState {
            alarm: self.name.clone(),
            before,
            now: now.as_str().to_owned(),
        })
    }
}
