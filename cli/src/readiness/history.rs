//! `stepback readiness`'s last day: the `Ready` metrics that each readiness run puts (`catalog::readiness`), read
//! with GetMetricData, per period of the schedule and with the alarm's statistic (`Minimum`: a period with one
//! run that found a step not ready is not ready), and turned into when each step went not ready and came back.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;
use catalog::readiness as facts;

use crate::aws::{self, AwsError, Call, Session};

const GET_METRIC_DATA: Call = Call::new("CloudWatch", "cloudwatch:GetMetricData");

/// How far back the history goes.
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// GetMetricData takes at most 500 queries a request (API reference, `MetricDataQueries`).
const QUERIES_PER_REQUEST: usize = 500;

/// The verdicts of one metric: the whole rollback's (`step` is `None`) or one step's, oldest first, one per
/// period that has a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub step: Option<String>,
    pub verdicts: Vec<(SystemTime, bool)>,
}

/// What a person reads in a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The first period of the day, or one whose verdict differs from the period before.
    NotReady(SystemTime),
    Ready(SystemTime),
    /// No run recorded from the end of one period to the start of a later one: the alarm counts these periods
    /// as not ready (`TreatMissingData: breaching`).
    NoRun {
        from: SystemTime,
        until: SystemTime,
    },
}

impl Series {
    /// The changes of the day: the first verdict, each change of verdict, and each stretch of periods without a
    /// run.
    pub fn changes(&self, period: Duration) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut last: Option<(SystemTime, bool)> = None;
        for &(at, ready) in &self.verdicts {
            if let Some((before, _)) = last
                && at.duration_since(before).unwrap_or_default() > period
            {
                changes.push(Change::NoRun {
                    from: before + period,
                    until: at,
                });
            }
            if last.map(|(_, was)| was) != Some(ready) {
                changes.push(if ready {
                    Change::Ready(at)
                } else {
                    Change::NotReady(at)
                });
            }
            last = Some((at, ready));
        }
        changes
    }

    /// How many periods found it not ready.
    pub fn not_ready_periods(&self) -> usize {
        self.verdicts.iter().filter(|(_, ready)| !ready).count()
    }
}

/// The last day of a workflow's readiness.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// The start of the first period read, a multiple of `period` since the epoch.
    pub from: SystemTime,
    pub until: SystemTime,
    pub period: Duration,
    pub whole: Series,
    /// In the order asked.
    pub steps: Vec<Series>,
}

/// Reads the day before `until` of `workflow`'s metrics, the whole and each of `steps`, in periods of
/// `period_secs` (the schedule's interval, whole minutes, as the alarm's period).
pub async fn history(
    session: &Session,
    workflow: &str,
    steps: &[String],
    period_secs: u64,
    until: SystemTime,
) -> Result<History, AwsError> {
    let period = Duration::from_secs(period_secs.max(60));
    // Periods aligned on the epoch, as CloudWatch rounds a start time down ("Start time less than 15 days ago -
    // Round down to the nearest whole minute", GetMetricData API reference) and as the alarm's periods fall; moto
    // 5.2.5 starts its periods at the StartTime as given, and matches a query with dimensions in any namespace.
    let since_epoch = until
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(DAY)
        .as_secs();
    let from =
        SystemTime::UNIX_EPOCH + Duration::from_secs(since_epoch - since_epoch % period.as_secs());
    let named: Vec<Option<&str>> = std::iter::once(None)
        .chain(steps.iter().map(|s| Some(s.as_str())))
        .collect();
    let mut verdicts: Vec<Vec<(SystemTime, bool)>> = vec![Vec::new(); named.len()];
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&session.config);
    for (chunk_index, chunk) in named.chunks(QUERIES_PER_REQUEST).enumerate() {
        let queries = chunk
            .iter()
            .enumerate()
            .map(|(i, step)| {
                query(
                    chunk_index * QUERIES_PER_REQUEST + i,
                    workflow,
                    *step,
                    period,
                )
            })
            .collect();
        let mut pages = cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(DateTime::from(from))
            .end_time(DateTime::from(until))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws::explain(&e, GET_METRIC_DATA))?;
            for result in page.metric_data_results() {
                let Some(index) = result
                    .id()
                    .and_then(|id| id.strip_prefix('m'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n < verdicts.len())
                else {
                    continue;
                };
                for (at, value) in result.timestamps().iter().zip(result.values()) {
                    if let Ok(at) = SystemTime::try_from(*at) {
                        verdicts[index].push((at, *value >= 1.0));
                    }
                }
            }
        }
    }
    let mut series = named.into_iter().zip(verdicts).map(|(step, mut verdicts)| {
        verdicts.sort_by_key(|(at, _)| *at);
        Series {
            step: step.map(str::to_owned),
            verdicts,
        }
    });
    let whole = series.next().unwrap_or(Series {
        step: None,
        verdicts: Vec::new(),
    });
    Ok(History {
        from,
        until,
        period,
        whole,
        steps: series.collect(),
    })
}

/// The query of one metric, `m<index>` (an id starts with a lowercase letter: API reference, `MetricDataQuery`).
fn query(index: usize, workflow: &str, step: Option<&str>, period: Duration) -> MetricDataQuery {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let mut dimensions = vec![dimension(facts::WORKFLOW_DIMENSION, workflow)];
    dimensions.extend(step.map(|step| dimension(facts::STEP_DIMENSION, step)));
    let metric = Metric::builder()
        .namespace(facts::NAMESPACE)
        .metric_name(facts::METRIC)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(i32::try_from(period.as_secs()).unwrap_or(i32::MAX))
        .stat("Minimum")
        .build();
    MetricDataQuery::builder()
        .id(format!("m{index}"))
        .metric_stat(stat)
        .build()
}
