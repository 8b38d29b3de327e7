//! A typed model of the Amazon States Language, JSONPath mode only (no JSONata, no `Assign`: moto, LocalStack
//! and statelint cannot run or check them). States are one serde enum tagged by `Type`, and `Next`/`End` is
//! one enum, so a state cannot have both. JSON appears only at the boundary: [`StateMachine::to_json`] and the
//! payload templates (`Parameters`, `ResultSelector`), which are JSON by definition.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

/// The resource of a task that invokes a Lambda and waits for its answer, in the commercial partition
/// ([`StateMachine::in_partition`] moves it).
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
/// The resource of a task that invokes a Lambda and waits for a task token (an approval's answer).
pub const LAMBDA_INVOKE_WITH_TOKEN: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";

/// A state machine, or a `Parallel` branch (which has the same shape without `Comment`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub start_at: String,
    pub states: States,
}

impl StateMachine {
    /// Pretty JSON with a trailing newline; the same model gives the same bytes.
    pub fn to_json(&self) -> String {
        // Serialising this model cannot fail: every map key is a string and every number is finite.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reorders the states by first visit in a depth-first walk from `StartAt`, so that the file reads in
    /// execution order whatever order lowering built them in. Unreachable states keep their place at the end
    /// (the structural check reports them).
    pub fn sort_by_visit(&mut self) {
        let index: HashMap<&str, usize> = self
            .states
            .0
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        let mut order: Vec<usize> = Vec::with_capacity(self.states.0.len());
        let mut seen = vec![false; self.states.0.len()];
        let mut stack = vec![self.start_at.as_str()];
        while let Some(name) = stack.pop() {
            let Some(&index) = index.get(name) else {
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                continue;
            }
            order.push(index);
            // Pushed in reverse so that the first successor is visited first.
            stack.extend(self.states.0[index].1.successors().into_iter().rev());
        }
        order.extend((0..seen.len()).filter(|&i| !seen[i]));
        let mut slots: Vec<Option<(String, State)>> = std::mem::take(&mut self.states.0)
            .into_iter()
            .map(Some)
            .collect();
        self.states.0 = order.into_iter().filter_map(|i| slots[i].take()).collect();
        for (_, state) in &mut self.states.0 {
            if let State::Parallel(parallel) = state {
                parallel
                    .branches
                    .iter_mut()
                    .for_each(StateMachine::sort_by_visit);
            }
        }
    }
}

impl StateMachine {
    /// Names `partition` in every task's integration ARN (`arn:aws-cn:states:::lambda:invoke`): Step Functions
    /// runs a state machine only with the integrations of its own partition.
    pub fn in_partition(&mut self, partition: &str) {
        for (_, state) in &mut self.states.0 {
            match state {
                State::Task(task) => {
                    if let Some(rest) = task.resource.strip_prefix("arn:aws:") {
                        task.resource = format!("arn:{partition}:{rest}");
                    }
                }
                State::Parallel(parallel) => {
                    for branch in &mut parallel.branches {
                        branch.in_partition(partition);
                    }
                }
                _ => {}
            }
        }
    }

    /// Divides every time the machine waits by `speed`, for a rehearsal: `Wait` seconds, the timeouts of tasks
    /// that wait for a person's answer, and retry intervals and delay caps, rounded up so that a wait stays a
    /// wait (at least a second). Poll counts stay, so a poll loop still gives up after as many polls as at full
    /// length. A plain invocation's timeout stays: it bounds the handler's real run, which no speed shortens,
    /// and a guard's 60 s cut to 1 s is within a loaded machine's noise.
    pub fn speed_up(&mut self, speed: u64) {
        let scaled = |seconds: u64| scaled(seconds, speed);
        for (_, state) in &mut self.states.0 {
            match state {
                State::Wait(Wait {
                    duration: WaitFor::Seconds(seconds),
                    ..
                }) => *seconds = scaled(*seconds),
                State::Task(task) => {
                    if task.resource == LAMBDA_INVOKE_WITH_TOKEN {
                        task.timeout_seconds = task.timeout_seconds.map(scaled);
                    }
                    for retrier in &mut task.retry {
                        retrier.interval_seconds = scaled(retrier.interval_seconds);
                        retrier.max_delay_seconds = scaled(retrier.max_delay_seconds);
                    }
                }
                State::Parallel(parallel) => {
                    for branch in &mut parallel.branches {
                        branch.speed_up(speed);
                    }
                }
                _ => {}
            }
        }
    }
}

/// `seconds` divided by `speed` (0 and 1 leave it), rounded up so that a wait stays a wait (at least a second).
pub(crate) fn scaled(seconds: u64, speed: u64) -> u64 {
    seconds.div_ceil(speed.max(1)).max(seconds.min(1))
}

/// The `States` object, in a chosen order (a JSON object, serialised in insertion order).
#[derive(Clone, Debug, Default)]
pub struct States(pub Vec<(String, State)>);

impl Serialize for States {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, state) in &self.0 {
            map.serialize_entry(name, state)?;
        }
        map.end()
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "Type")]
pub enum State {
    Task(Task),
    Pass(Pass),
    Choice(Choice),
    Wait(Wait),
    Parallel(Parallel),
    Succeed(Succeed),
    Fail(Fail),
}

