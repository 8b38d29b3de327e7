//! The validated workflow: what the compiler lowers. Everything here is checked: references resolve,
//! types match, the DAG is acyclic, and `${resources.*}` is already substituted.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use catalog::{ActionSpec, RetrySpec, ValueType};

use crate::graph::Dag;

#[derive(Debug)]
pub struct Workflow {
    pub name: String,
    pub description: Option<String>,
    /// In declaration order.
    pub inputs: Vec<Input>,
    pub resources: BTreeMap<String, Resource>,
    pub trigger: Option<Trigger>,
    /// `[readiness]`: the deployed rollback's checks on a schedule; `None` when the workflow turns them off.
    pub readiness: Option<Readiness>,
    /// In declaration order; `steps[i]` is node `i` of [`Workflow::dag`].
    pub steps: Vec<Step>,
    /// Run one after another, in declaration order, when a step fails.
    pub on_failure: Vec<Step>,
    /// The `after` DAG of `steps`, with its topological order and ancestor sets.
    pub dag: Dag,
    /// Every `${steps.*}` read in `steps`' params and conditions, in source order (`on_failure` steps cannot
    /// read steps).
    pub reads: Vec<StepRead>,
}

impl Workflow {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The indices of the steps whose outputs step `index` reads, once per reference.
    pub fn reads_of(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.reads
            .iter()
            .filter(move |r| r.from == index)
            .map(|r| r.to)
    }

    /// Whether an `[on_failure]` step reads `${failure.<field>}`.
    pub fn reads_failure(&self, field: FailureField) -> bool {
        let wanted = Reference::Failure(field);
        self.on_failure
            .iter()
            .flat_map(|s| s.params.values())
            .any(|value| value.references().contains(&&wanted))
    }

    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The most bytes `input`'s value may take ([`catalog::input_length`]), which the machine's input check
    /// enforces: its `max_length`, else the default for its type, raised to what `[trigger].input` can write
    /// into it from an alarm; `None` for a number or a bool.
    pub fn max_length(&self, input: &Input) -> Option<usize> {
        let default = default_max_length(input.ty)?;
        let filled = self
            .trigger
            .as_ref()
            .and_then(|t| t.input.get(&input.name))
            .map_or(0, Value::max_length);
        Some(input.max_length.unwrap_or(default.max(filled)))
    }
}

#[derive(Debug)]
pub struct Input {
    pub name: String,
    pub ty: ValueType,
    /// `None` means the input is required.
    pub default: Option<serde_json::Value>,
    pub description: Option<String>,
    /// `max_length` as declared ([`catalog::input_length`]); [`Workflow::max_length`] resolves the default.
    pub max_length: Option<usize>,
}

/// The `max_length` of a string or list input that declares none; `None` for a number or a bool, whose
/// length is fixed.
pub fn default_max_length(ty: ValueType) -> Option<usize> {
    match ty {
        ValueType::String => Some(catalog::DEFAULT_STRING_LENGTH),
        ValueType::StringList => Some(catalog::DEFAULT_LIST_LENGTH),
        _ => None,
    }
}

#[derive(Debug)]
pub struct Trigger {
    /// CloudWatch alarm names whose transition to ALARM starts a rollback.
    pub alarms: Vec<String>,
    /// Inputs filled from the alarm event; values may hold `${alarm.*}`.
    pub input: BTreeMap<String, Value>,
    /// An alarm-started execution that begins within this long after another execution of the workflow ended
    /// does not act: a flapping alarm must not roll back release after release. `0` turns it off.
    pub cooldown_secs: u64,
    /// The SNS topic told when the cooldown holds an alarm-started execution back (`${resources.*}` filled in).
    pub topic: Option<String>,
}

/// `[readiness]`: every step's read-only `check`, run by the deployed stack on a schedule, with a metric per step
/// and for the whole, and an alarm on the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Whole minutes, from 1m to 1d: EventBridge's `rate()` counts minutes, and a CloudWatch alarm's period is a
    /// multiple of 60 s whose evaluation covers at most a day.
    pub interval_secs: u64,
    /// The SNS topic told when the rollback becomes not ready or ready again: `[readiness].topic`, else
    /// `[trigger].topic`.
    pub topic: Option<String>,
}

