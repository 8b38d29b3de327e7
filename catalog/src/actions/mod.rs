//! Every action, one file each: its [`ActionSpec`] (`SPEC`), and what only it knows. A file here is an action:
//! `build.rs` declares its module and puts its `SPEC` in [`ACTIONS`].

use crate::ActionSpec;

// `mod <file>;` for each action's file, and `ACTIONS`: written by `build.rs` from this directory.
include!(concat!(env!("OUT_DIR"), "/actions.rs"));

pub use guard::{
    ALARM_DETAIL_TYPE, DEFAULT_LIST_LENGTH, DEFAULT_STRING_LENGTH, GUARD_COOLDOWN, GUARD_DECLARED,
    GUARD_INPUT, GUARD_MAX_LENGTHS, GUARD_STARTED_WITH, GUARD_TOPIC, HeldBack, LOCK_ITEM, LOCK_KEY,
    MAX_INPUT_LENGTH, input_length,
};

/// Actions that take a target group's targets out and put them back by hand: for hosts that a person
/// registered.
pub const TARGETS_BY_HAND: &[&str] = &["alb.deregister", "alb.register"];
/// Actions on a resource that registers its own targets: an ECS service with `loadBalancers` registers each
/// deployment's tasks and deregisters the old ones. In a workflow with one of [`TARGETS_BY_HAND`], the two may
/// fight over one target group (W008); its traffic is halted at the listener instead (`alb.halt`).
pub const TARGETS_BY_OWNER: &[&str] = &["ecs.deploy"];
