//! The parts of `stepback` that other tests drive directly; the binary (`main.rs`) parses, prints and exits.

pub mod approval;
pub mod aws;
pub mod drift;
pub mod execution;
pub mod history;
pub mod readiness;
pub mod rehearsal;
pub mod stack;
pub mod task_roles;
pub mod world;
