//! An action's spec: how it runs, what it may do, what guards it, and its function's size.

use crate::params::{OutputSpec, ParamSpec};
use crate::{Grant, Need};

/// How the state machine runs an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// One Lambda invocation that finishes the work.
    Invoke,
    /// A long operation: `start`, then `poll` from a Wait loop until done. Never waited on inside a Lambda.
    Poll,
    /// `lambda:invoke.waitForTaskToken`: a person answers with SendTaskSuccess or SendTaskFailure.
    TaskToken,
    /// A native state (Wait); no Lambda.
    Native,
}

/// A `Retry` policy, before it is lowered to ASL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetrySpec {
    /// Retries after the first attempt (ASL `MaxAttempts`).
    pub attempts: u32,
    pub interval_secs: u64,
    pub backoff: f64,
    pub max_delay_secs: u64,
    pub jitter: bool,
}

/// A step that must run before a destructive action, so that a rollback cannot make an incident worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guard {
    /// The action of the guarding step, which must be an ancestor that runs whenever the guarded step runs.
    pub action: &'static str,
    /// `(guard's param, guarded step's param)` pairs that must hold the same value: a snapshot guards a restore
    /// only of the same instance.
    pub same: &'static [(&'static str, &'static str)],
    pub kind: GuardKind,
    /// Required guards make a missing one an error; the others a warning.
    pub required: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardKind {
    /// A backup that the damage can be undone from (a snapshot, an AMI).
    Backup,
    /// A person's yes.
    Approval,
}

/// What an action changes. Two steps that change the same resource must be ordered by `after`, since the
/// compiler runs every two steps with no path between them at the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changes {
    /// What the resource is, for messages: `ECS service`. Actions that change the same kind of resource name it
    /// alike, and list the params that identify it in the same order.
    pub resource: &'static str,
    /// The params whose values together name the resource. A list param names one resource per item (the
    /// instances of `instance_ids`). A step that gives none of them (`ssm.command` with `tags`) names its
    /// resources only at run time, and is compared with nothing.
    pub params: &'static [&'static str],
}

impl Changes {
    pub(crate) const fn of(resource: &'static str, params: &'static [&'static str]) -> Changes {
        Changes { resource, params }
    }
}

/// A status that an action's poll reads in an AWS answer, finished or still in progress (`rds.snapshot`:
/// DescribeDBSnapshots' `Status`, `available` or `creating`). The emulator finishes every operation at once, so
/// `stepback rehearse --slow` holds a step in progress by answering the one as the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolledStatus {
    /// The AWS operation whose answer holds the status, e.g. `DescribeDBSnapshots`.
    pub operation: &'static str,
    /// The member, as the answer names it (an XML element or a JSON key), e.g. `Status`.
    pub member: &'static str,
    pub finished: &'static str,
    pub in_progress: &'static str,
}

/// The Lambda function that runs an action. No handler waits for AWS (long work is start, then poll), so every
/// invocation is a few API calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    pub memory_mb: u32,
    /// The invocation timeout: the slowest call chain of one invocation, with the SDK's own retries.
    pub timeout_secs: u32,
}

/// A few API calls: 128 MB is Lambda's minimum, and the Rust handler runs in about 10 MB (BENCHMARKS.md: 25 MB
/// peak RSS at init).
pub(crate) const FUNCTION: FunctionSpec = FunctionSpec {
    memory_mb: 128,
    timeout_secs: 30,
};

/// An action whose one invocation reads many pages: ListTaskDefinitions (100 a page) over a family's ACTIVE
/// revisions, ListCommands (50 a page) over a day, DescribeRules over a listener's rules, DescribeTargetHealth
/// over a target group. Measured against moto at 1,000 revisions, 1,000 commands, 1,000 targets and 99 rules
/// (BENCHMARKS.md, "Lambdas: the paging actions' worst case"): at most 30.3 MB peak RSS, 0.09 s of CPU in a
/// debug build. So 128 MB: four times the peak, and Lambda's CPU share at 128 MB (128/1,769 of a vCPU, Lambda
/// developer guide, "Configure Lambda function memory") runs that CPU in under 1.3 s. 60 s: up to 20 pages at
/// up to a second each, and one throttled call's retries (the SDK's standard mode: 3 attempts, backoff up to
/// 20 s), with half again to spare.
pub(crate) const PAGING_FUNCTION: FunctionSpec = FunctionSpec {
    memory_mb: 128,
    timeout_secs: 60,
};

