//! One current-thread runtime per command: the verbs that talk to AWS make a few calls in sequence.

use std::future::Future;
use std::process::ExitCode;

use crate::output::errln;
use crate::report::IO_ERROR;

/// Runs `future` to its end. A runtime that cannot start (no threads, no file descriptors) ends the command.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, ExitCode> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(error) => {
            errln!("error: cannot start the async runtime: {error}");
            Err(ExitCode::from(IO_ERROR))
        }
    }
}
