//! The single source of truth shared by the compiler and the Lambdas:
//! - [`ACTIONS`]: every action's params, outputs, IAM actions, default retry, estimate and timeout;
//! - [`ErrorName`]: the error names a Lambda raises and `Retry`/`Catch` match;
//! - [`contract`]: the payload that the state machine sends to a Lambda and gets back;
//! - [`manifest`]: which states belong to which step, written by the compiler and read by the audit.
//!
//! This crate does no IO and links nothing but serde (and strsim, for [`closest`]).

pub mod contract;
mod errors;
pub mod iam;
pub mod manifest;
pub mod metric;
pub mod names;
pub mod world;

pub use errors::{ErrorName, LAMBDA_FUNCTION_TIMEOUTS, LAMBDA_SERVICE_ERRORS};
pub use iam::Grant;
pub use world::Need;

/// Actions that take a target group's targets out and put them back by hand: for hosts that a person
/// registered.
pub const TARGETS_BY_HAND: &[&str] = &["alb.deregister", "alb.register"];
/// Actions on a resource that registers its own targets: an ECS service with `loadBalancers` registers each
/// deployment's tasks and deregisters the old ones. In a workflow with one of [`TARGETS_BY_HAND`], the two may
/// fight over one target group (W008); its traffic is halted at the listener instead (`alb.halt`).
pub const TARGETS_BY_OWNER: &[&str] = &["ecs.deploy"];

/// The type of a parameter or an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    String,
    Number,
    Bool,
    /// A list of strings.
    StringList,
    /// A table of string values, e.g. EC2 tags.
    StringMap,
    /// A duration literal such as `"30s"`; lowered to whole seconds.
    Duration,
    /// Load-balancer targets: `"i-0abc"`, `"i-0abc:8080"` or `"10.0.0.7:80"`, or the `targets` output of
    /// `alb.deregister` passed through whole.
    Targets,
    /// A metric's datapoints, oldest first: `[{"time": "2026-11-27T15:04:00Z", "value": 1.5}]`. Only an output
    /// (`check.metric`'s); no param takes one.
    Series,
}

impl ValueType {
    pub const fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Bool => "bool",
            ValueType::StringList => "list",
            ValueType::StringMap => "table",
            ValueType::Duration => "duration",
            ValueType::Targets => "targets",
            ValueType::Series => "series",
        }
    }

    /// Whether a value of type `self` may be passed where `wanted` is expected.
    pub fn fits(self, wanted: ValueType) -> bool {
        self == wanted || (self == ValueType::StringList && wanted == ValueType::Targets)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ValueType,
    pub required: bool,
    pub doc: &'static str,
    /// For numbers: the inclusive range a literal must fall in.
    pub range: Option<(f64, f64)>,
    /// For strings: the only values a literal may take (empty: any).
    pub allowed: &'static [&'static str],
    /// Whether a shell runs the param's text.
    pub shell: Shell,
    /// What a literal must satisfy beyond its type, range and allowed values.
    pub constraint: Constraint,
}

/// A rule on a param's literal that a range or a list of values cannot say. The language checks it in the
/// workflow; the Lambda checks the value it receives again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    None,
    /// A CloudWatch statistic ([`metric::is_statistic`]).
    Statistic,
    /// A CloudWatch period ([`metric::is_period`]).
    Period,
    /// A duration that holds `count` periods of `period` (two other params, their defaults when absent).
    Holds {
        period: (&'static str, u64),
        count: (&'static str, u64),
    },
    /// Names a resource (an instance, a snapshot): never empty. An empty id filters nothing in a Describe
    /// call, so a lookup by it would answer whatever comes first. The language refuses `""` and an input that
    /// defaults to it, the state machine refuses `""` in such an input, and the Lambda refuses it again.
    Name,
}

/// Whether a shell runs a param's text. A value from the execution (an input, a step output) that sits in such
/// text reaches the Lambda apart from the text, which binds it to a shell variable: it stays data, never code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    /// No shell reads it.
    Not,
    /// Each item is a line of one shell script (`ssm.command`'s `commands`).
    Script,
    /// An argv, which no shell reads, unless it starts a shell with `-c`: then the item after that flag is a
    /// script ([`Shell::script_item`]).
    Argv,
}

/// The programs that read their `-c` argument as shell code.
const SHELLS: [&str; 7] = ["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"];

impl Shell {
    /// For an argv whose items are `Some(text)` when literal: the index of the item that a shell reads as a
    /// script, e.g. 2 in `["/bin/sh", "-c", "..."]` (flags may be joined, `-ec`).
    pub fn script_item(argv: &[Option<&str>]) -> Option<usize> {
        let program = argv.first().copied().flatten()?;
        let name = program.rsplit('/').next().unwrap_or(program);
        if !SHELLS.contains(&name) {
            return None;
        }
        let flag = argv.iter().skip(1).position(|item| {
            item.is_some_and(|f| f.starts_with('-') && !f.starts_with("--") && f.contains('c'))
        })?;
        let script = flag + 2;
        (script < argv.len()).then_some(script)
    }
}

impl ParamSpec {
    const fn within(self, min: f64, max: f64) -> ParamSpec {
        ParamSpec {
            range: Some((min, max)),
            ..self
        }
    }

    const fn one_of(self, allowed: &'static [&'static str]) -> ParamSpec {
        ParamSpec { allowed, ..self }
    }

    const fn run_by(self, shell: Shell) -> ParamSpec {
        ParamSpec { shell, ..self }
    }

    const fn constrained(self, constraint: Constraint) -> ParamSpec {
        ParamSpec { constraint, ..self }
    }

    /// A param that names a resource ([`Constraint::Name`]).
    const fn naming(self) -> ParamSpec {
        self.constrained(Constraint::Name)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct OutputSpec {
    pub name: &'static str,
    pub ty: ValueType,
    pub doc: &'static str,
    /// The most bytes the output's value takes as JSON. The compiler adds these up against Step Functions'
    /// 256 KB per state; the Lambdas keep to them (free text such as command output is cut, saying so).
    pub max_bytes: usize,
}

/// The bound of an identifier, a name or a short message as JSON: AWS ARNs and names stay under 2 KB.
pub const TEXT_BYTES: usize = 2 * 1024;
/// The bound of an RDS identifier (an instance's or cluster's at most 63 characters, a snapshot's 255) or an
/// endpoint address (a host name, at most 253) as JSON: RDS allows only ASCII letters, digits and hyphens.
pub const RDS_ID_BYTES: usize = 258;
/// The bound of `rds.restore`'s `notes` as JSON, which the Lambda cuts its text to: the state data of a
/// workflow of every action stays under Step Functions' 256 KB with it.
pub const NOTES_BYTES: usize = 256;
/// A poll's progress line (`2 of 3 targets drained`) is cut to this many bytes: the state keeps the last one
/// while the step runs, and a poll loop's timeout quotes it.
pub const PROGRESS_BYTES: usize = 512;
/// A Lambda's error message is cut to this many bytes (saying so), which bounds the `Cause` of every failure
/// the state machine keeps.
pub const ERROR_MESSAGE_BYTES: usize = 4 * 1024;

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
    const fn of(resource: &'static str, params: &'static [&'static str]) -> Changes {
        Changes { resource, params }
    }
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
const FUNCTION: FunctionSpec = FunctionSpec {
    memory_mb: 128,
    timeout_secs: 30,
};

/// An action whose one invocation may read many pages: ListTaskDefinitions (100 a page, and a family can hold
/// thousands of ACTIVE revisions), FilterLogEvents (1 MB a page, and empty pages with a token while it scans a
/// busy group), ListCommands over a day, ListClusters × ListServices in a check. Each call may be throttled and
/// retried by the SDK (3 attempts, backoff up to 20 s), so 30 s is too short. Lambda gives CPU in proportion to
/// memory: 256 MB parses a 1 MB page twice as fast as 128 MB. A reasoned bound, not one measured on AWS.
const PAGING_FUNCTION: FunctionSpec = FunctionSpec {
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
    /// The Lambda function's size, for the template; unused by `Native` actions.
    pub function: FunctionSpec,
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

/// The closest candidate, when it is close enough to be what the user meant: `check`'s "did you mean", and the
/// guard Lambda's for a misspelt execution input.
pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// The action names a workflow may use, for "did you mean" and the schema.
pub fn user_actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter().filter(|a| a.user_facing)
}

const fn param(name: &'static str, ty: ValueType, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        required: true,
        doc,
        range: None,
        allowed: &[],
        shell: Shell::Not,
        constraint: Constraint::None,
    }
}

const fn optional(name: &'static str, ty: ValueType, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        required: false,
        doc,
        range: None,
        allowed: &[],
        shell: Shell::Not,
        constraint: Constraint::None,
    }
}

