//! `check.metric`'s facts about CloudWatch metrics, which the language checks in a workflow's literals and the
//! Lambda checks again in the values it receives (a statistic may come from the execution's input).

/// The statistics CloudWatch names (CloudWatch API reference, `Statistic`); percentiles are `p` and a number.
pub const STATISTICS: [&str; 5] = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"];
/// What a statistic may be, for messages.
pub const STATISTIC_FORMS: &str =
    "Average, Sum, Minimum, Maximum, SampleCount, or a percentile p0 to p100 (e.g. p99, p99.9)";
/// The same, for the JSON Schema.
pub const STATISTIC_PATTERN: &str =
    r"^(Average|Sum|Minimum|Maximum|SampleCount|p(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?))$";
pub const DEFAULT_STATISTIC: &str = "Average";

/// Whether CloudWatch takes `text` as a statistic: one of [`STATISTICS`], or `pNN.NN`, a percentile from 0 to
/// 100 with at most two decimals ("Statistics definitions" in the CloudWatch user guide). The other extended
/// statistics (trimmed means, `PR(…)`) are not offered: what a step compares must read plainly.
pub fn is_statistic(text: &str) -> bool {
    if STATISTICS.contains(&text) {
        return true;
    }
    let Some(number) = text.strip_prefix('p') else {
        return false;
    };
    let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    let written = !whole.is_empty()
        && (digits(whole, 2) || whole == "100")
        && digits(decimals, 2)
        && (decimals.is_empty() != number.contains('.'));
    written
        && number
            .parse::<f64>()
            .is_ok_and(|p| (0.0..=100.0).contains(&p))
}

/// The periods shorter than a minute that CloudWatch keeps for high-resolution metrics; longer ones are whole
/// minutes (CloudWatch API reference, `MetricStat.Period`).
pub const HIGH_RESOLUTION_PERIODS: [u64; 4] = [1, 5, 10, 30];
pub const DEFAULT_PERIOD_SECS: u64 = 60;

/// Whether CloudWatch aggregates over `secs`: 1, 5, 10 or 30 seconds, or a multiple of 60.
pub fn is_period(secs: u64) -> bool {
    HIGH_RESOLUTION_PERIODS.contains(&secs) || (secs > 0 && secs.is_multiple_of(60))
}

/// Good periods in a row when the step gives none, and the most it may ask for: the output's series holds
/// [`SERIES_POINTS`] datapoints, enough to show every period of the run that passed.
pub const DEFAULT_PERIODS: u64 = 1;
pub const MAX_PERIODS: u64 = SERIES_POINTS as u64;

/// How late CloudWatch publishes an AWS service's datapoint, which the default window allows for: a run of
/// good periods may end this long before now.
pub const PUBLISHING_DELAY_SECS: u64 = 5 * 60;

/// How far back each read looks: the step's `window`, else the periods it needs and [`PUBLISHING_DELAY_SECS`].
pub fn window_secs(window: Option<u64>, period: u64, periods: u64) -> u64 {
    window.unwrap_or_else(|| {
        periods
            .saturating_mul(period)
            .saturating_add(PUBLISHING_DELAY_SECS)
    })
}

/// The output's series holds at most this many datapoints (the newest): as JSON, each
/// `{"time":"2026-11-27T15:04:05Z","value":-1.2345678901234567e-308},` is at most 65 bytes.
pub const SERIES_POINTS: usize = 100;
/// [`SERIES_POINTS`] datapoints as JSON, and the brackets.
pub const SERIES_BYTES: usize = SERIES_POINTS * 65 + 2;

/// How a good value compares with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Below,
    AtMost,
    Above,
    AtLeast,
}

impl Comparison {
    pub const ALL: [Comparison; 4] = [
        Comparison::Below,
        Comparison::AtMost,
        Comparison::Above,
        Comparison::AtLeast,
    ];
    /// As written in a workflow.
    pub const SYMBOLS: [&str; 4] = ["<", "<=", ">", ">="];

    pub const fn symbol(self) -> &'static str {
        match self {
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
        }
    }

    pub fn from_symbol(text: &str) -> Option<Comparison> {
        Comparison::ALL.into_iter().find(|c| c.symbol() == text)
    }

    /// Whether `value` is good.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
        }
    }

    /// A good value that the metric could have, what a rehearsal publishes: between zero and a positive
    /// threshold that it stays under (half of it: a latency or a CPU share is never negative), a tenth over a
    /// positive threshold that it stays over; one past a threshold of zero or below.
    pub fn good_value(self, threshold: f64) -> f64 {
        let below = matches!(self, Comparison::Below | Comparison::AtMost);
        match (below, threshold > 0.0) {
            (true, true) => threshold / 2.0,
            (true, false) => threshold - 1.0,
            (false, true) => threshold * 1.1,
            (false, false) => threshold + 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_the_named_ones_and_percentiles_up_to_two_decimals() {
        for good in [
            "Average",
            "Sum",
            "SampleCount",
            "p0",
            "p50",
            "p99",
            "p99.9",
            "p99.99",
            "p100",
            "p100.00",
        ] {
            assert!(is_statistic(good), "{good}");
        }
        for bad in [
            "average", "Avg", "p", "p101", "p007", "p99.999", "p99.", "p.5", "p-1", "p1e2", "P99",
            "tm99", "p 99", "",
        ] {
            assert!(!is_statistic(bad), "{bad}");
        }
    }

    #[test]
    fn periods_are_high_resolution_or_whole_minutes() {
        let allowed: Vec<u64> = (0..=180).filter(|s| is_period(*s)).collect();
        assert_eq!(allowed, [1, 5, 10, 30, 60, 120, 180]);
    }

    #[test]
    fn comparisons_read_as_written_and_their_good_value_holds() {
        for (comparison, symbol) in Comparison::ALL.into_iter().zip(Comparison::SYMBOLS) {
            assert_eq!(Comparison::from_symbol(symbol), Some(comparison));
            for threshold in [-3.0, 0.0, 0.8, 5.0, 70.0] {
                let good = comparison.good_value(threshold);
                assert!(comparison.holds(good, threshold), "{symbol} {threshold}");
                assert!(
                    threshold <= 0.0 || good >= 0.0,
                    "{symbol} {threshold}: {good}"
                );
            }
        }
        // A p99 latency under 0.8 s: 0.4 s, never negative.
        assert_eq!(Comparison::Below.good_value(0.8), 0.4);
        assert!(!Comparison::Below.holds(5.0, 5.0) && Comparison::AtMost.holds(5.0, 5.0));
        assert_eq!(Comparison::from_symbol("=<"), None);
    }

    #[test]
    fn the_series_bound_holds_the_longest_datapoint() {
        let point = r#"{"time":"2026-11-27T15:04:05Z","value":-1.2345678901234567e-308},"#;
        assert_eq!(point.len(), 65);
        assert_eq!(SERIES_BYTES, SERIES_POINTS * point.len() + 2);
    }
}