impl Readiness {
    pub const DEFAULT_INTERVAL_SECS: u64 = 15 * 60;
    /// The intervals `[readiness].interval` may take (in whole minutes).
    pub const INTERVALS: std::ops::RangeInclusive<u64> = 60..=24 * 60 * 60;

    /// The defaults, with the trigger's topic.
    pub fn new(trigger: Option<&Trigger>) -> Readiness {
        Readiness {
            interval_secs: Readiness::DEFAULT_INTERVAL_SECS,
            topic: trigger.and_then(|t| t.topic.clone()),
        }
    }
}

/// `[trigger].cooldown` when the workflow does not say.
pub const DEFAULT_COOLDOWN_SECS: u64 = 60 * 60;

#[derive(Debug)]
pub struct Step {
    pub id: String,
    /// The id's key in `[steps.<id>]`, where diagnostics about the whole step point.
    pub id_span: Range<usize>,
    pub action: &'static ActionSpec,
    /// The `action` value (the id when the action is missing).
    pub action_span: Range<usize>,
    pub description: Option<String>,
    /// Keyed by catalog param name; only params the step gives.
    pub params: BTreeMap<String, Value>,
    /// Step ids; always empty for `on_failure` steps, which run in declaration order.
    pub after: Vec<String>,
    pub when: Option<Condition>,
    /// Resolved: the step's own, else `[defaults]`, else the action's.
    pub retry: RetrySpec,
    /// Resolved like `retry`; bounds a polling loop or an approval.
    pub timeout_secs: u64,
    /// Resolved: the step's own, else the action's default. For planning.
    pub estimate_secs: u64,
    pub continue_on_error: bool,
}

/// A `${steps.<to>.<output>}` read by step `from`, in its params or its `when`; indices into
/// [`Workflow::steps`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRead {
    pub from: usize,
    pub to: usize,
    /// The output read, one of `to`'s action's.
    pub output: String,
    /// The reference in the source.
    pub span: Range<usize>,
}

impl Value {
    /// Every reference in the value, in order.
    pub fn references(&self) -> Vec<&Reference> {
        match self {
            Value::Literal(_) => Vec::new(),
            Value::Ref(r) => vec![r],
            Value::Template(segments) => segments
                .iter()
                .filter_map(|s| match s {
                    Segment::Ref(r) => Some(r),
                    Segment::Text(_) => None,
                })
                .collect(),
            Value::List(items) => items.iter().flat_map(Value::references).collect(),
            Value::Map(map) => map.values().flat_map(Value::references).collect(),
        }
    }

    /// The most bytes the value can take as [`catalog::input_length`] counts them; an alarm's field at its
    /// CloudWatch maximum, each character counted twice (escaped).
    pub fn max_length(&self) -> usize {
        let reference = |r: &Reference| match r {
            Reference::Alarm(field) => 2 * field.max_chars(),
            _ => catalog::DEFAULT_STRING_LENGTH,
        };
        match self {
            Value::Literal(value) => catalog::input_length(value),
            Value::Ref(r) => reference(r),
            Value::Template(segments) => segments
                .iter()
                .map(|s| match s {
                    Segment::Text(text) => catalog::input_length(&text.as_str().into()),
                    Segment::Ref(r) => reference(r),
                })
                .sum(),
            Value::List(items) => 2 + items.iter().map(|i| 3 + i.max_length()).sum::<usize>(),
            Value::Map(map) => {
                2 + map
                    .iter()
                    .map(|(k, v)| k.len() + 6 + v.max_length())
                    .sum::<usize>()
            }
        }
    }
}

/// A param or trigger value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Known when the workflow is compiled. Durations are already whole seconds.
    Literal(serde_json::Value),
    /// A string that is exactly one reference: the value passes through with its type.
    Ref(Reference),
    /// A string mixing text and references; always a string.
    Template(Vec<Segment>),
    /// A list some of whose items hold references.
    List(Vec<Value>),
    /// A table some of whose values hold references.
    Map(BTreeMap<String, Value>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    Text(String),
    Ref(Reference),
}

