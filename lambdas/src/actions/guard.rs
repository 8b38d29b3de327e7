//! `guard`, the first task of every execution:
//! - `Stepback.InvalidInput` when the input has a key that `[input]` does not declare (a misspelt
//!   `restor_data` would otherwise leave `restore_data` at its default, silently), naming the closest declared
//!   one; JSONPath Choice rules cannot list an object's keys, so this is the first place that can;
//! - the state machine's lock, one DynamoDB item naming the execution that acts: taken by a conditional write,
//!   which DynamoDB decides one at a time ("Condition expressions", DynamoDB developer guide), after a
//!   strongly consistent read of who holds it. Held by an execution that Step Functions shows running (or does
//!   not show yet), it raises `Stepback.AlreadyRunning` naming it, which the state machine ends cleanly; held by
//!   one that ended, it is taken over, on the condition that it is still that one's. Two alarms at once give
//!   one rollback, not none and not two, whatever ListExecutions shows (it is eventually consistent, and no
//!   longer read).
//! - with `[trigger]`, an execution that an alarm's event started (the rule passes the event on unchanged)
//!   within `[trigger].cooldown` of the lock's last holder's end, or of the last alarm held back so, raises
//!   `Stepback.CoolingDown`, naming that execution and how it ended, which the state machine ends cleanly;
//!   `[trigger].topic` is told first. A flapping alarm must not roll the service back release after release; a
//!   person's start is never held back.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use catalog::ErrorName;
use catalog::contract::{Execution, Finding, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actions::{Action, Handler, Invoke, notify};
use crate::check::{self, Known};
use crate::{ActionError, Call, Clients, done};

/// The state machine comes from the execution context.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The names `[input]` declares ([`catalog::GUARD_DECLARED`]).
    pub declared: Vec<String>,
    /// The execution input, defaults filled in ([`catalog::GUARD_INPUT`]).
    pub input: Map<String, Value>,
    /// Each string or list input's `max_length` ([`catalog::GUARD_MAX_LENGTHS`]).
    #[serde(default)]
    pub max_lengths: BTreeMap<String, usize>,
    /// The input the execution was started with ([`catalog::GUARD_STARTED_WITH`]); only with `[trigger]`.
    #[serde(default)]
    pub started_with: Option<Value>,
    /// `[trigger].cooldown` in seconds ([`catalog::GUARD_COOLDOWN`]).
    #[serde(default)]
    pub cooldown: Option<u64>,
    /// `[trigger].topic` ([`catalog::GUARD_TOPIC`]).
    #[serde(default)]
    pub topic: Option<String>,
}

impl Params {
    /// The alarm whose EventBridge event started the execution: `None` for a person's start.
    pub fn alarm(&self) -> Option<&str> {
        let event = self.started_with.as_ref()?;
        (event["detail-type"] == catalog::ALARM_DETAIL_TYPE)
            .then(|| event["detail"]["alarmName"].as_str().unwrap_or("an alarm"))
    }

    /// `Stepback.InvalidInput` naming every key of the input that `[input]` does not declare, each with the
    /// closest declared name, or every value longer than its `max_length` ([`catalog::input_length`]).
    pub fn check_input(&self) -> Result<(), ActionError> {
        self.check_keys()?;
        let too_long: Vec<String> = self
            .max_lengths
            .iter()
            .filter_map(|(name, &max)| {
                let length = catalog::input_length(self.input.get(name)?);
                (length > max).then(|| {
                    format!("`{name}` is {length} bytes long, over its max_length of {max}")
                })
            })
            .collect();
        if too_long.is_empty() {
            return Ok(());
        }
        Err(ActionError::invalid_input(format!(
            "the input is too long: {}",
            too_long.join("; ")
        )))
    }

