//! How an execution's steps are shown as they run, for `start --follow` and `rehearse` alike. On a terminal: one
//! live line per step of the DAG (waiting, running, polling n, retrying, done, skipped, failed), so that parallel
//! steps run visibly side by side, under a line with the elapsed (and, in a rehearsal, the simulated) time. Else
//! one plain line per event, which scripts and the rehearsal's snapshot test read.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use audit::StepEvent;
use cli::approval::Decision;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::output::outln;

/// How often a live line redraws (its spinner, its times).
const TICK: Duration = Duration::from_millis(120);
/// The width of the step column: the longest step id the examples have, and then some.
const STEP_WIDTH: usize = 20;

pub enum Progress {
    /// One line per event.
    Plain { speed: Option<u64> },
    /// Drawn in place until [`Progress::finish`].
    Live {
        /// `None` until the execution starts.
        drawn: RefCell<Option<Live>>,
        steps: Vec<String>,
        speed: Option<u64>,
    },
}

pub struct Live {
    multi: MultiProgress,
    header: ProgressBar,
    steps: BTreeMap<String, Line>,
}

/// A step's live line, and when (elapsed since the execution started) the step started.
struct Line {
    bar: ProgressBar,
    since: Option<Duration>,
}

impl Progress {
    /// Live when standard output is a terminal; `steps` in DAG order (the `[on_failure]` ones last); `speed` when
    /// time is simulated.
    pub fn new(steps: Vec<String>, speed: Option<u64>) -> Progress {
        if std::io::stdout().is_terminal() {
            Progress::Live {
                drawn: RefCell::new(None),
                steps,
                speed,
            }
        } else {
            Progress::Plain { speed }
        }
    }

    /// Draws every step as waiting, under the time line: the execution has started.
    pub fn start(&self) {
        let Progress::Live {
            drawn: live,
            steps,
            speed,
        } = self
        else {
            return;
        };
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let header = multi.add(ProgressBar::new_spinner());
        header.set_style(header_style(*speed));
        header.enable_steady_tick(TICK);
        let lines = steps
            .iter()
            .map(|step| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style(State::Waiting));
                bar.set_prefix(step.clone());
                bar.set_message("waiting");
                bar.tick();
                (step.clone(), Line { bar, since: None })
            })
            .collect();
        *live.borrow_mut() = Some(Live {
            multi,
            header,
            steps: lines,
        });
    }

    /// A step's event, `elapsed` after the execution started.
    pub fn step(&self, step: &str, event: &StepEvent, elapsed: Duration) {
        match self {
            Progress::Plain { speed } => match speed {
                Some(speed) => outln!(
                    "  {:>6} {:>8}  {step:<STEP_WIDTH$} {event}",
                    human(elapsed),
                    human(simulated(elapsed, *speed))
                ),
                None => outln!("  {:>6}  {step:<STEP_WIDTH$} {event}", human(elapsed)),
            },
            Progress::Live {
                drawn: live, speed, ..
            } => {
                let mut live = live.borrow_mut();
                let Some(line) = live.as_mut().and_then(|l| l.steps.get_mut(step)) else {
                    return;
                };
                let since = *line.since.get_or_insert(elapsed);
                let took = elapsed.saturating_sub(since);
                let took = match speed {
                    Some(speed) => format!(
                        "{} ({} simulated)",
                        human(took),
                        human(simulated(took, *speed))
                    ),
                    None => human(took),
                };
                let bar = &line.bar;
                match event {
                    StepEvent::Started => {
                        bar.set_style(style(State::Running));
                        bar.reset_elapsed();
                        bar.enable_steady_tick(TICK);
                        bar.set_message(event.to_string());
                    }
                    StepEvent::Polled(_) | StepEvent::Retried(_) => {
                        bar.set_style(style(if matches!(event, StepEvent::Retried(_)) {
                            State::Retrying
                        } else {
                            State::Running
                        }));
                        bar.enable_steady_tick(TICK);
                        bar.set_message(event.to_string());
                    }
                    StepEvent::Succeeded => {
                        bar.set_style(style(State::Done));
                        bar.finish_with_message(format!("done in {took}"));
                    }
                    StepEvent::Skipped => {
                        bar.set_style(style(State::Skipped));
                        bar.finish_with_message("skipped");
                    }
                    StepEvent::Failed(cause) => {
                        bar.set_style(style(State::Failed));
                        let because = if cause.is_empty() {
                            String::new()
                        } else {
                            format!(": {cause}")
                        };
                        bar.finish_with_message(format!("failed after {took}{because}"));
                    }
                }
            }
        }
    }

    /// An approval was answered.
    pub fn answered(&self, step: &str, decision: Decision) {
        let verb = match decision {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        };
        match self {
            Progress::Plain { .. } => outln!("  {step}: {verb}"),
            Progress::Live { drawn: live, .. } => {
                if let Some(line) = live.borrow().as_ref().and_then(|l| l.steps.get(step)) {
                    line.bar.set_message(verb);
                }
            }
        }
    }

    /// Runs `f` (a question on the terminal) with the live lines out of its way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match self {
            Progress::Live { drawn: live, .. } => match live.borrow().as_ref() {
                Some(live) => live.multi.suspend(f),
                None => f(),
            },
            Progress::Plain { .. } => f(),
        }
    }

    /// Leaves the lines as they ended, and the steps never reached saying so.
    pub fn finish(&self, verdict: &str) {
        let Progress::Live { drawn: live, .. } = self else {
            return;
        };
        if let Some(live) = live.borrow_mut().take() {
            for line in live.steps.values().filter(|l| !l.bar.is_finished()) {
                line.bar.set_style(style(State::Waiting));
                line.bar.finish_with_message("never reached");
            }
            live.header.finish_with_message(verdict.to_owned());
        }
    }
}

#[derive(Clone, Copy)]
enum State {
    Waiting,
    Running,
    Retrying,
    Done,
    Skipped,
    Failed,
}

fn style(state: State) -> ProgressStyle {
    let template = match state {
        State::Waiting => "  · {prefix:20} {msg:.dim}",
        State::Running => "  {spinner:.cyan} {prefix:20} {msg} {elapsed:.dim}",
        State::Retrying => "  {spinner:.yellow} {prefix:20} {msg:.yellow} {elapsed:.dim}",
        State::Done => "  ✓ {prefix:20} {msg:.green}",
        State::Skipped => "  - {prefix:20} {msg:.dim}",
        State::Failed => "  ✗ {prefix:20} {msg:.red}",
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// The time line: the elapsed time and, when time is simulated, the simulated time.
fn header_style(speed: Option<u64>) -> ProgressStyle {
    let template = match speed {
        Some(_) => "{spinner:.cyan} {elapsed} elapsed, {simulated} simulated {msg}",
        None => "{spinner:.cyan} {elapsed} elapsed {msg}",
    };
    let speed = speed.unwrap_or(1);
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "simulated",
            move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&human(simulated(state.elapsed(), speed)));
            },
        )
}

/// `elapsed` in the rollback's time.
pub fn simulated(elapsed: Duration, speed: u64) -> Duration {
    elapsed * u32::try_from(speed).unwrap_or(u32::MAX)
}

/// `1.2s`, `3m4s`: tenths of seconds under a minute, whole seconds above.
pub fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        workflow::duration::format(secs)
    }
}