/// A `[resources]` entry: constants named once, substituted where they are used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    Text(String),
    /// Usable whole where a list param (or targets) is expected, e.g. a fleet's hosts.
    List(Vec<String>),
}

/// A `${...}` reference, resolved. `${resources.*}` never appears: it is substituted as text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    Input(String),
    StepOutput { step: String, output: String },
    Execution(ExecutionField),
    Failure(FailureField),
    Alarm(AlarmField),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExecutionField {
    Name,
    Id,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureField {
    Step,
    Error,
    Cause,
    /// The steps that were done when the failure came, each with what it changed
    /// (`catalog::changed::line`), in declaration order; `none` when no step was.
    Completed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlarmField {
    Name,
    State,
    Reason,
    Time,
}

impl AlarmField {
    /// CloudWatch's longest (PutMetricAlarm: an alarm name of 255 characters; SetAlarmState: a reason of 1023;
    /// `INSUFFICIENT_DATA`; an ISO 8601 time).
    pub const fn max_chars(self) -> usize {
        match self {
            AlarmField::Name => 255,
            AlarmField::State => 17,
            AlarmField::Reason => 1023,
            AlarmField::Time => 64,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Input(name) => write!(f, "input.{name}"),
            Reference::StepOutput { step, output } => write!(f, "steps.{step}.{output}"),
            Reference::Execution(field) => f.write_str(match field {
                ExecutionField::Name => "execution.name",
                ExecutionField::Id => "execution.id",
            }),
            Reference::Failure(field) => f.write_str(match field {
                FailureField::Step => "failure.step",
                FailureField::Error => "failure.error",
                FailureField::Cause => "failure.cause",
                FailureField::Completed => "failure.completed",
            }),
            Reference::Alarm(field) => f.write_str(match field {
                AlarmField::Name => "alarm.name",
                AlarmField::State => "alarm.state",
                AlarmField::Reason => "alarm.reason",
                AlarmField::Time => "alarm.time",
            }),
        }
    }
}

/// A type-checked `when` condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    /// A bool path on its own: true when the value is `true`.
    IsTrue(Reference),
    Literal(bool),
    /// Both operands have type `ty` (string, number or bool).
    Compare {
        op: CompareOp,
        left: Operand,
        right: Operand,
        ty: ValueType,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Path(Reference),
    Literal(serde_json::Value),
}

/// Prints a condition in the `when` syntax, fully parenthesised where needed.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nested = |c: &Condition| match c {
            Condition::And(..) | Condition::Or(..) => format!("({c})"),
            _ => c.to_string(),
        };
        match self {
            Condition::And(a, b) => write!(f, "{} && {}", nested(a), nested(b)),
            Condition::Or(a, b) => write!(f, "{} || {}", nested(a), nested(b)),
            Condition::Not(c) => match **c {
                Condition::IsTrue(_) | Condition::Literal(_) => write!(f, "!{c}"),
                _ => write!(f, "!({c})"),
            },
            Condition::IsTrue(reference) => write!(f, "{reference}"),
            Condition::Literal(b) => write!(f, "{b}"),
            Condition::Compare {
                op, left, right, ..
            } => {
                let op = match op {
                    CompareOp::Eq => "==",
                    CompareOp::Ne => "!=",
                    CompareOp::Lt => "<",
                    CompareOp::Le => "<=",
                    CompareOp::Gt => ">",
                    CompareOp::Ge => ">=",
                };
                write!(f, "{left} {op} {right}")
            }
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Path(reference) => write!(f, "{reference}"),
            // In the `when` syntax, which has no escapes: a string quoted with a quote it does not hold.
            Operand::Literal(serde_json::Value::String(s)) if s.contains('"') => write!(f, "'{s}'"),
            Operand::Literal(serde_json::Value::String(s)) => write!(f, "\"{s}\""),
            Operand::Literal(value) => write!(f, "{value}"),
        }
    }
}
