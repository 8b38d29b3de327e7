//! `check.metric`: every invocation reads one metric over the window with GetMetricData and looks at its newest
//! datapoints. Done when the newest `periods` are all good and one period apart; otherwise running, with a
//! progress line that says what is missing, and the state machine reads again a period later until the step's
//! timeout (`Stepback.Timeout`).
//!
//! A period without a datapoint is not good: it ends a run as a bad value does, and a metric with no datapoint
//! in the window never passes (an error count that the application publishes only when there are errors reads
//! as "no data", not as "no errors"; publish zeros). Only whole periods are read, so a period still filling
//! does not count. The newest datapoint may be older than the newest period: CloudWatch publishes some
//! metrics minutes late, and the window says how old a good run may be.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use catalog::contract::{Execution, Finding, Response, Verdict};
use catalog::metric::{self, Comparison};
use serde::{Deserialize, Serialize};

use crate::actions::{Action, Handler, LongAction};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done, running};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub namespace: String,
    pub metric: String,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    pub statistic: Option<String>,
    /// Seconds.
    pub period: Option<u64>,
    pub comparison: String,
    pub threshold: f64,
    pub periods: Option<u64>,
    /// Seconds.
    pub window: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub value: f64,
    /// At most [`metric::SERIES_POINTS`], the newest; oldest first.
    pub series: Vec<Datapoint>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Datapoint {
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    pub value: f64,
}

fn rfc3339<S: serde::Serializer>(secs: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time(*secs))
}

fn time(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// One read: which metric, aggregated how, over how long.
struct Read<'p> {
    namespace: &'p str,
    metric: &'p str,
    dimensions: &'p BTreeMap<String, String>,
    statistic: &'p str,
    period: u64,
    window: u64,
}

/// What the step asks for, the params checked and their defaults filled.
struct Query<'p> {
    read: Read<'p>,
    comparison: Comparison,
    threshold: f64,
    periods: u64,
}

impl<'p> Query<'p> {
    /// The language checks literals; a statistic, a threshold or a count may come from the execution.
    fn of(params: &'p Params) -> Result<Query<'p>, ActionError> {
        let statistic = params
            .statistic
            .as_deref()
            .unwrap_or(metric::DEFAULT_STATISTIC);
        if !metric::is_statistic(statistic) {
            return Err(ActionError::invalid_input(format!(
                "statistic `{statistic}` is not one of {}",
                metric::STATISTIC_FORMS
            )));
        }
        let comparison = Comparison::from_symbol(&params.comparison).ok_or_else(|| {
            ActionError::invalid_input(format!(
                "comparison `{}` is not one of {}",
                params.comparison,
                Comparison::SYMBOLS.join(", ")
            ))
        })?;
        if !params.threshold.is_finite() {
            return Err(ActionError::invalid_input(
                "threshold is not a finite number",
            ));
        }
        let period = params.period.unwrap_or(metric::DEFAULT_PERIOD_SECS);
        if !metric::is_period(period) {
            return Err(ActionError::invalid_input(format!(
                "period of {period}s is not 1, 5, 10, 30 s or a multiple of 60 s"
            )));
        }
        let periods = params.periods.unwrap_or(metric::DEFAULT_PERIODS);
        if !(1..=metric::MAX_PERIODS).contains(&periods) {
            return Err(ActionError::invalid_input(format!(
                "periods = {periods} is not from 1 to {}",
                metric::MAX_PERIODS
            )));
        }
        let window = metric::window_secs(params.window, period, periods);
        if window < period * periods {
            return Err(ActionError::invalid_input(format!(
                "a window of {window}s cannot hold {periods} periods of {period}s"
            )));
        }
        Ok(Query {
            read: Read {
                namespace: &params.namespace,
                metric: &params.metric,
                dimensions: &params.dimensions,
                statistic,
                period,
                window,
            },
            comparison,
            threshold: params.threshold,
            periods,
        })
    }

    /// Why the newest `periods` datapoints are not a good run, or `None` when they are.
    fn judge(&self, points: &[Datapoint]) -> Option<String> {
        let needed = usize::try_from(self.periods).unwrap_or(usize::MAX);
        let Some(newest) = points.last() else {
            return Some(format!(
                "no datapoint in the last {}s; a period without one is not good",
                self.read.window
            ));
        };
        let period = i64::try_from(self.read.period).unwrap_or(i64::MAX);
        let mut run = 0;
        let mut expected = newest.time;
        let mut broken = None;
        for point in points.iter().rev().take(needed) {
            if point.time != expected {
                broken = Some(format!("no datapoint for {}", time(expected)));
                break;
            }
            if !self.comparison.holds(point.value, self.threshold) {
                broken = Some(format!(
                    "{} at {} is not {} {}",
                    point.value,
                    time(point.time),
                    self.comparison.symbol(),
                    self.threshold
                ));
                break;
            }
            run += 1;
            expected -= period;
        }
        if run >= needed {
            return None;
        }
        let why = broken.unwrap_or_else(|| {
            format!(
                "the window has no datapoint before {}",
                time(expected + period)
            )
        });
        Some(format!("{run} of {needed} periods good in a row; {why}"))
    }
}

impl Read<'_> {
    /// `AWS/ECS CPUUtilization {ClusterName=prod} (Average, 60s)`, for messages.
    fn name(&self) -> String {
        let dimensions = if self.dimensions.is_empty() {
            String::new()
        } else {
            let pairs: Vec<_> = self
                .dimensions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(" {{{}}}", pairs.join(", "))
        };
        format!(
            "{} {}{dimensions} ({}, {}s)",
            self.namespace, self.metric, self.statistic, self.period
        )
    }

