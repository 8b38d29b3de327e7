//! History events against the Step Functions limit of 25,000 per execution, and the polling schedule of long
//! steps, which spends most of them.
//!
//! Counts per state, from the history event types: a state is entered and exited (2); a Lambda task attempt is
//! scheduled, started and succeeds or fails (3), a `waitForTaskToken` attempt is also submitted (4); a
//! `Parallel` is entered, started, succeeds and is exited (4).
//!
//! The nominal history: every step runs and succeeds first try, and a long step's operation ends at its
//! estimate. The worst case: every single task uses up its retries, a polling loop polls until its timeout
//! and one of its tasks (the start or one poll) uses up its retries. A storm of transient errors on every
//! poll is not counted: each poll would need to fail and be retried, which is not what a retry budget is
//! sized for.

use workflow::model::{Step, Value};

/// Step Functions' limit of history events per execution.
pub const LIMIT: u64 = 25_000;
/// The execution started and ended.
pub const EXECUTION: u64 = 2;
pub const PASS: u64 = 2;
pub const CHOICE: u64 = 2;
pub const WAIT: u64 = 2;
pub const PARALLEL: u64 = 4;
/// A Task state entered and exited, without its attempts.
pub const TASK_STATE: u64 = 2;
pub const TASK_ATTEMPT: u64 = 3;
pub const TOKEN_ATTEMPT: u64 = 4;
/// One Lambda task that succeeds first try.
pub const TASK: u64 = TASK_STATE + TASK_ATTEMPT;

/// The detection goal: an operation's end is seen within its duration divided by this...
pub const DETECTION_DIVISOR: u64 = 10;
/// ...or within this many seconds, whichever is longer.
pub const DETECTION_FLOOR_SECS: u64 = 10;
/// The goal holds for any duration from the estimate divided by this...
pub const EARLIEST_DIVISOR: u64 = 4;
/// ...to the estimate times this.
pub const LATEST_FACTOR: u64 = 4;

/// When a polling loop polls, from the moment the start returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollPlan {
    /// The wait before each poll: `waits[0]` after the start, `waits[k]` after poll `k`; past the last one,
    /// the last repeats (a fixed cadence is one wait).
    pub waits: Vec<u64>,
    /// Polls until the timeout; past the last the step fails with `Stepback.Timeout`.
    polls: u64,
    /// The cadence the user chose ([`PollPlan::every`]), within which an end is seen by construction: what
    /// the action checks changes no more often (a metric's datapoint once a period), or the user chose so.
    chosen: Option<u64>,
}

impl PollPlan {
    /// Polls that see an operation's end within [`allowance`] of it, for any duration from a quarter of the
    /// estimate until the timeout: the first poll is one allowance after a quarter of the estimate, and each
    /// next poll one allowance (of the time already passed) after the one before. The gaps grow by a tenth,
    /// so the number of polls grows with the logarithm of the timeout: about 15 from a quarter of the
    /// estimate to the estimate, 15 more to 4×.
    pub fn new(estimate: u64, timeout: u64) -> PollPlan {
        let timeout = timeout.max(1);
        let earliest = estimate / EARLIEST_DIVISOR;
        let mut at = (earliest + allowance(earliest)).min(timeout);
        let mut waits = vec![at];
        while at < timeout {
            let next = (at + allowance(at)).min(timeout);
            waits.push(next - at);
            at = next;
        }
        PollPlan {
            polls: waits.len() as u64,
            waits,
            chosen: None,
        }
    }

    /// A step's polls until `timeout`: the user's cadence for an action that checks repeatedly (its
    /// `interval`), the schedule of [`PollPlan::new`] otherwise.
    pub fn for_step(step: &Step, timeout: u64) -> PollPlan {
        match interval(step) {
            Some((_, seconds)) => PollPlan::every(seconds, timeout),
            None => PollPlan::new(step.estimate_secs, timeout),
        }
    }