/// An output bounded by its type: a string is an identifier or a short text, a number or a bool a few bytes.
/// Lists and maps say their own bound (`at_most`).
const fn output(name: &'static str, ty: ValueType, doc: &'static str) -> OutputSpec {
    let max_bytes = match ty {
        ValueType::Number | ValueType::Duration => 24,
        ValueType::Bool => 5,
        _ => TEXT_BYTES,
    };
    OutputSpec {
        name,
        ty,
        doc,
        max_bytes,
    }
}

impl OutputSpec {
    const fn at_most(self, max_bytes: usize) -> OutputSpec {
        OutputSpec { max_bytes, ..self }
    }
}

/// Quick calls that are safe to repeat: SNS publish, describe calls, one HTTP GET.
const RETRY_QUICK: RetrySpec = RetrySpec {
    attempts: 3,
    interval_secs: 2,
    backoff: 2.0,
    max_delay_secs: 30,
    jitter: true,
};
/// Calls that start long operations; idempotent by client token or deterministic id.
const RETRY_START: RetrySpec = RetrySpec {
    attempts: 4,
    interval_secs: 5,
    backoff: 2.0,
    max_delay_secs: 60,
    jitter: true,
};

// The resources that several actions name, as IAM ARN patterns (see [`iam::Grant::resources`]).
/// An Auto Scaling group by name; the group's id in its ARN is unknown before it exists.
const AUTO_SCALING_GROUP: &str = "arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group}";
/// The processes SuspendProcesses knows (Auto Scaling API reference, `ScalingProcesses`).
pub const AUTO_SCALING_PROCESSES: &[&str] = &[
    "AZRebalance",
    "AddToLoadBalancer",
    "AlarmNotification",
    "HealthCheck",
    "InstanceRefresh",
    "Launch",
    "ReplaceUnhealthy",
    "ScheduledActions",
    "Terminate",
];
const TOPIC: &str = "arn:{partition}:sns:{region}:{account}:{topic}";
/// An instance by its identifier as RDS stores it (lowercase: [`names::rds_id`]).
const DB_INSTANCE: &str = "arn:{partition}:rds:{region}:{account}:db:{instance@rds}";
/// `rds.snapshot` names its snapshot `stepback-<instance>-<key>` unless the step names it.
const SNAPSHOT_TAKEN: &str =
    "arn:{partition}:rds:{region}:{account}:snapshot:{snapshot_id|stepback-*}";
const SNAPSHOT_RESTORED: &str = "arn:{partition}:rds:{region}:{account}:snapshot:{snapshot}";
/// `rds.restore` restores to `<instance>-rb-<key>` and parks the original as `<instance>-pre-rollback-<key>`,
/// both derived by [`names::Derived`], which renders these patterns too.
const RESTORED_INSTANCE: &str =
    "arn:{partition}:rds:{region}:{account}:db:{new_instance@rds|{instance@restored}}";
const PARKED_INSTANCE: &str = "arn:{partition}:rds:{region}:{account}:db:{instance@parked}";
/// An Aurora DB cluster by name, and its cluster snapshots, named as the instance's are.
const DB_CLUSTER: &str = "arn:{partition}:rds:{region}:{account}:cluster:{cluster@rds}";
const CLUSTER_SNAPSHOT_TAKEN: &str =
    "arn:{partition}:rds:{region}:{account}:cluster-snapshot:{snapshot_id|stepback-*}";
const CLUSTER_SNAPSHOT_RESTORED: &str =
    "arn:{partition}:rds:{region}:{account}:cluster-snapshot:{snapshot}";
/// A restored cluster, `<cluster>-rb-<key>`; its writer instance carries the same identifier (RDS keeps
/// instances' and clusters' identifiers apart).
const RESTORED_CLUSTER: &str =
    "arn:{partition}:rds:{region}:{account}:cluster:{new_cluster@rds|{cluster@restored}}";
const RESTORED_WRITER: &str =
    "arn:{partition}:rds:{region}:{account}:db:{new_cluster@rds|{cluster@restored}}";
/// The restored cluster's readers, one for each of the original's, `<cluster>-rb-reader-<n>-<key>`.
const RESTORED_READERS: &str = "arn:{partition}:rds:{region}:{account}:db:{cluster@reader}";
const PARKED_CLUSTER: &str = "arn:{partition}:rds:{region}:{account}:cluster:{cluster@parked}";
/// The groups of the settings a restore copies, whose names only the original knows.
const OPTION_GROUPS: &str = "arn:{partition}:rds:{region}:{account}:og:*";
const PARAMETER_GROUPS: &str = "arn:{partition}:rds:{region}:{account}:pg:*";
const SUBNET_GROUPS: &str = "arn:{partition}:rds:{region}:{account}:subgrp:*";
/// Any KMS key of the account and region: which key encrypts a database, a snapshot or a topic only AWS knows.
const KMS_KEYS: &str = "arn:{partition}:kms:{region}:{account}:key/*";
/// A database or snapshot encrypted under a customer-managed key: RDS creates a grant on the key for the caller
/// who snapshots or restores it ("a user must have permissions to call the following operations on the customer
/// managed key: kms:CreateGrant, kms:DescribeKey", RDS user guide, "AWS KMS key management"), and only RDS may.
const KMS_THROUGH_RDS: Grant =
    Grant::via("rds", &["kms:CreateGrant"], &[KMS_KEYS]).for_aws_resource();
/// A topic encrypted under a customer-managed key: SNS encrypts each message with the publisher's permissions
/// (SNS developer guide, "Key management"), and only SNS may. `GenerateDataKey` is the call SNS makes; the guide's
/// `GenerateDataKey*` would be a wildcard action, which no role of ours has.
const KMS_THROUGH_SNS: Grant =
    Grant::via("sns", &["kms:Decrypt", "kms:GenerateDataKey"], &[KMS_KEYS]);
/// The key's state and whether the role may use it at all, which `stepback preflight` reads itself (RDS reads it
/// too, for the role): the key's metadata, no use of the key.
const KMS_DESCRIBE: Grant = Grant::on(&["kms:DescribeKey"], &[KMS_KEYS]);
const SERVICE: &str = "arn:{partition}:ecs:{region}:{account}:service/{cluster}/{service}";
const TASK_DEFINITION: &str =
    "arn:{partition}:ecs:{region}:{account}:task-definition/{task_definition@family}:*";
/// Any service of the account and region: which one registers into a target group is what is looked for.
const ANY_SERVICE: &str = "arn:{partition}:ecs:{region}:{account}:service/*";
const LISTENER: &str =
    "arn:{partition}:elasticloadbalancing:{region}:{account}:listener/{listener}";
