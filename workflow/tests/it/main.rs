//! Data-driven tests: every `data/ok/*.toml` and `data/err/*.toml` with a snapshot of what a user sees.

mod explain;
mod fixtures;
mod races;