    /// A fixed cadence, for actions whose polls are checks spaced by the user's `interval`: every wait is
    /// `interval`, as many as fit in the timeout.
    pub fn every(interval: u64, timeout: u64) -> PollPlan {
        let interval = interval.max(1);
        PollPlan {
            waits: vec![interval],
            polls: timeout.div_ceil(interval).max(1),
            chosen: Some(interval),
        }
    }

    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// The fixed wait, when every wait is the same.
    pub fn cadence(&self) -> Option<u64> {
        match self.waits.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// When each poll of the written waits runs, in seconds after the start returned; the polls after them
    /// repeat the last wait.
    fn written_times(&self) -> impl Iterator<Item = u64> + '_ {
        let written = usize::try_from(self.polls).unwrap_or(usize::MAX);
        self.waits.iter().take(written).scan(0u64, |at, &wait| {
            *at = at.saturating_add(wait);
            Some(*at)
        })
    }

    /// Polls until one sees an operation that took `duration` (all of them when it outlasts the timeout).
    pub fn polls_until(&self, duration: u64) -> u64 {
        let mut at = 0;
        let mut polls = 0;
        for time in self.written_times() {
            at = time;
            polls += 1;
            if at >= duration {
                return polls;
            }
        }
        let last = self.waits.last().copied().unwrap_or(1).max(1);
        (polls + duration.saturating_sub(at).div_ceil(last)).min(self.polls)
    }

    /// The start and its check, one poll (a wait, the poll task, its check) per `polls`, and the final Pass.
    pub fn events(polls: u64) -> u64 {
        TASK + CHOICE + polls.saturating_mul(WAIT + TASK + CHOICE) + PASS
    }

    /// The worst case: every poll until the timeout, and one task's `retries`.
    pub fn worst_events(&self, retries: u64) -> u64 {
        PollPlan::events(self.polls()) + retries * TASK_ATTEMPT
    }

    /// How late the polls see an operation's end, for every duration from a quarter of the estimate to 4×
    /// (or to the timeout, past which the step fails).
    pub fn detection(&self, estimate: u64) -> Detection {
        let earliest = estimate / EARLIEST_DIVISOR;
        let latest = estimate.saturating_mul(LATEST_FACTOR);
        let mut detection = Detection {
            worst_delay_secs: 0,
            worst_at_secs: earliest,
            worst_percent: 0,
            met: true,
            polls_to_estimate: self.polls_until(estimate),
            polls_to_latest: self.polls_until(latest),
            polls: self.polls(),
        };
        // The gaps between written polls, then those of the repeated last wait around the earliest duration:
        // the one it falls in and the next (later gaps are as long and come later, so they are no larger a
        // share of the duration).
        let mut gaps: Vec<(u64, u64)> = Vec::new();
        let mut previous = 0;
        for at in self.written_times() {
            gaps.push((previous, at));
            previous = at;
        }
        let repeated = self.polls.saturating_sub(gaps.len() as u64);
        let last = self.waits.last().copied().unwrap_or(1).max(1);
        if repeated > 0 {
            // The first repeated poll after the earliest duration is the `k`th.
            let k = (earliest.saturating_sub(previous) / last + 1).min(repeated);
            for k in [k, k + 1] {
                if k <= repeated {
                    let at = previous.saturating_add(k.saturating_mul(last));
                    gaps.push((at - last, at));
                }
            }
        }
        for (previous, at) in gaps {
            // An operation that ends just after the previous poll (or at the earliest duration) waits longest.
            let ended = previous.max(earliest);
            if ended < at && ended < latest {
                let delay = at - ended;
                if delay > allowance(ended).max(self.chosen.unwrap_or(0)) {
                    detection.met = false;
                }
                detection.worst_percent = detection
                    .worst_percent
                    .max((delay * 100).div_ceil(ended.max(1)));
                if delay > detection.worst_delay_secs {
                    detection.worst_delay_secs = delay;
                    detection.worst_at_secs = ended;
                }
            }
        }
        detection
    }
}

/// The param that sets a step's fixed cadence and its value in seconds, for an action whose polls are checks
/// spaced by the user's choice (catalog `poll_interval`).
pub fn interval(step: &Step) -> Option<(&'static str, u64)> {
    let (param, default) = step.action.poll_interval?;
    let seconds = match step.params.get(param) {
        Some(Value::Literal(seconds)) => seconds.as_u64().unwrap_or(default),
        _ => default,
    };
    Some((param, seconds))
}

