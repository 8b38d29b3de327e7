//! Every action, one file each: its [`ActionSpec`] (`SPEC`), and what only it knows.

use crate::ActionSpec;

mod alb_deregister;
mod alb_halt;
mod alb_register;
mod alb_resume;
mod approval;
mod asg_resume;
mod asg_suspend;
mod check_alarms;
mod check_http;
mod check_logs;
mod check_metric;
mod ec2_image;
mod ecs_deploy;
mod ecs_run_task;
pub(crate) mod eks_deploy;
mod guard;
mod notify;
mod rds_restore;
mod rds_snapshot;
mod readiness;
mod ssm_command;
mod wait;

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

pub static ACTIONS: &[ActionSpec] = &[
    notify::SPEC,
    approval::SPEC,
    rds_snapshot::SPEC,
    rds_restore::SPEC,
    ecs_run_task::SPEC,
    ecs_deploy::SPEC,
    eks_deploy::SPEC,
    alb_deregister::SPEC,
    alb_register::SPEC,
    alb_halt::SPEC,
    alb_resume::SPEC,
    check_http::SPEC,
    check_alarms::SPEC,
    check_metric::SPEC,
    ssm_command::SPEC,
    ec2_image::SPEC,
    asg_suspend::SPEC,
    asg_resume::SPEC,
    check_logs::SPEC,
    wait::SPEC,
    guard::SPEC,
    readiness::SPEC,
];