/// `check.logs`: FilterLogEvents pages of up to 1 MB or 10,000 events over the window, at a hard quota of 5
/// calls a second for the whole account and Region, shared with every person searching the logs in the incident
/// (AWS re:Post, "How do I determine throttling in my CloudWatch logs?"). Measured against moto at 100,000
/// matching events (10 pages): 38.0 MB peak RSS, 0.81 s of CPU in a debug build. 256 MB halves the CPU time
/// against 128 MB (5.6 s at 256/1,769 of a vCPU) and is 6 times the peak; 120 s: 10 pages at up to 3 s each
/// (a scan of a busy group), two throttled calls' retries (up to 20 s of backoff each) and the CPU, with half
/// again to spare.
pub(crate) const LOG_SEARCH_FUNCTION: FunctionSpec = FunctionSpec {
    memory_mb: 256,
    timeout_secs: 120,
};

#[derive(Clone, Copy, Debug)]
pub struct ActionSpec {
    /// The name written as `action = "..."`.
    pub name: &'static str,
    pub summary: &'static str,
    pub params: &'static [ParamSpec],
    /// Groups of params of which exactly one must be given.
    pub exactly_one_of: &'static [&'static [&'static str]],
    pub outputs: &'static [OutputSpec],
    pub runtime: Runtime,
    /// The IAM statements the action's function needs, and nothing more.
    pub grants: &'static [Grant],
    /// The resources the action changes, one per kind, each named by params that its grants' ARN patterns name
    /// too; a step changes the kinds whose params it gives (`rds.restore` of an `instance` or of a `cluster`).
    /// Empty for actions that only read or create (snapshots, images, checks, notifications), which conflict
    /// with nothing.
    pub changes: &'static [Changes],
    /// What must exist for the step to run, by the params that name it: the world `stepback rehearse` makes.
    pub needs: &'static [Need],
    pub default_retry: RetrySpec,
    /// Planning estimate when the step gives none.
    pub default_estimate_secs: u64,
    /// Step timeout when neither the step nor `[defaults]` gives one.
    pub default_timeout_secs: u64,
    /// What must run before this action; empty for actions that change nothing irreversibly. A destructive
    /// action is one with a required guard.
    pub guards: &'static [Guard],
    /// The `Duration` param that spaces the polls, and its default in seconds: the action checks something
    /// repeatedly (e.g. `consecutive` HTTP answers), so its polls follow the user's cadence, not the estimate.
    pub poll_interval: Option<(&'static str, u64)>,
    /// The statuses its poll reads in AWS's answers, for `stepback rehearse --slow`; empty for an action whose
    /// poll reads none that can be held: `alb.deregister` (a deregistered target leaves the emulator's answer
    /// rather than stays `draining`), `rds.restore` (its `start` reads the same instances' status), the checks.
    pub polled: &'static [PolledStatus],
    /// The Lambda function's size, for the template; unused by `Native` actions.
    pub function: FunctionSpec,
    /// A step that uses the action: its table's body without `action` (params, and `after` naming another
    /// action's example as `<action>` with `_` for `.`). Each user-facing action's, in a step so named, make the
    /// workflow whose template the IAM linters read (`compiler/tests/it/templates.rs`). `None` for an action
    /// that only stepback places.
    pub example: Option<&'static str>,
    /// False for actions that only stepback itself places in a state machine.
    pub user_facing: bool,
}

impl ActionSpec {
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&'static OutputSpec> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// Every IAM action of every grant, sorted, once each.
    pub fn iam_actions(&self) -> Vec<&'static str> {
        let mut actions: Vec<&'static str> = self
            .grants
            .iter()
            .flat_map(|g| g.actions.iter().copied())
            .collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }

    /// Whether a missing guard is an error: the action can lose data or change a host beyond undoing.
    pub fn is_destructive(&self) -> bool {
        self.guards.iter().any(|g| g.required)
    }

    /// `rds.snapshot` → `RdsSnapshot`: the stem of the function's CloudFormation names.
    pub fn pascal_name(&self) -> String {
        self.name
            .split(['.', '_'])
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect()
    }

    /// The `DefinitionSubstitutions` key of the function's ARN, e.g. `StepbackRdsSnapshotArn`.
    pub fn arn_substitution(&self) -> String {
        format!("Stepback{}Arn", self.pascal_name())
    }
}

/// Quick calls that are safe to repeat: SNS publish, describe calls, one HTTP GET.
pub(crate) const RETRY_QUICK: RetrySpec = RetrySpec {
    attempts: 3,
    interval_secs: 2,
    backoff: 2.0,
    max_delay_secs: 30,
    jitter: true,
};
/// Calls that start long operations; idempotent by client token or deterministic id.
pub(crate) const RETRY_START: RetrySpec = RetrySpec {
    attempts: 4,
    interval_secs: 5,
    backoff: 2.0,
    max_delay_secs: 60,
    jitter: true,
};

pub(crate) const MINUTE: u64 = 60;
pub(crate) const HOUR: u64 = 60 * MINUTE;
