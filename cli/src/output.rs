//! Every byte `stepback` prints goes through here. `println!` panics when the reader has gone away
//! (`stepback plan x.toml | head -2`), since Rust ignores SIGPIPE; these end quietly instead, as `ls | head` does.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::report::IO_ERROR;

/// The one column layout, the audit report's too.
pub use audit::render::columns;

/// Standard output is gone or broken: nothing more is written to it.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Standard output failed for a reason other than a closed reader (a full disk): the run fails with exit 2.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output. A closed reader stops the output silently: whoever reads has seen enough.
pub fn stdout(text: fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let written = std::io::stdout().lock().write_fmt(text);
    if let Err(error) = written {
        stdout_failed(&error);
    }
}

/// Writes to standard error. Errors are dropped: there is nowhere left to report them.
pub fn stderr(text: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

fn stdout_failed(error: &std::io::Error) {
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
    if error.kind() != ErrorKind::BrokenPipe {
        STDOUT_FAILED.store(true, Ordering::Relaxed);
        stderr(format_args!(
            "error: cannot write to standard output: {error}\n"
        ));
    }
}

/// Flushes standard output and gives the exit code: the verb's own, or 2 when its output could not be written.
pub fn finish(code: ExitCode) -> ExitCode {
    if !STDOUT_CLOSED.load(Ordering::Relaxed)
        && let Err(error) = std::io::stdout().lock().flush()
    {
        stdout_failed(&error);
    }
    if STDOUT_FAILED.load(Ordering::Relaxed) {
        ExitCode::from(IO_ERROR)
    } else {
        code
    }
}

/// Asks a y/N question on standard error and reads the answer: `None` when standard input is not a terminal
/// (nobody can answer), else whether the answer was yes. The one prompt of `deploy` and `rehearse`: a prompt
/// crate would add a dependency for these few lines, and every byte printed goes through this module.
pub fn confirm(question: &str) -> Option<bool> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return None;
    }
    stderr(format_args!("{question} [y/N] "));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::stdout(format_args!($($arg)*)) };
}

/// `println!` that never panics.
macro_rules! outln {
    () => { $crate::output::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::stderr(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {err, errln, out, outln};