    fn check_keys(&self) -> Result<(), ActionError> {
        let declared = || self.declared.iter().map(String::as_str);
        let undeclared: Vec<String> = self
            .input
            .keys()
            .filter(|key| !self.declared.contains(key))
            .map(|key| match catalog::closest(key, declared()) {
                Some(name) => format!("`{key}` (did you mean `{name}`?)"),
                None => format!("`{key}`"),
            })
            .collect();
        if undeclared.is_empty() {
            return Ok(());
        }
        let known = match self.declared.as_slice() {
            [] => "none".to_owned(),
            names => names.join(", "),
        };
        Err(ActionError::invalid_input(format!(
            "the input has {} that [input] does not declare: {}; it declares: {known}",
            if undeclared.len() == 1 {
                "a key"
            } else {
                "keys"
            },
            undeclared.join(", ")
        )))
    }
}

#[derive(Debug, Serialize)]
pub struct Output {
    /// The execution that held the lock before this one; empty for the state machine's first.
    pub previous: String,
}

/// Takes the lock, or says which execution holds it.
pub struct Guard;

/// This module's handlers, which `build.rs` puts in the dispatch table.
pub(crate) const HANDLERS: &[Handler] = &[Handler::invoke::<Guard>()];

impl Action for Guard {
    const NAME: &str = "guard";
    type Params = Params;

    /// The role may read the lock, whose table the stack made; who holds it is said, not failed.
    /// With `[trigger].topic`, the topic that the cooldown tells exists too.
    async fn check(clients: &Clients, params: &Known, execution: &Execution) -> Vec<Finding> {
        let lock = Lock::of(clients, execution);
        let resource = format!("lock table `{}`", lock.table);
        let finding = match lock.read().await {
            Ok(Some(held)) => check::ok(
                resource,
                format!(
                    "last taken by execution `{}` at {}",
                    name_of(&held.holder),
                    held.since
                ),
            ),
            Ok(None) => check::ok(resource, "no rollback has taken it yet"),
            Err(e) => check::failed(resource, &e, "deploy the stack (`stepback deploy`)"),
        };
        let mut findings = vec![finding];
        if !matches!(params.optional::<String>(catalog::GUARD_TOPIC), Ok(None)) {
            findings.extend(notify::topic_usable(clients, params).await);
        }
        findings
    }
}

impl Invoke for Guard {
    async fn invoke(clients: &Clients, call: Call<Params>) -> Result<Response, ActionError> {
        call.params.check_input()?;
        let lock = Lock::of(clients, &call.execution);
        // Each lost race means another execution took the lock, which the next read shows running.
        for _ in 0..TAKE_ATTEMPTS {
            let held = lock.read().await?;
            if let Some(held) = &held {
                if held.holder == call.execution.id {
                    // This guard's own retry after a lost answer: the lock is already its own.
                    return done(&Output {
                        previous: held.previous.clone(),
                    });
                }
                let ended = lock.holders_end(held).await?;
                if let (Some(alarm), Some(cooldown)) = (call.params.alarm(), call.params.cooldown)
                    && cooldown > 0
                {
                    cool_down(&lock, held, &ended, cooldown, alarm, &call.params).await?;
                }
            }
            if lock.take(held.as_ref()).await? {
                return done(&Output {
                    previous: held.map(|h| h.holder).unwrap_or_default(),
                });
            }
        }
        Err(ActionError::new(
            ErrorName::Transient,
            format!(
                "the lock `{}` changed hands {TAKE_ATTEMPTS} times while this execution tried to take it",
                lock.table
            ),
        ))
    }
}

const TAKE_ATTEMPTS: usize = 3;
/// How long an execution that holds the lock may be unknown to DescribeExecution (eventually consistent: "may not
/// reflect very recent updates") and still count as running; past it, it is one whose history is gone (90 days
/// after its end) or whose state machine was deleted, and its hold is taken over.
const UNSEEN_HOLDER_SECS: i64 = 300;

/// The item's attributes beside its key.
const HOLDER: &str = "execution";
const SINCE: &str = "since";
const PREVIOUS: &str = "previous";
const HELD_BACK: &str = "held_back";
const HELD_BACK_AT: &str = "held_back_at";

/// The state machine's lock ([`catalog::names::lock_table`]).
struct Lock<'a> {
    clients: &'a Clients,
    execution: &'a Execution,
    table: String,
}