/// The rule `alb.halt` added; known only at run time when it comes from the halt step (then any rule: its ARN
/// names the listener by ids that a pattern cannot take from the listener's ARN).
const LISTENER_RULE: &str =
    "arn:{partition}:elasticloadbalancing:{region}:{account}:listener-rule/{rule}";
const TARGET_GROUP: &str =
    "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{target_group}";
/// The task and execution roles of the task definitions, which only AWS knows: the template narrows them with
/// its `TaskRoleArns` parameter.
const TASK_ROLES: &[&str] = &["{task_roles}"];

/// The `guard` params that the compiler fills: the declared input names, and the input to check against them.
/// JSONPath Choice rules cannot list an object's keys, so the guard Lambda, which runs before any step, does.
pub const GUARD_DECLARED: &str = "declared";
pub const GUARD_INPUT: &str = "input";
/// The `guard` param that bounds each string or list input: its `max_length` by name ([`input_length`]).
pub const GUARD_MAX_LENGTHS: &str = "max_lengths";

/// An input's length as `max_length` counts it: the bytes the value takes in the state data, as JSON (UTF-8),
/// without a string's quotes. Plain text of n ASCII characters is n; a `"` or `\` counts 2.
pub fn input_length(value: &serde_json::Value) -> usize {
    let json = value.to_string();
    match value {
        serde_json::Value::String(_) => json.len().saturating_sub(2),
        _ => json.len(),
    }
}

/// `max_length` of a string input that does not declare one: a version, an id, a reason. One that
/// `[trigger].input` fills from an alarm gets room for what the alarm writes (`workflow::Workflow::max_length`).
pub const DEFAULT_STRING_LENGTH: usize = 1024;
/// `max_length` of a list input that does not declare one, as JSON.
pub const DEFAULT_LIST_LENGTH: usize = 4 * 1024;
/// The largest `max_length` an input may declare: a quarter of what a state may carry.
pub const MAX_INPUT_LENGTH: usize = 64 * 1024;
/// The `guard` params of a workflow with `[trigger]`: the input the execution was started with (whether an alarm
/// started it, [`ALARM_DETAIL_TYPE`]), `[trigger].cooldown` in seconds, and `[trigger].topic`.
pub const GUARD_STARTED_WITH: &str = "started_with";
pub const GUARD_COOLDOWN: &str = "cooldown";
pub const GUARD_TOPIC: &str = "topic";

/// The guard's lock: a DynamoDB table per state machine ([`names::lock_table`]) whose one item, keyed
/// `LOCK_KEY = LOCK_ITEM`, names the execution that acts. The template creates it (`compiler::template`).
pub const LOCK_KEY: &str = "lock";
pub const LOCK_ITEM: &str = "rollback";
/// The lock table's ARN, as [`names::lock_table`] names it.
const LOCK_TABLE: &str =
    "arn:{partition}:dynamodb:{region}:{account}:table/{state_machine}-stepback-lock";

/// The `detail-type` of the event that CloudWatch sends to EventBridge when an alarm changes state (CloudWatch
/// user guide, "Alarm events and EventBridge"); the rule starts the machine with the event as its input.
pub const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

/// The output of an execution that the guard ended before any step (another rollback is running, or an alarm
/// within `[trigger].cooldown`): the machine still SUCCEEDS, so whoever reads the end must look here to tell "held
/// back" from "rolled back". The compiler writes it; `stepback start --follow` reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct HeldBack {
    /// What ended it, e.g. "another rollback is running".
    pub ended: String,
    /// The guard's message, naming the other execution.
    pub because: String,
}

