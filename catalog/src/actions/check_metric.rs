//! `check.metric`.

use crate::params::{Constraint, ValueType as T, optional, output, param};
use crate::spec::{ActionSpec, FUNCTION, MINUTE, RETRY_QUICK, Runtime};
use crate::{Grant, Need, metric};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    name: "check.metric",
    summary: "read a CloudWatch metric until its newest periods compare well with a threshold, N in a row",
    params: &[
        param(
            "namespace",
            T::String,
            "CloudWatch namespace, e.g. AWS/ApplicationELB",
        ),
        param(
            "metric",
            T::String,
            "metric name, e.g. HTTPCode_Target_5XX_Count",
        ),
        optional(
            "dimensions",
            T::StringMap,
            "the metric's dimensions, all of them (CloudWatch matches them exactly), e.g. { LoadBalancer = \"app/web/50dc6c495c0c9188\" }",
        ),
        optional(
            "statistic",
            T::String,
            "Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99; default Average",
        )
        .constrained(Constraint::Statistic),
        optional(
            "period",
            T::Duration,
            "one datapoint's period: 1s, 5s, 10s, 30s or whole minutes; default 1m; also the time between reads",
        )
        .constrained(Constraint::Period),
        param(
            "comparison",
            T::String,
            "how a good value compares with `threshold`",
        )
        .one_of(&metric::Comparison::SYMBOLS),
        param("threshold", T::Number, "the value a good period compares with"),
        optional(
            "periods",
            T::Number,
            "good periods in a row needed, the newest datapoints; a period without a datapoint is not good; default 1",
        )
        .within(1.0, metric::MAX_PERIODS as f64),
        optional(
            "window",
            T::Duration,
            "how far back each read looks, at least `periods` × `period`; default that plus 5m, as CloudWatch publishes some metrics late",
        )
        .constrained(Constraint::Holds {
            period: ("period", metric::DEFAULT_PERIOD_SECS),
            count: ("periods", metric::DEFAULT_PERIODS),
        }),
    ],
    exactly_one_of: &[],
    outputs: &[
        output("value", T::Number, "the newest datapoint's value"),
        output(
            "series",
            T::Series,
            "the newest datapoints of the window, oldest first, at most 100: [{ time, value }]",
        )
        .at_most(metric::SERIES_BYTES),
    ],
    runtime: Runtime::Poll,
    // GetMetricData takes no resource (Service Authorization Reference).
    grants: &[Grant::unscoped(&["cloudwatch:GetMetricData"])],
    changes: &[],
    needs: &[Need::Metric {
        namespace: "namespace",
        metric: "metric",
        dimensions: "dimensions",
        period: "period",
        periods: "periods",
        window: "window",
        comparison: "comparison",
        threshold: "threshold",
    }],
    default_retry: RETRY_QUICK,
    default_estimate_secs: 5 * MINUTE,
    default_timeout_secs: 30 * MINUTE,
    guards: &[],
    poll_interval: Some(("period", metric::DEFAULT_PERIOD_SECS)),
    polled: &[],
    function: FUNCTION,
    example: Some(
        r#"
namespace = "AWS/ECS"
metric = "CPUUtilization"
dimensions = { ClusterName = "prod", ServiceName = "webapp" }
statistic = "p90"
comparison = "<"
threshold = 80
period = "1m"
periods = 3
"#,
    ),
    user_facing: true,
};