/// The lock's item, read consistently.
struct Held {
    /// The execution that took it last.
    holder: String,
    /// When, as the guard's clock wrote it (RFC 3339).
    since: String,
    previous: String,
    /// The last alarm-started execution that the cooldown held back, and when (seconds since the epoch).
    held_back: Option<(String, i64)>,
}

/// How the lock's holder stands.
enum Holder {
    /// Still running (or redriven, or not shown yet): this execution yields.
    Running,
    /// Ended: its status and end.
    Ended(ExecutionStatus, DateTime),
    /// Gone: a hold older than [`UNSEEN_HOLDER_SECS`] by an execution that DescribeExecution does not know.
    Gone,
}

impl<'a> Lock<'a> {
    fn of(clients: &'a Clients, execution: &'a Execution) -> Lock<'a> {
        let machine = execution
            .state_machine
            .rsplit(':')
            .next()
            .unwrap_or_default();
        Lock {
            clients,
            execution,
            table: catalog::names::lock_table(machine),
        }
    }

    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        self.clients.aws(aws_sdk_dynamodb::Client::new)
    }

    fn key() -> AttributeValue {
        AttributeValue::S(catalog::LOCK_ITEM.to_owned())
    }

    /// The item as the last successful write left it: a strongly consistent read "returns a response with the
    /// most up-to-date data, reflecting the updates from all prior write operations that were successful"
    /// (DynamoDB developer guide, "Read consistency").
    async fn read(&self) -> Result<Option<Held>, ActionError> {
        let answer = self
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .key(catalog::LOCK_KEY, Lock::key())
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                ActionError::aws(
                    format!("read the lock in DynamoDB table `{}`", self.table),
                    e,
                )
            })?;
        let Some(item) = answer.item() else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let held_back = text(HELD_BACK).zip(
            item.get(HELD_BACK_AT)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok()),
        );
        Ok(text(HOLDER).map(|holder| Held {
            holder,
            since: text(SINCE).unwrap_or_default(),
            previous: text(PREVIOUS).unwrap_or_default(),
            held_back,
        }))
    }

    /// Whether the holder still runs, from DescribeExecution. Eventually consistent too, but only late: an
    /// execution just ended may still show RUNNING (this one then yields), and none shows an end before it has
    /// ended. `AlreadyRunning` when it runs.
    async fn holders_end(&self, held: &Held) -> Result<Holder, ActionError> {
        let answer = self
            .clients
            .aws(aws_sdk_sfn::Client::new)
            .describe_execution()
            .execution_arn(&held.holder)
            .send()
            .await;
        let holder = match answer {
            Ok(execution) => match (execution.status(), execution.stop_date()) {
                (ExecutionStatus::Running | ExecutionStatus::PendingRedrive, _) | (_, None) => {
                    Holder::Running
                }
                (status, Some(stopped)) => Holder::Ended(status.clone(), *stopped),
            },
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                let taken =
                    DateTime::from_str(&held.since, Format::DateTime).map_or(0, |t| t.secs());
                if now().secs() - taken < UNSEEN_HOLDER_SECS {
                    Holder::Running
                } else {
                    Holder::Gone
                }
            }
            Err(e) => {
                return Err(ActionError::aws(
                    format!("describe execution `{}`, which holds the lock", held.holder),
                    e,
                ));
            }
        };
        if matches!(holder, Holder::Running) {
            return Err(ActionError::new(
                ErrorName::AlreadyRunning,
                format!(
                    "another rollback is running: execution `{}` of state machine `{}`, which took the lock at {}",
                    name_of(&held.holder),
                    self.execution.state_machine,
                    held.since,
                ),
            ));
        }
        Ok(holder)
    }

    /// Takes the lock on the condition that it is still as read: free, or `held`'s holder's. DynamoDB evaluates
    /// the condition against the item as it is when the write happens, one write at a time, so of the executions
    /// that read the same holder only one succeeds. `false` when another took it first.
    async fn take(&self, held: Option<&Held>) -> Result<bool, ActionError> {
        let update = self
            .dynamodb()
            .update_item()
            .table_name(&self.table)
            .key(catalog::LOCK_KEY, Lock::key())
            .update_expression("SET #holder = :me, #since = :now, #previous = :previous")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#since", SINCE)
            .expression_attribute_names("#previous", PREVIOUS)
            .expression_attribute_values(":me", AttributeValue::S(self.execution.id.clone()))
            .expression_attribute_values(":now", AttributeValue::S(timestamp(&now())))
            .expression_attribute_values(
                ":previous",
                AttributeValue::S(held.map(|h| h.holder.clone()).unwrap_or_default()),
            );
        let update = match held {
            None => update.condition_expression("attribute_not_exists(#holder)"),
            Some(held) => update
                .condition_expression("#holder = :held")
                .expression_attribute_values(":held", AttributeValue::S(held.holder.clone())),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(ActionError::aws(
                format!("take the lock in DynamoDB table `{}`", self.table),
                e,
            )),
        }
    }

    /// Notes this execution as the last that the cooldown held back: until the alarm has been quiet for the
    /// cooldown, it keeps being held back. The holder is left as it is.
    async fn note_held_back(&self) -> Result<(), ActionError> {
        self.dynamodb()
            .update_item()
            .table_name(&self.table)
            .key(catalog::LOCK_KEY, Lock::key())
            .update_expression("SET #held_back = :me, #held_back_at = :now")
            .expression_attribute_names("#held_back", HELD_BACK)
            .expression_attribute_names("#held_back_at", HELD_BACK_AT)
            .expression_attribute_values(":me", AttributeValue::S(self.execution.id.clone()))
            .expression_attribute_values(":now", AttributeValue::N(now().secs().to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                ActionError::aws(
                    format!(
                        "note the held-back alarm in DynamoDB table `{}`",
                        self.table
                    ),
                    e,
                )
            })
    }
}