impl HeldBack {
    pub const ENDED: &str = "ended";
    pub const BECAUSE: &str = "because";
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

use ValueType as T;

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "notify",
        summary: "publish a message to an SNS topic",
        params: &[
            param("topic", T::String, "SNS topic ARN"),
            optional(
                "subject",
                T::String,
                "email subject; cut to SNS's 100 characters",
            ),
            param("message", T::String, "message body"),
        ],
        exactly_one_of: &[],
        outputs: &[output("message_id", T::String, "SNS message id")],
        runtime: Runtime::Invoke,
        // GetTopicAttributes: `stepback preflight`'s check that the topic exists.
        grants: &[
            Grant::on(&["sns:GetTopicAttributes", "sns:Publish"], &[TOPIC]),
            KMS_THROUGH_SNS,
            KMS_DESCRIBE,
        ],
        changes: &[],
        needs: &[Need::Topic { topic: "topic" }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 5,
        default_timeout_secs: MINUTE,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "approval",
        summary: "ask a person to approve through SNS, and wait for `stepback approve` or `stepback reject`",
        params: &[
            param(
                "topic",
                T::String,
                "SNS topic ARN the request is published to",
            ),
            param("message", T::String, "what needs approval"),
        ],
        exactly_one_of: &[],
        outputs: &[
            output("approved_by", T::String, "who approved"),
            output("comment", T::String, "the approver's comment")
                .at_most(contract::APPROVAL_COMMENT_BYTES + 2),
        ],
        runtime: Runtime::TaskToken,
        // GetTopicAttributes: `stepback preflight`'s check that the topic exists.
        grants: &[
            Grant::on(&["sns:GetTopicAttributes", "sns:Publish"], &[TOPIC]),
            KMS_THROUGH_SNS,
            KMS_DESCRIBE,
        ],
        changes: &[],
        needs: &[Need::Topic { topic: "topic" }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 10 * MINUTE,
        default_timeout_secs: HOUR,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "rds.snapshot",
        summary: "take a manual snapshot of an RDS instance or an Aurora DB cluster",
        params: &[
            optional("instance", T::String, "DB instance identifier").naming(),
            optional(
                "cluster",
                T::String,
                "Aurora DB cluster identifier: a cluster snapshot",
            )
            .naming(),
            optional(
                "snapshot_id",
                T::String,
                "snapshot identifier; derived from the execution and step when absent",
            )
            .naming(),
        ],
        exactly_one_of: &[&["instance", "cluster"]],
        outputs: &[
            output("snapshot_id", T::String, "the snapshot's identifier").at_most(RDS_ID_BYTES),
            output(
                "instance",
                T::String,
                "the instance snapshotted; empty for a cluster",
            ).at_most(RDS_ID_BYTES),
            output(
                "cluster",
                T::String,
                "the cluster snapshotted; empty for an instance",
            ).at_most(RDS_ID_BYTES),
        ],
        runtime: Runtime::Poll,
        grants: &[
            Grant::on(&["rds:CreateDBSnapshot"], &[DB_INSTANCE, SNAPSHOT_TAKEN]).given("instance"),
            Grant::on(&["rds:AddTagsToResource"], &[SNAPSHOT_TAKEN]).given("instance"),
            Grant::on(&["rds:DescribeDBSnapshots"], &[SNAPSHOT_TAKEN]).given("instance"),
            // `stepback preflight`'s check that the instance is available.
            Grant::on(&["rds:DescribeDBInstances"], &[DB_INSTANCE]).given("instance"),
            Grant::on(
                &["rds:CreateDBClusterSnapshot"],
                &[DB_CLUSTER, CLUSTER_SNAPSHOT_TAKEN],
            )
            .given("cluster"),
            Grant::on(&["rds:AddTagsToResource"], &[CLUSTER_SNAPSHOT_TAKEN]).given("cluster"),
            Grant::on(
                &["rds:DescribeDBClusterSnapshots"],
                &[CLUSTER_SNAPSHOT_TAKEN],
            )
            .given("cluster"),
            // `stepback preflight`'s check that the cluster is available.
            Grant::on(&["rds:DescribeDBClusters"], &[DB_CLUSTER]).given("cluster"),
            KMS_THROUGH_RDS,
            KMS_DESCRIBE,
        ],
        changes: &[],
        needs: &[
            Need::DbInstance { instance: "instance" },
            Need::DbCluster { cluster: "cluster" },
        ],
        default_retry: RETRY_START,
        default_estimate_secs: 10 * MINUTE,
        default_timeout_secs: 2 * HOUR,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "rds.restore",
        summary: "restore an RDS snapshot to a new instance, or an Aurora cluster snapshot to a new cluster and its \
                  writer, optionally swapping it in by rename; never deletes",
        params: &[
            optional(
                "instance",
                T::String,
                "the instance being replaced; its settings are copied",
            )
            .naming(),
            optional(
                "cluster",
                T::String,
                "the Aurora DB cluster being replaced; its settings, its writer's and its readers' are copied",
            )
            .naming(),
            param(
                "snapshot",
                T::String,
                "snapshot identifier to restore (a cluster snapshot with `cluster`)",
            )
            .naming(),
            optional(
                "swap",
                T::Bool,
                "rename the original to <id>-pre-rollback-<suffix> and the restored one to <id>",
            ),
            optional(
                "new_instance",
                T::String,
                "identifier of the restored instance; derived from the execution when absent",
            )
            .naming(),
            optional(
                "new_cluster",
                T::String,
                "identifier of the restored cluster and of its writer instance; derived from the execution when \
                 absent",
            )
            .naming(),
        ],
        exactly_one_of: &[&["instance", "cluster"]],
        outputs: &[
            output(
                "instance_id",
                T::String,
                "the identifier the application now uses; with `cluster`, the restored cluster's writer",
            ).at_most(RDS_ID_BYTES),
            output(
                "new_instance_id",
                T::String,
                "the instance restored from the snapshot; with `cluster`, the restored cluster's writer",
            ).at_most(RDS_ID_BYTES),
            output(
                "replaced_instance_id",
                T::String,
                "where the original instance is kept; with `cluster`, the original cluster's writer",
            ).at_most(RDS_ID_BYTES),
            output(
                "cluster_id",
                T::String,
                "the cluster identifier the application now uses; empty for an instance",
            ).at_most(RDS_ID_BYTES),
            output(
                "new_cluster_id",
                T::String,
                "the cluster restored from the snapshot; empty for an instance",
            ).at_most(RDS_ID_BYTES),
            output(
                "replaced_cluster_id",
                T::String,
                "where the original cluster is kept; empty for an instance",
            ).at_most(RDS_ID_BYTES),
            output(
                "endpoint",
                T::String,
                "the endpoint address of `instance_id`, or with `cluster` the cluster (writer) endpoint of \
                 `cluster_id`",
            ).at_most(RDS_ID_BYTES),
            output("snapshot", T::String, "the snapshot restored").at_most(RDS_ID_BYTES),
            output(
                "notes",
                T::String,
                "what a person must know: where the parked original is and how to read it, the settings that \
                 could not be copied and why, and how long the name takes to reach the restored database",
            ).at_most(NOTES_BYTES),
        ],
        runtime: Runtime::Poll,
        grants: &[
            Grant::on(
                &["rds:RestoreDBInstanceFromDBSnapshot"],
                &[
                    RESTORED_INSTANCE,
                    SNAPSHOT_RESTORED,
                    OPTION_GROUPS,
                    PARAMETER_GROUPS,
                    SUBNET_GROUPS,
                ],
            )
            .given("instance"),
            Grant::on(&["rds:AddTagsToResource"], &[RESTORED_INSTANCE]).given("instance"),
            Grant::on(
                &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
                &[DB_INSTANCE, RESTORED_INSTANCE, PARKED_INSTANCE],
            )
            .given("instance"),
            Grant::on(&["rds:DescribeDBSnapshots"], &[SNAPSHOT_RESTORED]).given("instance"),
            // The parked original, once swapped out: it must take no writes.
            Grant::on(&["rds:StopDBInstance"], &[PARKED_INSTANCE]).given("instance"),
            Grant::on(
                &["rds:RestoreDBClusterFromSnapshot"],
                &[
                    RESTORED_CLUSTER,
                    CLUSTER_SNAPSHOT_RESTORED,
                    "arn:{partition}:rds:{region}:{account}:cluster-pg:*",
                    OPTION_GROUPS,
                    SUBNET_GROUPS,
                ],
            )
            .given("cluster"),
            // The writer and the readers of the restored cluster.
            Grant::on(
                &["rds:CreateDBInstance"],
                &[
                    RESTORED_WRITER,
                    RESTORED_READERS,
                    RESTORED_CLUSTER,
                    OPTION_GROUPS,
                    PARAMETER_GROUPS,
                    SUBNET_GROUPS,
                ],
            )
            .given("cluster"),
            Grant::on(
                &["rds:AddTagsToResource"],
                &[RESTORED_CLUSTER, RESTORED_WRITER, RESTORED_READERS],
            )
            .given("cluster"),
            Grant::on(
                &["rds:DescribeDBClusters", "rds:ModifyDBCluster"],
                &[DB_CLUSTER, RESTORED_CLUSTER, PARKED_CLUSTER],
            )
            .given("cluster"),
            Grant::on(&["rds:StopDBCluster"], &[PARKED_CLUSTER]).given("cluster"),
            // The original writer's class and parameter group, and the new writer's state: the original
            // writer's name is known only from the cluster.
            Grant::on(
                &["rds:DescribeDBInstances"],
                &["arn:{partition}:rds:{region}:{account}:db:*"],
            )
            .given("cluster"),
            Grant::on(
                &["rds:DescribeDBClusterSnapshots"],
                &[CLUSTER_SNAPSHOT_RESTORED],
            )
            .given("cluster"),
            KMS_THROUGH_RDS,
            KMS_DESCRIBE,
        ],
        changes: &[
            Changes::of("DB instance", &["instance"]),
            Changes::of("DB cluster", &["cluster"]),
        ],
        needs: &[
            Need::DbInstance { instance: "instance" },
            Need::DbSnapshot {
                snapshot: "snapshot",
                instance: "instance",
            },
            Need::DbCluster { cluster: "cluster" },
            Need::DbClusterSnapshot {
                snapshot: "snapshot",
                cluster: "cluster",
            },
        ],
        default_retry: RETRY_START,
        default_estimate_secs: 25 * MINUTE,
        default_timeout_secs: 3 * HOUR,
        guards: &[
            Guard {
                action: "rds.snapshot",
                same: &[("instance", "instance"), ("cluster", "cluster")],
                kind: GuardKind::Backup,
                required: true,
            },
            Guard {
                action: "approval",
                same: &[],
                kind: GuardKind::Approval,
                required: true,
            },
        ],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "ecs.run_task",
        summary: "run a one-off ECS task, e.g. a migration, and wait for it to stop",
        params: &[
            param("cluster", T::String, "cluster name or ARN"),
            param(
                "task_definition",
                T::String,
                "family, family:revision or ARN",
            ),
            optional(
                "container",
                T::String,
                "container whose command is overridden",
            ),
            optional(
                "command",
                T::StringList,
                "command override, an argv; with `sh -c`, the script's values stay data",
            )
            .run_by(Shell::Argv),
            optional(
                "service",
                T::String,
                "service whose network (subnets, security groups, public IP) and capacity provider strategy or launch type the task takes",
            ),
            optional(
                "subnets",
                T::StringList,
                "awsvpc subnets; default: the service's",
            ),
            optional(
                "security_groups",
                T::StringList,
                "awsvpc security groups; default: the service's",
            ),
            optional(
                "launch_type",
                T::String,
                "FARGATE or EC2; default: the service's capacity provider strategy or launch type, else FARGATE for a Fargate-only task definition, else the cluster's default",
            )
            .one_of(&["FARGATE", "EC2"]),
        ],
        exactly_one_of: &[],
        outputs: &[
            output("task_arn", T::String, "the task run"),
            output("exit_code", T::Number, "the container's exit code"),
            output("stopped_reason", T::String, "ECS's stop reason"),
        ],
        runtime: Runtime::Poll,
        // ListTasks: a retried `start` finds the task it started (by `startedBy`) instead of running another.
        grants: &[
            Grant::on(&["ecs:RunTask"], &[TASK_DEFINITION]),
            Grant::on(
                &["ecs:DescribeTasks"],
                &["arn:{partition}:ecs:{region}:{account}:task/{cluster}/*"],
            ),
            Grant::on(
                &["ecs:ListTasks"],
                &["arn:{partition}:ecs:{region}:{account}:container-instance/{cluster}/*"],
            ),
            // Only to reuse the network configuration of a service the step names.
            Grant::on(
                &["ecs:DescribeServices"],
                &["arn:{partition}:ecs:{region}:{account}:service/{cluster}/{service?}"],
            ),
            Grant::pass_role(TASK_ROLES, "ecs-tasks.amazonaws.com"),
            // `stepback preflight`'s check that the task definition resolves.
            Grant::unscoped(&["ecs:DescribeTaskDefinition"]),
        ],
        changes: &[],
        needs: &[
            Need::Network {
                subnets: "subnets",
                security_groups: "security_groups",
            },
            Need::EcsTask {
                cluster: "cluster",
                task_definition: "task_definition",
                container: "container",
            },
        ],
        default_retry: RETRY_START,
        default_estimate_secs: 5 * MINUTE,
        default_timeout_secs: HOUR,
        guards: &[Guard {
            action: "rds.snapshot",
            same: &[],
            kind: GuardKind::Backup,
            required: false,
        }],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "ecs.deploy",
        summary: "point an ECS service at an earlier image tag or task definition and wait until it is stable",
        params: &[
            param("cluster", T::String, "cluster name or ARN"),
            param("service", T::String, "service name"),
            optional(
                "container",
                T::String,
                "container whose image changes; needed with image_tag",
            ),
            optional(
                "image_tag",
                T::String,
                "tag to deploy; `previous` = the ACTIVE revision before the running one",
            ),
            optional(
                "task_definition",
                T::String,
                "family:revision or ARN to deploy",
            ),
        ],
        exactly_one_of: &[&["image_tag", "task_definition"]],
        outputs: &[
            output("image_tag", T::String, "the image tag actually deployed"),
            output(
                "task_definition_before",
                T::String,
                "task definition ARN before the deploy",
            ),
            output(
                "task_definition_after",
                T::String,
                "task definition ARN after the deploy",
            ),
        ],
        runtime: Runtime::Poll,
        grants: &[
            Grant::on(&["ecs:DescribeServices", "ecs:UpdateService"], &[SERVICE]),
            // The family is the running task definition's, which only the service knows.
            Grant::on(
                &["ecs:RegisterTaskDefinition"],
                &["arn:{partition}:ecs:{region}:{account}:task-definition/*"],
            ),
            Grant::unscoped(&["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"]),
            // The tasks that stopped, when a deployment reports failed tasks: why they could not start.
            Grant::on(
                &["ecs:ListTasks"],
                &["arn:{partition}:ecs:{region}:{account}:container-instance/{cluster}/*"],
            ),
            Grant::on(
                &["ecs:DescribeTasks"],
                &["arn:{partition}:ecs:{region}:{account}:task/{cluster}/*"],
            ),
            // The images to deploy must exist; a task definition may name any account's or region's ECR.
            Grant::on(
                &["ecr:DescribeImages"],
                &["arn:{partition}:ecr:*:*:repository/*"],
            ),
            // An image not yet in ECR may be in a pull-through cache, which fetches it on its first pull.
            Grant::unscoped(&["ecr:DescribePullThroughCacheRules"]),
            Grant::pass_role(TASK_ROLES, "ecs-tasks.amazonaws.com"),
        ],
        changes: &[Changes::of("ECS service", &["cluster", "service"])],
        needs: &[Need::EcsService {
            cluster: "cluster",
            service: "service",
            container: "container",
        }],
        default_retry: RETRY_START,
        default_estimate_secs: 10 * MINUTE,
        default_timeout_secs: HOUR,
        guards: &[],
        poll_interval: None,
        function: PAGING_FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "alb.deregister",
        summary: "take targets that a person registered (hosts) out of a target group and wait until they have drained; a group an ECS service or Auto Scaling group manages is halted with alb.halt",
        params: &[
            param("target_group", T::String, "target group ARN"),
            optional(
                "targets",
                T::Targets,
                "targets to drain; default: all registered",
            ),
        ],
        exactly_one_of: &[],
        // A target group holds at most 1,000 targets, each an id and a port (`"i-0123456789abcdef0:8080",`).
        outputs: &[output(
            "targets",
            T::Targets,
            "the targets drained, for alb.register",
        )
        .at_most(32 * 1024)],
        runtime: Runtime::Poll,
        grants: &[
            Grant::on(&["elasticloadbalancing:DeregisterTargets"], &[TARGET_GROUP]),
            Grant::unscoped(&["elasticloadbalancing:DescribeTargetHealth"]),
            // `stepback preflight`: whether an ECS service or an Auto Scaling group registers into the group.
            Grant::unscoped(&[
                "ecs:ListClusters",
                "ecs:ListServices",
                "autoscaling:DescribeAutoScalingGroups",
            ]),
            Grant::on(&["ecs:DescribeServices"], &[ANY_SERVICE]),
        ],
        changes: &[Changes::of("target group", &["target_group"])],
        needs: &[Need::TargetGroup {
            target_group: "target_group",
            targets: "targets",
        }],
        default_retry: RETRY_START,
        default_estimate_secs: 5 * MINUTE,
        default_timeout_secs: HOUR,
        guards: &[],
        poll_interval: None,
        function: PAGING_FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "alb.register",
        summary: "put targets back into a target group and wait until they are healthy; fails at once when a target no longer exists",
        params: &[
            param("target_group", T::String, "target group ARN"),
            param("targets", T::Targets, "targets to register"),
        ],
        exactly_one_of: &[],
        // A target group holds at most 1,000 targets, each an id and a port (`"i-0123456789abcdef0:8080",`).
        outputs: &[output("targets", T::Targets, "the targets registered").at_most(32 * 1024)],
        runtime: Runtime::Poll,
        grants: &[
            Grant::on(&["elasticloadbalancing:RegisterTargets"], &[TARGET_GROUP]),
            Grant::unscoped(&["elasticloadbalancing:DescribeTargetHealth"]),
            // Whether each target still exists (an instance, or the interface holding an address).
            Grant::unscoped(&["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"]),
            Grant::unscoped(&[
                "ecs:ListClusters",
                "ecs:ListServices",
                "autoscaling:DescribeAutoScalingGroups",
            ]),
            Grant::on(&["ecs:DescribeServices"], &[ANY_SERVICE]),
        ],
        changes: &[Changes::of("target group", &["target_group"])],
        needs: &[Need::TargetGroup {
            target_group: "target_group",
            targets: "targets",
        }],
        default_retry: RETRY_START,
        default_estimate_secs: 2 * MINUTE,
        default_timeout_secs: 30 * MINUTE,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "alb.halt",
        summary: "halt a load balancer's traffic: a listener rule, first of all, answers every request with a fixed maintenance response",
        params: &[
            param("listener", T::String, "listener ARN of the application load balancer"),
            optional(
                "status",
                T::Number,
                "the status answered; default 503",
            )
            .within(200.0, 599.0),
            optional(
                "message",
                T::String,
                "the body answered, plain text; default \"Down for maintenance; back shortly.\"",
            ),
        ],
        exactly_one_of: &[],
        outputs: &[output("rule", T::String, "the rule's ARN, for alb.resume").at_most(258)],
        runtime: Runtime::Invoke,
        grants: &[
            Grant::on(&["elasticloadbalancing:CreateRule"], &[LISTENER]),
            // A retried step finds its rule; `stepback preflight`, that the listener exists and priority 1 is free.
            Grant::unscoped(&["elasticloadbalancing:DescribeRules"]),
        ],
        changes: &[Changes::of("listener", &["listener"])],
        needs: &[Need::Listener { listener: "listener" }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 5,
        default_timeout_secs: MINUTE,
        guards: &[],
        poll_interval: None,
        function: PAGING_FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "alb.resume",
        summary: "resume a load balancer's traffic: delete the rule that alb.halt added",
        params: &[
            param("listener", T::String, "listener ARN of the application load balancer"),
            param("rule", T::String, "the rule, normally `${steps.<id>.rule}`"),
        ],
        exactly_one_of: &[],
        outputs: &[output("rule", T::String, "the rule deleted").at_most(258)],
        runtime: Runtime::Invoke,
        grants: &[
            Grant::on(&["elasticloadbalancing:DeleteRule"], &[LISTENER_RULE]),
            Grant::unscoped(&["elasticloadbalancing:DescribeRules"]),
        ],
        changes: &[Changes::of("listener rule", &["rule"])],
        needs: &[Need::Listener { listener: "listener" }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 5,
        default_timeout_secs: MINUTE,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "check.http",
        summary: "GET a URL until it answers as expected the given number of times in a row",
        params: &[
            param("url", T::String, "http or https URL"),
            optional("expect_status", T::Number, "expected status; default 200")
                .within(100.0, 599.0),
            optional(
                "expect_body",
                T::String,
                "a substring the body must contain",
            ),
            optional(
                "consecutive",
                T::Number,
                "successes in a row needed; default 1",
            )
            .within(1.0, 100.0),
            optional("interval", T::Duration, "time between checks; default 10s"),
            optional(
                "request_timeout",
                T::Duration,
                "timeout of one request; default 5s",
            ),
        ],
        exactly_one_of: &[],
        outputs: &[
            output("status", T::Number, "the last HTTP status"),
            output("latency_ms", T::Number, "the last request's latency"),
        ],
        runtime: Runtime::Poll,
        grants: &[],
        changes: &[],
        needs: &[Need::Url {
            url: "url",
            status: "expect_status",
        }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: MINUTE,
        default_timeout_secs: 15 * MINUTE,
        guards: &[],
        poll_interval: Some(("interval", 10)),
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "check.alarms",
        summary: "wait until CloudWatch alarms are in the expected state",
        params: &[
            param("alarms", T::StringList, "alarm names"),
            optional(
                "state",
                T::String,
                "OK, ALARM or INSUFFICIENT_DATA; default OK",
            )
            .one_of(&["OK", "ALARM", "INSUFFICIENT_DATA"]),
        ],
        exactly_one_of: &[],
        // DescribeAlarms takes at most 100 names of up to 255 characters.
        outputs: &[output("states", T::StringMap, "each alarm's last state").at_most(32 * 1024)],
        runtime: Runtime::Poll,
        grants: &[Grant::on(
            &["cloudwatch:DescribeAlarms"],
            &["arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarms}"],
        )],
        changes: &[],
        needs: &[Need::Alarms { alarms: "alarms" }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 5 * MINUTE,
        default_timeout_secs: 30 * MINUTE,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "check.metric",
        summary: "read a CloudWatch metric until its newest periods compare well with a threshold, N in a row",
        params: &[
            param(
                "namespace",
                T::String,
                "CloudWatch namespace, e.g. AWS/ApplicationELB",
            ),
            param(
                "metric",
                T::String,
                "metric name, e.g. HTTPCode_Target_5XX_Count",
            ),
            optional(
                "dimensions",
                T::StringMap,
                "the metric's dimensions, all of them (CloudWatch matches them exactly), e.g. { LoadBalancer = \"app/web/50dc6c495c0c9188\" }",
            ),
            optional(
                "statistic",
                T::String,
                "Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99; default Average",
            )
            .constrained(Constraint::Statistic),
            optional(
                "period",
                T::Duration,
                "one datapoint's period: 1s, 5s, 10s, 30s or whole minutes; default 1m; also the time between reads",
            )
            .constrained(Constraint::Period),
            param(
                "comparison",
                T::String,
                "how a good value compares with `threshold`",
            )
            .one_of(&metric::Comparison::SYMBOLS),
            param("threshold", T::Number, "the value a good period compares with"),
            optional(
                "periods",
                T::Number,
                "good periods in a row needed, the newest datapoints; a period without a datapoint is not good; default 1",
            )
            .within(1.0, metric::MAX_PERIODS as f64),
            optional(
                "window",
                T::Duration,
                "how far back each read looks, at least `periods` × `period`; default that plus 5m, as CloudWatch publishes some metrics late",
            )
            .constrained(Constraint::Holds {
                period: ("period", metric::DEFAULT_PERIOD_SECS),
                count: ("periods", metric::DEFAULT_PERIODS),
            }),
        ],
        exactly_one_of: &[],
        outputs: &[
            output("value", T::Number, "the newest datapoint's value"),
            output(
                "series",
                T::Series,
                "the newest datapoints of the window, oldest first, at most 100: [{ time, value }]",
            )
            .at_most(metric::SERIES_BYTES),
        ],
        runtime: Runtime::Poll,
        // GetMetricData takes no resource (Service Authorization Reference).
        grants: &[Grant::unscoped(&["cloudwatch:GetMetricData"])],
        changes: &[],
        needs: &[Need::Metric {
            namespace: "namespace",
            metric: "metric",
            dimensions: "dimensions",
            period: "period",
            periods: "periods",
            window: "window",
            comparison: "comparison",
            threshold: "threshold",
        }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 5 * MINUTE,
        default_timeout_secs: 30 * MINUTE,
        guards: &[],
        poll_interval: Some(("period", metric::DEFAULT_PERIOD_SECS)),
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "ssm.command",
        summary: "run shell commands on EC2 instances with Run Command (AWS-RunShellScript)",
        params: &[
            optional("instance_ids", T::StringList, "instances to run on"),
            optional("tags", T::StringMap, "run on the instances with these tags"),
            param(
                "commands",
                T::StringList,
                "shell commands, run in order; values from `${...}` reach the shell as data",
            )
            .run_by(Shell::Script),
            optional(
                "working_directory",
                T::String,
                "directory the commands run in",
            ),
        ],
        exactly_one_of: &[&["instance_ids", "tags"]],
        outputs: &[
            output("command_id", T::String, "the Run Command id"),
            output(
                "output",
                T::String,
                "standard output of every instance, cut to 8 KB as JSON (the cut is said)",
            )
            .at_most(8 * 1024),
        ],
        runtime: Runtime::Poll,
        // ListCommands: the poll reads the command's status, and a retried `start` finds the command it sent.
        grants: &[
            Grant::on(
                &["ssm:SendCommand"],
                &[
                    // AWS-owned documents have no account in their ARN; parliament wants one: any.
                    "arn:{partition}:ssm:{region}:*:document/AWS-RunShellScript",
                    "arn:{partition}:ec2:{region}:{account}:instance/{instance_ids}",
                ],
            ),
            // DescribeInstanceInformation: `stepback preflight`'s check that the instances are managed by SSM.
            Grant::unscoped(&[
                "ssm:DescribeInstanceInformation",
                "ssm:GetCommandInvocation",
                "ssm:ListCommandInvocations",
                "ssm:ListCommands",
            ]),
        ],
        changes: &[Changes::of("EC2 instance", &["instance_ids"])],
        needs: &[Need::Instances {
            instances: "instance_ids",
        }],
        default_retry: RETRY_START,
        default_estimate_secs: 5 * MINUTE,
        default_timeout_secs: HOUR,
        guards: &[Guard {
            action: "ec2.image",
            same: &[],
            kind: GuardKind::Backup,
            required: false,
        }],
        poll_interval: None,
        function: PAGING_FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "ec2.image",
        summary: "create an AMI of an instance without rebooting it",
        params: &[
            param("instance_id", T::String, "instance to image"),
            optional(
                "name",
                T::String,
                "image name; derived from the execution when absent",
            ),
        ],
        exactly_one_of: &[],
        outputs: &[output("image_id", T::String, "the AMI id")],
        runtime: Runtime::Poll,
        grants: &[
            Grant::on(
                &["ec2:CreateImage"],
                &[
                    "arn:{partition}:ec2:{region}::image/*",
                    "arn:{partition}:ec2:{region}:{account}:instance/{instance_id}",
                    "arn:{partition}:ec2:{region}::snapshot/*",
                ],
            ),
            Grant::on(
                &["ec2:CreateTags"],
                &[
                    "arn:{partition}:ec2:{region}::image/*",
                    "arn:{partition}:ec2:{region}::snapshot/*",
                ],
            ),
            // DescribeInstances: `stepback preflight`'s check that the instance exists.
            Grant::unscoped(&["ec2:DescribeImages", "ec2:DescribeInstances"]),
        ],
        changes: &[],
        needs: &[Need::Instances {
            instances: "instance_id",
        }],
        default_retry: RETRY_START,
        default_estimate_secs: 15 * MINUTE,
        default_timeout_secs: 2 * HOUR,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "asg.suspend",
        summary: "suspend an Auto Scaling group's processes, e.g. Launch and Terminate, during the rollback",
        params: &[
            param("group", T::String, "Auto Scaling group name"),
            optional(
                "processes",
                T::StringList,
                "processes to suspend, e.g. [\"Launch\", \"Terminate\"]; default: all",
            )
            .one_of(AUTO_SCALING_PROCESSES),
        ],
        exactly_one_of: &[],
        outputs: &[output(
            "suspended",
            T::StringList,
            "the processes this step suspended (not those suspended before), for asg.resume",
        )],
        runtime: Runtime::Invoke,
        // CreateOrUpdateTags: the step records what it suspended, so a retried attempt answers the same list.
        grants: &[
            Grant::unscoped(&["autoscaling:DescribeAutoScalingGroups"]),
            Grant::on(
                &["autoscaling:CreateOrUpdateTags", "autoscaling:SuspendProcesses"],
                &[AUTO_SCALING_GROUP],
            ),
        ],
        needs: &[Need::AutoScalingGroup { group: "group" }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 5,
        default_timeout_secs: MINUTE,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        changes: &[Changes::of("Auto Scaling group", &["group"])],
        user_facing: true,
    },
    ActionSpec {
        name: "asg.resume",
        summary: "resume the Auto Scaling processes that asg.suspend suspended",
        params: &[
            param("group", T::String, "Auto Scaling group name"),
            param(
                "processes",
                T::StringList,
                "processes to resume, normally `${steps.<id>.suspended}`; an empty list resumes none",
            )
            .one_of(AUTO_SCALING_PROCESSES),
        ],
        exactly_one_of: &[],
        outputs: &[output("resumed", T::StringList, "the processes resumed")],
        runtime: Runtime::Invoke,
        grants: &[
            Grant::unscoped(&["autoscaling:DescribeAutoScalingGroups"]),
            Grant::on(&["autoscaling:ResumeProcesses"], &[AUTO_SCALING_GROUP]),
        ],
        needs: &[Need::AutoScalingGroup { group: "group" }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 5,
        default_timeout_secs: MINUTE,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        changes: &[Changes::of("Auto Scaling group", &["group"])],
        user_facing: true,
    },
    ActionSpec {
        name: "check.logs",
        summary: "count the CloudWatch Logs events that match a pattern over a recent window; fail above a threshold",
        params: &[
            param("log_groups", T::StringList, "log group names"),
            param(
                "pattern",
                T::String,
                "CloudWatch Logs filter pattern, e.g. \"ERROR\" or \"?ERROR ?FATAL\"",
            ),
            optional(
                "window",
                T::Duration,
                "how far back from now to look; default 15m",
            ),
            optional(
                "threshold",
                T::Number,
                "the most matching events that still pass; default 0",
            )
            .within(0.0, 1_000_000.0),
        ],
        exactly_one_of: &[],
        outputs: &[
            output("count", T::Number, "the matching events"),
            output(
                "samples",
                T::StringList,
                "the first 5 matching lines, each cut to 200 characters",
            )
            .at_most(8 * 1024),
        ],
        runtime: Runtime::Invoke,
        // The log group's ARN with the trailing `:*`, the form IAM matches for all but the tagging actions.
        grants: &[Grant::on(
            &["logs:FilterLogEvents"],
            &["arn:{partition}:logs:{region}:{account}:log-group:{log_groups}:*"],
        )],
        needs: &[Need::LogGroups {
            log_groups: "log_groups",
        }],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 30,
        default_timeout_secs: 5 * MINUTE,
        guards: &[],
        poll_interval: None,
        function: PAGING_FUNCTION,
        changes: &[],
        user_facing: true,
    },
    ActionSpec {
        name: "wait",
        summary: "wait for a fixed time",
        params: &[param("duration", T::Duration, "how long, e.g. \"2m\"")],
        exactly_one_of: &[],
        outputs: &[],
        runtime: Runtime::Native,
        grants: &[],
        changes: &[],
        needs: &[],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 0,
        default_timeout_secs: 0,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: true,
    },
    ActionSpec {
        name: "guard",
        summary: "refuse an input that [input] does not declare; take the state machine's lock, or end the \
                  execution cleanly when another execution holds it and runs, or when an alarm started it within \
                  [trigger].cooldown of the last execution's end",
        params: &[
            param(
                GUARD_DECLARED,
                T::StringList,
                "the names that the workflow's [input] declares",
            ),
            param(
                GUARD_INPUT,
                T::StringMap,
                "the execution input with the defaults filled in; its keys and its values' lengths are checked",
            ),
            optional(
                GUARD_MAX_LENGTHS,
                T::StringMap,
                "each string or list input's max_length: a longer value is refused",
            ),
            optional(
                GUARD_STARTED_WITH,
                T::StringMap,
                "the execution input as started: an alarm's EventBridge event, or a person's input",
            ),
            optional(
                GUARD_COOLDOWN,
                T::Number,
                "[trigger].cooldown in seconds: an alarm-started execution that begins this soon after another ended \
                 does not act",
            ),
            optional(
                GUARD_TOPIC,
                T::String,
                "[trigger].topic, told when the cooldown holds an alarm-started execution back",
            ),
        ],
        exactly_one_of: &[],
        outputs: &[output(
            "previous",
            T::String,
            "the execution that held the lock before this one; empty for the state machine's first",
        )],
        runtime: Runtime::Invoke,
        grants: &[
            // The lock: a consistent read, and a conditional write that takes it or notes a held-back alarm. Nothing
            // is deleted: a finished execution's hold is taken over.
            Grant::on(&["dynamodb:GetItem", "dynamodb:UpdateItem"], &[LOCK_TABLE]),
            // Whether the holder still runs, and when it ended.
            Grant::on(
                &["states:DescribeExecution"],
                &[
                    "arn:{partition}:states:{region}:{account}:execution:{state_machine}:*",
                    // The reference lists Express executions as a required type too; this machine is Standard.
                    "arn:{partition}:states:{region}:{account}:express:{state_machine}:*:*",
                ],
            ),
            // Only with `[trigger].topic`.
            Grant::on(
                &["sns:GetTopicAttributes", "sns:Publish"],
                &["arn:{partition}:sns:{region}:{account}:{topic?}"],
            ),
            KMS_THROUGH_SNS.given(GUARD_TOPIC),
            KMS_DESCRIBE.given(GUARD_TOPIC),
        ],
        changes: &[],
        needs: &[],
        default_retry: RETRY_QUICK,
        default_estimate_secs: 1,
        default_timeout_secs: MINUTE,
        guards: &[],
        poll_interval: None,
        function: FUNCTION,
        user_facing: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_tables_pattern_is_the_name_the_guard_uses() {
        assert_eq!(
            LOCK_TABLE
                .rsplit_once("table/")
                .map(|(_, name)| name.to_owned()),
            Some(names::lock_table("{state_machine}"))
        );
    }

    #[test]
    fn names_and_params_are_unique_and_groups_name_optional_params() {
        let mut names: Vec<_> = ACTIONS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len());
        for action in ACTIONS {
            for group in action.exactly_one_of {
                for name in *group {
                    let spec = action.param(name).map(|p| p.required);
                    assert_eq!(
                        spec,
                        Some(false),
                        "{}: {name} must be an optional param",
                        action.name
                    );
                }
            }
            let mut params: Vec<_> = action.params.iter().map(|p| p.name).collect();
            params.sort_unstable();
            params.dedup();
            assert_eq!(params.len(), action.params.len(), "{}", action.name);
        }
    }

    /// Every `{slot}` of a grant's ARN patterns names one of the action's params or a slot the template fills;
    /// `*` only for the actions in the unscoped table; never a delete.
    #[test]
    fn grants_name_real_params_and_scope_every_action_they_can() {
        const FILLED: [&str; 5] = [
            "partition",
            "region",
            "account",
            "state_machine",
            "task_roles",
        ];
        for action in ACTIONS {
            for grant in action.grants {
                for name in grant.actions {
                    assert!(
                        !name.contains(":Delete")
                            || iam::ONLY_DELETES.iter().any(|(d, _)| d == name),
                        "{}: {name}",
                        action.name
                    );
                    assert_eq!(
                        grant.is_unscoped(),
                        iam::unscoped_reason(name).is_some(),
                        "{}: {name} is granted on `*` exactly when AWS scopes it by no resource",
                        action.name
                    );
                }
                for pattern in grant.resources {
                    for slot in pattern.split('{').skip(1) {
                        let slot = slot.split(['}', '|', '@', '?']).next().unwrap_or_default();
                        assert!(
                            FILLED.contains(&slot) || action.param(slot).is_some(),
                            "{}: `{{{slot}}}` in {pattern} is not a param",
                            action.name
                        );
                    }
                }
            }
        }
    }

    /// What a rehearsal creates is named by the action's own params.
    #[test]
    fn needs_name_real_params() {
        for action in ACTIONS {
            for need in action.needs {
                for name in need.params() {
                    assert!(action.param(name).is_some(), "{}: {name}", action.name);
                }
            }
        }
    }

    #[test]
    fn guards_name_actions_and_params_of_both_sides() {
        for action in ACTIONS {
            for guard in action.guards {
                let by = crate::action(guard.action);
                assert!(by.is_some(), "{}: no action {}", action.name, guard.action);
                for (theirs, ours) in guard.same {
                    assert!(by.and_then(|a| a.param(theirs)).is_some());
                    assert!(action.param(ours).is_some());
                }
            }
        }
    }

    /// What an action changes is named by its params as its IAM patterns name the resource, and actions that
    /// change one kind of resource identify it by as many params.
    #[test]
    fn changed_resources_are_named_by_params_that_the_grants_name() {
        let mut arity = std::collections::BTreeMap::new();
        for (action, changes) in ACTIONS
            .iter()
            .flat_map(|a| a.changes.iter().map(move |c| (a, c)))
        {
            assert!(!changes.params.is_empty(), "{}", action.name);
            for name in changes.params {
                assert!(action.param(name).is_some(), "{}: {name}", action.name);
                let slot = format!("{{{name}");
                assert!(
                    action
                        .grants
                        .iter()
                        .flat_map(|g| g.resources.iter())
                        .any(|pattern| pattern.contains(&slot)),
                    "{}: no grant names `{name}`",
                    action.name
                );
            }
            let count = *arity
                .entry(changes.resource)
                .or_insert(changes.params.len());
            assert_eq!(count, changes.params.len(), "{}", changes.resource);
        }
    }

    /// A constraint sits on a param of the type it reads, and names the action's own params.
    #[test]
    fn constraints_fit_their_params() {
        for action in ACTIONS {
            for param in action.params {
                let fits = match param.constraint {
                    Constraint::None => true,
                    Constraint::Statistic | Constraint::Name => param.ty == ValueType::String,
                    Constraint::Period => param.ty == ValueType::Duration,
                    Constraint::Holds { period, count } => {
                        param.ty == ValueType::Duration
                            && action.param(period.0).map(|p| p.ty) == Some(ValueType::Duration)
                            && action.param(count.0).map(|p| p.ty) == Some(ValueType::Number)
                    }
                };
                assert!(fits, "{}: {}", action.name, param.name);
            }
        }
    }

    /// A grant for the steps that give a param names an optional param (one of an `exactly_one_of` group, or
    /// the guard's `[trigger].topic`): a required one every step gives, and an unknown one none could.
    #[test]
    fn grants_given_a_param_name_an_optional_one() {
        for action in ACTIONS {
            for grant in action.grants {
                if let Some(given) = grant.given {
                    assert!(
                        action.param(given).is_some_and(|p| !p.required),
                        "{}: {given}",
                        action.name
                    );
                }
            }
        }
    }

    #[test]
    fn the_script_of_an_argv_follows_a_shells_c_flag() {
        let script = |argv: &[Option<&str>]| Shell::script_item(argv);
        assert_eq!(script(&[Some("sh"), Some("-c"), None]), Some(2));
        assert_eq!(
            script(&[Some("/bin/bash"), Some("-e"), Some("-xc"), None, None]),
            Some(3)
        );
        assert_eq!(script(&[Some("python"), Some("-c"), None]), None);
        assert_eq!(script(&[Some("sh"), Some("./run.sh"), None]), None);
        assert_eq!(script(&[Some("sh"), Some("-c")]), None);
        assert_eq!(script(&[None, Some("-c"), None]), None);
    }

    #[test]
    fn function_names_are_pascal_case() {
        let name = |action: &str| action_named(action).arn_substitution();
        assert_eq!(name("rds.restore"), "StepbackRdsRestoreArn");
        assert_eq!(name("ecs.run_task"), "StepbackEcsRunTaskArn");
    }

    fn action_named(name: &str) -> &'static ActionSpec {
        action(name).unwrap_or_else(|| panic!("the catalog has no `{name}`"))
    }
}