/// What would fit a polling step into `budget` history events: the longest `timeout`, and for a fixed
/// cadence the shortest `interval` with its own timeout. `None` where nothing fits.
pub fn fitting(step: &Step, budget: u64) -> (Option<u64>, Option<u64>) {
    let retries = u64::from(step.retry.attempts);
    let fits = |plan: PollPlan| plan.worst_events(retries) <= budget;
    let timeout = last_true(1, step.timeout_secs, |t| fits(PollPlan::for_step(step, t)));
    let interval = interval(step).and_then(|(_, seconds)| {
        let slowest = step.timeout_secs.max(seconds);
        // Fewer polls as the interval grows: the first interval that fits.
        let first_fitting = last_true(seconds, slowest, |i| {
            !fits(PollPlan::every(i, step.timeout_secs))
        })
        .map_or(seconds, |i| i + 1);
        (first_fitting <= slowest && fits(PollPlan::every(first_fitting, step.timeout_secs)))
            .then_some(first_fitting)
    });
    (timeout, interval)
}

/// The largest `x` in `low..=high` for which `holds` is true, when `holds` is true up to some point and
/// false after it.
fn last_true(low: u64, high: u64, holds: impl Fn(u64) -> bool) -> Option<u64> {
    if low > high || !holds(low) {
        return None;
    }
    let (mut yes, mut no) = (low, high.saturating_add(1));
    while no - yes > 1 {
        let mid = yes + (no - yes) / 2;
        if holds(mid) {
            yes = mid;
        } else {
            no = mid;
        }
    }
    Some(yes)
}

/// How late an operation that took `duration` may be seen: a tenth of it, at least 10 s.
pub fn allowance(duration: u64) -> u64 {
    (duration / DETECTION_DIVISOR).max(DETECTION_FLOOR_SECS)
}

/// How late a step's polls see its operation end, over durations from a quarter of its estimate to 4×.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The longest time from the operation's end to the poll that sees it...
    pub worst_delay_secs: u64,
    /// ...for an operation that ends just after this many seconds.
    pub worst_at_secs: u64,
    /// The longest delay as a share of the operation's duration, in percent (rounded up).
    pub worst_percent: u64,
    /// Whether every duration in the range is seen within its [`allowance`].
    pub met: bool,
    /// Polls until the end is seen when the operation takes its estimate (the nominal run).
    pub polls_to_estimate: u64,
    /// Polls until it is seen when it takes 4× its estimate.
    pub polls_to_latest: u64,
    /// Polls until the timeout.
    pub polls: u64,
}

/// The canonical form of a duration, for names and messages.
pub use workflow::duration::format as human;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_poll_after_a_quarter_of_the_estimate_then_a_tenth_more_each_time() {
        let plan = PollPlan::new(480, 900);
        // A quarter of 8m is 2m; seen within 12 s of it, then each gap a tenth of the time passed.
        assert_eq!(plan.waits[..4], [132, 13, 14, 15]);
        assert_eq!(plan.waits.iter().sum::<u64>(), 900);
        let detection = plan.detection(480);
        assert!(detection.met, "{detection:?}");
        assert_eq!(detection.polls_to_estimate, 15);
        assert_eq!(human(5400), "1h30m");
    }

    #[test]
    fn the_goal_holds_for_every_estimate_and_a_day_long_timeout_polls_a_hundred_times() {
        for estimate in [1, 5, 30, 60, 100, 480, 1200, 3600, 86_400] {
            let plan = PollPlan::new(estimate, 4 * estimate + 1);
            assert!(plan.detection(estimate).met, "estimate {estimate}");
        }
        let day = PollPlan::new(60, 86_400);
        assert!(day.polls() < 100, "{} polls", day.polls());
        let checks = PollPlan::every(10, 900);
        assert_eq!((checks.cadence(), checks.polls()), (Some(10), 90));
        let seen = checks.detection(60);
        assert_eq!(
            (seen.worst_delay_secs, seen.worst_at_secs, seen.met),
            (10, 20, true)
        );
        // A cadence is one wait however many polls it makes: a second's checks for 10,000 days cost nothing
        // to plan.
        let endless = PollPlan::every(1, 10_000 * 86_400);
        assert_eq!(endless.waits, [1]);
        assert_eq!(endless.polls_until(3_600), 3_600);
        assert!(endless.detection(60).met);
    }
}