/// `Stepback.CoolingDown` when the lock's last holder ended, or the last held-back alarm was held back, less
/// than `cooldown` seconds ago, after noting this execution as held back and telling `[trigger].topic`.
async fn cool_down(
    lock: &Lock<'_>,
    held: &Held,
    holder: &Holder,
    cooldown: u64,
    alarm: &str,
    params: &Params,
) -> Result<(), ActionError> {
    let machine = &lock.execution.state_machine;
    let ended = match holder {
        Holder::Ended(status, stopped) => {
            Some((held.holder.as_str(), status.as_str(), stopped.secs()))
        }
        Holder::Running | Holder::Gone => None,
    };
    let last = ended
        .into_iter()
        .chain(
            held.held_back
                .as_ref()
                .map(|(execution, at)| (execution.as_str(), "held back", *at)),
        )
        .max_by_key(|(_, _, at)| *at);
    let Some((previous, how, at)) = last else {
        return Ok(());
    };
    let since = now().secs() - at;
    if since >= i64::try_from(cooldown).unwrap_or(i64::MAX) {
        return Ok(());
    }
    let mut message = format!(
        "a rollback already ran: execution `{}` of state machine `{machine}` ended {how} at {}, {} minute(s) \
         before alarm `{alarm}` started this one; within [trigger].cooldown ({}) of the last execution's end an \
         alarm does not roll back again. Start a rollback by hand if one is needed",
        name_of(previous),
        timestamp(&DateTime::from_secs(at)),
        since.max(0) / 60,
        cooldown_text(cooldown),
    );
    lock.note_held_back().await?;
    if let Some(topic) = &params.topic {
        let subject = format!("Rollback not started: {alarm} fired within the cooldown");
        match notify::publish(lock.clients, topic, Some(&subject), message.clone()).await {
            Ok(_) => message.push_str(&format!(" (told SNS topic `{topic}`)")),
            Err(e) => message.push_str(&format!(" (not told: {e})")),
        }
    }
    Err(ActionError::new(ErrorName::CoolingDown, message))
}

fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

fn timestamp(at: &DateTime) -> String {
    at.fmt(Format::DateTime).unwrap_or_default()
}

/// An execution's name: its ARN's last part.
fn name_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// `3600` → `1h`, `5400` → `1h30m`, `90` → `1m30s`: the language's way of writing a duration.
fn cooldown_text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    [(h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}