impl State {
    /// Every state this one can hand over to, `Catch` targets included, in a readable order.
    pub fn successors(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let (transition, catch) = match self {
            State::Task(t) => (Some(&t.transition), t.catch.as_slice()),
            State::Pass(p) => (Some(&p.transition), &[][..]),
            State::Wait(w) => (Some(&w.transition), &[][..]),
            State::Parallel(p) => (Some(&p.transition), p.catch.as_slice()),
            State::Choice(c) => {
                out.extend(c.choices.iter().map(|rule| rule.next.as_str()));
                out.extend(c.default.as_deref());
                (None, &[][..])
            }
            State::Succeed(_) | State::Fail(_) => (None, &[][..]),
        };
        if let Some(Transition::Next(next)) = transition {
            out.push(next);
        }
        out.extend(catch.iter().map(|c| c.next.as_str()));
        out
    }

    /// Whether the state ends its machine or branch: `End: true`, `Succeed` or `Fail`.
    pub fn is_terminal(&self) -> bool {
        match self {
            State::Task(Task { transition, .. })
            | State::Pass(Pass { transition, .. })
            | State::Wait(Wait { transition, .. })
            | State::Parallel(Parallel { transition, .. }) => matches!(transition, Transition::End),
            State::Choice(_) => false,
            State::Succeed(_) | State::Fail(_) => true,
        }
    }
}

/// `Next` or `End`, never both (States Language: "a state MUST have exactly one of Next or End").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
}

impl Serialize for Transition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Transition::Next(next) => map.serialize_entry("Next", next)?,
            Transition::End => map.serialize_entry("End", &true)?,
        }
        map.end()
    }
}

/// `ResultPath`: a reference path, or `null` to discard the result and keep the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultPath {
    At(String),
    Discard,
}

impl Serialize for ResultPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResultPath::At(path) => serializer.serialize_str(path),
            ResultPath::Discard => serializer.serialize_none(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<ResultPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(flatten)]
    pub transition: Transition,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pass {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<ResultPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
    #[serde(flatten)]
    pub transition: Transition,
}

impl Pass {
    /// A Pass that only moves on; set the fields it needs with struct update syntax.
    pub fn to(transition: Transition) -> Pass {
        Pass {
            comment: None,
            parameters: None,
            result: None,
            result_path: None,
            output_path: None,
            transition,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Wait {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub duration: WaitFor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
    #[serde(flatten)]
    pub transition: Transition,
}

/// `Seconds` or `SecondsPath`, exactly one.
#[derive(Clone, Debug, Serialize)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(String),
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Choice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub choices: Vec<ChoiceRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A top-level Choice rule: a condition and where it leads.
#[derive(Clone, Debug, Serialize)]
pub struct ChoiceRule {
    #[serde(flatten)]
    pub rule: Rule,
    #[serde(rename = "Next")]
    pub next: String,
}

/// A Boolean expression or a data-test expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test { variable: String, test: Test },
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Rule::And(rules) => map.serialize_entry("And", rules)?,
            Rule::Or(rules) => map.serialize_entry("Or", rules)?,
            Rule::Not(rule) => map.serialize_entry("Not", rule)?,
            Rule::Test { variable, test } => {
                map.serialize_entry("Variable", variable)?;
                let (operator, operand) = test.operator_and_operand();
                map.serialize_entry(&operator, &operand)?;
            }
        }
        map.end()
    }
}

/// A data-test comparison operator, without its `Path` variant (that is chosen by the [`Operand`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringLessThanEquals,
    StringGreaterThan,
    StringGreaterThanEquals,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    BooleanEquals,
}

impl Comparison {
    fn name(self) -> &'static str {
        match self {
            Comparison::StringEquals => "StringEquals",
            Comparison::StringLessThan => "StringLessThan",
            Comparison::StringLessThanEquals => "StringLessThanEquals",
            Comparison::StringGreaterThan => "StringGreaterThan",
            Comparison::StringGreaterThanEquals => "StringGreaterThanEquals",
            Comparison::NumericEquals => "NumericEquals",
            Comparison::NumericLessThan => "NumericLessThan",
            Comparison::NumericLessThanEquals => "NumericLessThanEquals",
            Comparison::NumericGreaterThan => "NumericGreaterThan",
            Comparison::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Comparison::BooleanEquals => "BooleanEquals",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Literal(Value),
    /// Compared with the value at another path: the operator gets its `Path` suffix.
    Path(String),
}

/// A type test: `IsPresent`, `IsString`, ... with the expected answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeTest {
    IsPresent,
    IsNull,
    IsString,
    IsNumeric,
    IsBoolean,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    Compare(Comparison, Operand),
    Is(TypeTest, bool),
    /// `StringMatches`: `*` is the wildcard. It has no `Path` form, so it is not a [`Comparison`].
    Matches(String),
}

impl Test {
    fn operator_and_operand(&self) -> (String, Value) {
        match self {
            Test::Compare(op, Operand::Literal(value)) => (op.name().to_owned(), value.clone()),
            Test::Compare(op, Operand::Path(path)) => {
                (format!("{}Path", op.name()), Value::from(path.as_str()))
            }
            Test::Is(test, expected) => (format!("{test:?}"), Value::Bool(*expected)),
            Test::Matches(pattern) => ("StringMatches".to_owned(), Value::from(pattern.as_str())),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parallel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub branches: Vec<StateMachine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_path: Option<ResultPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(flatten)]
    pub transition: Transition,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Succeed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub error: FailError,
    #[serde(flatten)]
    pub cause: FailCause,
}

/// `Error` or `ErrorPath` (a path or a string-returning intrinsic), exactly one.
#[derive(Clone, Debug, Serialize)]
pub enum FailError {
    Error(String),
    ErrorPath(String),
}

/// `Cause` or `CausePath`, exactly one.
#[derive(Clone, Debug, Serialize)]
pub enum FailCause {
    Cause(String),
    CausePath(String),
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<Jitter>,
}

#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Jitter {
    Full,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: ResultPath,
    pub next: String,
}
