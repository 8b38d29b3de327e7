//! Worst-case execution history events, against the Step Functions limit of 25,000 per execution.
//!
//! Counts per state, from the history event types: a state is entered and exited (2); a Lambda task attempt is
//! scheduled, started and succeeds or fails (3), a `waitForTaskToken` attempt is also submitted (4); a
//! `Parallel` is entered, started, succeeds and is exited (4). The worst case assumes every attempt fails until
//! the retries run out and every polling loop runs until its timeout.

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

/// The waits of a polling loop and how many polls fit in the step's timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollPlan {
    /// The first wait lands near the estimated completion; the following ones back off from a tenth of the
    /// estimate (5 s to 1 min) by doubling up to a cap (a third of the estimate, at most 5 min). The last wait
    /// repeats.
    pub waits: Vec<u64>,
    /// Polls until the waits add up to the timeout; past them the step fails with `Stepback.Timeout`.
    pub polls: u64,
}

impl PollPlan {
    pub fn new(estimate: u64, timeout: u64) -> PollPlan {
        let first = estimate.max(5).min(timeout.max(5));
        let base = (estimate / 10).clamp(5, 60);
        let cap = (estimate / 3).clamp(base, 300);
        let mut waits = vec![first];
        let mut wait = base;
        while wait < cap {
            waits.push(wait);
            wait *= 2;
        }
        waits.push(cap);
        let mut waited = 0u64;
        let mut polls = 0u64;
        for &w in &waits[..waits.len() - 1] {
            if waited >= timeout {
                break;
            }
            waited += w;
            polls += 1;
        }
        if waited < timeout {
            polls += (timeout - waited).div_ceil(cap);
        }
        PollPlan {
            waits,
            polls: polls.max(1),
        }
    }

    /// A fixed cadence, for actions whose polls are checks spaced by the user's `interval`: every wait is
    /// `interval`, as many as fit in the timeout.
    pub fn every(interval: u64, timeout: u64) -> PollPlan {
        let interval = interval.max(1);
        PollPlan {
            waits: vec![interval],
            polls: timeout.div_ceil(interval).max(1),
        }
    }

    /// The loop's worst case: the start task, then per poll a wait, the counter, the poll task and the check;
    /// then the final Pass.
    pub fn events(&self, task: u64) -> u64 {
        task + CHOICE + self.polls.saturating_mul(WAIT + PASS + task + CHOICE) + PASS
    }
}

/// The canonical form of a duration, for names and messages.
pub use workflow::duration::format as human;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_poll_near_the_estimate_then_back_off() {
        let plan = PollPlan::new(360, 900);
        assert_eq!(plan.waits, vec![360, 36, 72, 120]);
        // 360 + 36 + 72 = 468, then 120 s polls: 4 more reach 948 ≥ 900.
        assert_eq!(plan.polls, 7);
        assert_eq!(PollPlan::new(1200, 900).waits[0], 900);
        assert_eq!(human(5400), "1h30m");
        let checks = PollPlan::every(10, 900);
        assert_eq!((checks.waits, checks.polls), (vec![10], 90));
    }
}