    /// The window's datapoints, oldest first, over whole periods only: the read ends where the period now
    /// filling starts.
    async fn datapoints(&self, clients: &Clients) -> Result<Vec<Datapoint>, ActionError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let end = now - now % self.period;
        let start = end.saturating_sub(self.window);
        let metric = Metric::builder()
            .namespace(self.namespace)
            .metric_name(self.metric)
            .set_dimensions(Some(
                self.dimensions
                    .iter()
                    .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                    .collect(),
            ))
            .build();
        let query = MetricDataQuery::builder()
            .id("m")
            .metric_stat(
                MetricStat::builder()
                    .metric(metric)
                    .period(i32::try_from(self.period).unwrap_or(i32::MAX))
                    .stat(self.statistic)
                    .build(),
            )
            .return_data(true)
            .build();
        let mut pages = clients
            .aws(aws_sdk_cloudwatch::Client::new)
            .get_metric_data()
            .metric_data_queries(query)
            .start_time(DateTime::from_secs(i64::try_from(start).unwrap_or(0)))
            .end_time(DateTime::from_secs(i64::try_from(end).unwrap_or(i64::MAX)))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        let mut points = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| ActionError::aws(format!("read metric {}", self.name()), e))?;
            for result in page.metric_data_results() {
                for (at, value) in result.timestamps().iter().zip(result.values()) {
                    points.insert(at.secs(), *value);
                }
            }
        }
        Ok(points
            .into_iter()
            .map(|(time, value)| Datapoint { time, value })
            .collect())
    }
}

/// Start and poll look the same: every invocation reads the window afresh, so there is no state.
pub struct CheckMetric;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::long::<CheckMetric>()];

impl Action for CheckMetric {
    const NAME: &str = "check.metric";
    type Params = Params;

    /// The metric has datapoints in the window: a namespace, a name or a dimension that CloudWatch does not
    /// match exactly reads as no data, and the step would only time out. Their values now say nothing about
    /// after the rollback.
    async fn check(clients: &Clients, params: &Known, _: &Execution) -> Vec<Finding> {
        let (namespace, name): (String, String) =
            match (params.required("namespace"), params.required("metric")) {
                (Ok(namespace), Ok(name)) => (namespace, name),
                (Err(unknown), _) | (_, Err(unknown)) => {
                    return vec![unknown.finding("CloudWatch metric")];
                }
            };
        let resource = format!("CloudWatch metric {namespace} {name}");
        // What the read needs; a statistic or a count known only at run time reads as its default here.
        let dimensions = match params.optional::<BTreeMap<String, String>>("dimensions") {
            Ok(dimensions) => dimensions.unwrap_or_default(),
            Err(unknown) => return vec![unknown.finding(resource)],
        };
        let statistic: Option<String> = params.optional("statistic").unwrap_or_default();
        let period = params
            .optional("period")
            .unwrap_or_default()
            .unwrap_or(metric::DEFAULT_PERIOD_SECS);
        let periods = params
            .optional("periods")
            .unwrap_or_default()
            .unwrap_or(metric::DEFAULT_PERIODS);
        let window: Option<u64> = params.optional("window").unwrap_or_default();
        let read = Read {
            namespace: &namespace,
            metric: &name,
            dimensions: &dimensions,
            statistic: statistic.as_deref().unwrap_or(metric::DEFAULT_STATISTIC),
            period,
            window: metric::window_secs(window, period, periods),
        };
        match read.datapoints(clients).await {
            Ok(points) => match points.last() {
                None => vec![check::bad(
                    Verdict::Missing,
                    resource,
                    format!("no datapoint in the last {}s", read.window),
                    "fix `namespace`, `metric` and `dimensions` (CloudWatch matches every dimension \
                     exactly), or publish the metric",
                )],
                Some(newest) => vec![check::ok(
                    resource,
                    format!(
                        "has datapoints: {} in the last {}s, the newest {} at {}",
                        points.len(),
                        read.window,
                        newest.value,
                        time(newest.time)
                    ),
                )],
            },
            Err(error) => vec![check::failed(resource, &error, "")],
        }
    }
}

impl LongAction for CheckMetric {
    type State = ();

    /// Refuses bad params before the first read.
    async fn start(_: &Clients, call: &Call<Params>) -> Result<(), ActionError> {
        Query::of(&call.params).map(drop)
    }

    async fn observe(
        clients: &Clients,
        call: &Call<Params>,
        (): (),
    ) -> Result<Response, ActionError> {
        let query = Query::of(&call.params)?;
        let points = query.read.datapoints(clients).await?;
        match (query.judge(&points), points.last()) {
            (None, Some(newest)) => {
                let shown = points.len().saturating_sub(metric::SERIES_POINTS);
                done(&Output {
                    value: newest.value,
                    series: points[shown..].to_vec(),
                })
            }
            (why, _) => running(
                &(),
                format!("{}: {}", query.read.name(), why.unwrap_or_default()),
            ),
        }
    }
}
