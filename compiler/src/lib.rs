//! Lowers a validated [`workflow::Workflow`] into an Amazon States Language definition.
//!
//! This crate does no IO and never links the AWS SDK.

pub mod asl;
pub mod schedule;
