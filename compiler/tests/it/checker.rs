//! An independent checker of compiled state machines. It reads only the emitted definition (the ASL JSON) and
//! the workflow, never the compiler's schedule tree or its lowering, and shares no code with them: it runs the
//! definition in a small abstract interpreter of its own.
//!
//! What it does not know is left unknown: the execution input, every step's outputs, the context object. A
//! Choice rule on an unknown value takes both ways, and every Lambda task answers every way the contract allows
//! (`running`, `done` or `failed` for a long action, `done` for the others) or raises an error that each of its
//! `Catch`ers matches. So the paths it walks include every path an execution can take. On each one:
//! - a step's start operation (the Lambda task whose request is `operation: start` for the step, or the `wait`
//!   step's Wait state, named after it) runs only when each step of its `after` has finished or been skipped
//!   (its `$.steps.<id>` says `done`, `failed` or `skipped`), and never twice;
//! - every `${steps.<id>.<output>}` the step reads (params or `when`) resolves in the state that reaches its
//!   start: `$.steps.<id>` holds the outputs, unless that step was skipped or failed (W001's case);
//! - no state reads a missing field, no Choice falls through without a `Default`, and every path ends;
//! - every state of the definition is reached on some path;
//! - no failure abandons a long step under way. In Step Functions a branch that fails (a `Fail` state, or an
//!   error no `Catch` of the branch takes) fails its `Parallel`, which stops every other branch wherever it is.
//!   So a branch that can fail, beside a sibling that can be between a long step's start and its result
//!   (an `rds.restore` mid-swap, an `ecs.deploy` mid-rollout), is a violation.
//!
//! Time: a step takes its estimate from its start to its result, everything else none, and the branches of a
//! `Parallel` run from the same instant. The makespan is the latest end of a successful path.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};
use std::io::Write as _;

use serde_json::{Map, Value as Json, json};
use workflow::Workflow;

use crate::liveness::{self, Live};

/// What the checker found.
#[derive(Debug, Default)]
pub struct Report {
    pub explored: usize,
    pub violations: Vec<String>,
    pub makespan_secs: u64,
}

/// Explores at most this many configurations per definition; a workflow that needs more is reported.
const BUDGET: usize = 400_000;

/// A value the checker cannot know: the execution input, a step's output, the context object.
const UNKNOWN: &str = "\u{1}unknown";

/// The key of an object whose other fields the checker does not know (an unknown value a field was written
/// into).
pub const REST: &str = "\u{1}rest";

fn unknown() -> Json {
    Json::String(UNKNOWN.to_owned())
}

fn is_unknown(value: &Json) -> bool {
    value.as_str() == Some(UNKNOWN)
}

/// Checks `definition` against `workflow`.
pub fn check(definition: &Json, workflow: &Workflow) -> Report {
    walk(definition, workflow, Data::Live)
}

/// What of a configuration's data tells it from another.
#[derive(Clone, Copy, PartialEq)]
pub enum Data {
    /// Only what the rest of the walk can read (`liveness`).
    Live,
    /// All of it: the same report as `Live` from many more configurations.
    All,
}

/// Checks `definition` against `workflow`, telling configurations apart by `data`.
pub fn walk(definition: &Json, workflow: &Workflow, data: Data) -> Report {
    let mut checker = Checker {
        estimates: workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .map(|s| (s.id.clone(), s.estimate_secs))
            .collect(),
        after: workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .map(|s| (s.id.clone(), s.after.clone()))
            .collect(),
        reads: workflow
            .reads
            .iter()
            .filter_map(|r| {
                let from = workflow.steps.get(r.from)?;
                let to = workflow.steps.get(r.to)?;
                Some((from.id.clone(), (to.id.clone(), r.output.clone())))
            })
            .fold(BTreeMap::new(), |mut reads, (from, read)| {
                reads.entry(from).or_insert_with(Vec::new).push(read);
                reads
            }),
        goes_on: workflow
            .steps
            .iter()
            .filter(|s| s.continue_on_error)
            .chain(&workflow.on_failure)
            .map(|s| s.id.clone())
            .collect(),
        long: workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .filter(|s| s.action.runtime == catalog::Runtime::Poll)
            .map(|s| s.id.clone())
            .collect(),
        reached: HashSet::new(),
        violations: BTreeSet::new(),
        explored: 0,
        branch_memo: HashMap::new(),
        under_way: vec![BTreeSet::new()],
        definition: std::ptr::from_ref(definition),
        data,
        always: liveness::records(
            workflow
                .steps
                .iter()
                .chain(&workflow.on_failure)
                .map(|s| s.id.as_str()),
        ),
        live: HashMap::new(),
    };
    let start = Config {
        doc: unknown(),
        started: BTreeSet::new(),
        finished: BTreeSet::new(),
        failed: BTreeSet::new(),
        began: BTreeMap::new(),
        clock: 0,
    };
    let outcomes = checker.run(definition, start);
    let makespan_secs = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Succeeded(config) => Some(config.clock),
            Outcome::Failed { .. } => None,
        })
        .max()
        .unwrap_or(0);
    let mut names = Vec::new();
    all_states(definition, &mut names);
    for name in names {
        if !checker.reached.contains(&name) {
            checker
                .violations
                .insert(format!("state `{name}` is never reached"));
        }
    }
    if checker.explored > BUDGET {
        checker
            .violations
            .insert(format!("more than {BUDGET} configurations"));
    }
    Report {
        explored: checker.explored,
        violations: checker.violations.into_iter().collect(),
        makespan_secs,
    }
}

fn all_states(machine: &Json, out: &mut Vec<String>) {
    let Some(states) = machine.get("States").and_then(Json::as_object) else {
        return;
    };
    for (name, state) in states {
        out.push(name.clone());
        for branch in state
            .get("Branches")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            all_states(branch, out);
        }
    }
}

/// Where an execution is: the state's data, which steps have started and finished, and the time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Config {
    doc: Json,
    started: BTreeSet<String>,
    finished: BTreeSet<String>,
    /// The finished steps whose result says `failed` and that stop the workflow (no `continue_on_error`).
    failed: BTreeSet<String>,
    /// When each started step began.
    began: BTreeMap<String, u64>,
    clock: u64,
}

impl Config {
    /// Where the walk is, as 128 bits of its text: the walk remembers hundreds of thousands of these, and a
    /// configuration's text is its whole state data.
    fn key(&self, state: &str) -> Key {
        self.key_with(state, &self.doc)
    }

    /// The key of this configuration with `doc` for its data (its live parts).
    fn key_with(&self, state: &str, doc: &Json) -> Key {
        let mut key = KeyWriter::default();
        write!(
            key,
            "{state}\n{doc}\n{:?}\n{:?}\n{:?}\n{:?}\n{}",
            self.started, self.finished, self.failed, self.began, self.clock
        )
        .expect("hashing does not fail");
        key.finish()
    }
}

/// A 128-bit hash of a text: two SipHashes, the second salted. Among a walk's configurations (at most
/// `BUDGET`), two that differ share a key with a probability under 10^-27.
type Key = u128;

struct KeyWriter([DefaultHasher; 2]);

impl Default for KeyWriter {
    fn default() -> Self {
        let mut salted = DefaultHasher::new();
        salted.write_u8(0x5a);
        KeyWriter([DefaultHasher::new(), salted])
    }
}

impl KeyWriter {
    fn finish(&self) -> Key {
        (Key::from(self.0[0].finish()) << 64) | Key::from(self.0[1].finish())
    }
}

impl std::io::Write for KeyWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for hasher in &mut self.0 {
            hasher.write(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Outcome {
    Succeeded(Config),
    Failed {
        error: Json,
        cause: Json,
        config: Config,
    },
}

enum Next {
    To(String, Config),
    Done(Outcome),
}

struct Checker {
    estimates: BTreeMap<String, u64>,
    after: BTreeMap<String, Vec<String>>,
    /// The `(step, output)`s each step reads.
    reads: BTreeMap<String, Vec<(String, String)>>,
    /// The steps that record a failure and go on: `continue_on_error` and `[on_failure]` steps.
    goes_on: BTreeSet<String>,
    /// The steps whose action polls: between their start and their result, they are under way.
    long: BTreeSet<String>,
    reached: HashSet<String>,
    violations: BTreeSet<String>,
    explored: usize,
    /// Each branch's outcomes, and the long steps under way at some point of it.
    /// Keyed by the branch (its place in the definition) and the configuration it starts from.
    branch_memo: HashMap<(*const Json, Key), (Vec<Outcome>, BTreeSet<String>)>,
    /// The long steps found under way in each machine being run, innermost last.
    under_way: Vec<BTreeSet<String>>,
    /// The definition (its output is not read) as opposed to a branch (its output is the branch's result).
    definition: *const Json,
    data: Data,
    /// What the checker itself reads of the data at every state: each step's record says whether it finished
    /// and holds what later steps read.
    always: Live,
    /// Each machine's live data per state (`None`: all of it), computed when the machine is first run.
    live: HashMap<*const Json, Option<HashMap<String, Live>>>,
}

impl Checker {
    fn violation(&mut self, state: &str, message: impl std::fmt::Display) {
        self.violations.insert(format!("`{state}`: {message}"));
    }

    /// Every outcome of running `machine` (the definition or a branch) from `config`.
    fn run(&mut self, machine: &Json, config: Config) -> Vec<Outcome> {
        let Some(start) = machine.get("StartAt").and_then(Json::as_str) else {
            self.violations.insert("a machine without StartAt".into());
            return Vec::new();
        };
        let mut outcomes = Vec::new();
        let mut done = HashSet::new();
        let mut active = HashSet::new();
        self.visit(
            machine,
            start,
            config,
            &mut done,
            &mut active,
            &mut outcomes,
        );
        // Many paths end alike (a loop is done after any of its polls).
        let mut seen = HashSet::new();
        outcomes.retain(|outcome| {
            seen.insert(match outcome {
                Outcome::Succeeded(config) => config.key("succeeded"),
                Outcome::Failed {
                    error,
                    cause,
                    config,
                } => config.key(&format!("failed\n{error}\n{cause}")),
            })
        });
        outcomes
    }

    /// A depth-first walk (iterative: a polling loop is hundreds of states deep). A configuration met again
    /// while it is still on the walk's path is a path that never ends.
    fn visit(
        &mut self,
        machine: &Json,
        start: &str,
        config: Config,
        done: &mut HashSet<Key>,
        active: &mut HashSet<Key>,
        outcomes: &mut Vec<Outcome>,
    ) {
        enum Frame {
            Enter(String, Config),
            Exit(Key),
        }
        let mut stack = vec![Frame::Enter(start.to_owned(), config)];
        while let Some(frame) = stack.pop() {
            let (name, config) = match frame {
                Frame::Exit(key) => {
                    active.remove(&key);
                    continue;
                }
                Frame::Enter(name, config) => (name, config),
            };
            let key = self.key_at(machine, &name, &config);
            if active.contains(&key) {
                self.violation(&name, "a path comes back to where it was: it never ends");
                continue;
            }
            if !done.insert(key) || self.explored > BUDGET {
                continue;
            }
            self.explored += 1;
            self.reached.insert(name.clone());
            let under_way = config
                .started
                .difference(&config.finished)
                .filter(|id| self.long.contains(*id))
                .cloned();
            if let Some(set) = self.under_way.last_mut() {
                set.extend(under_way);
            }
            let Some(state) = machine.get("States").and_then(|s| s.get(&name)) else {
                self.violation(&name, "a transition to a state that does not exist");
                continue;
            };
            active.insert(key);
            stack.push(Frame::Exit(key));
            let nexts = self.step(&name, state, config);
            if nexts.is_empty() {
                self.violation(&name, "no way on");
            }
            for next in nexts.into_iter().rev() {
                match next {
                    Next::To(target, config) => stack.push(Frame::Enter(target, config)),
                    Next::Done(outcome) => outcomes.push(outcome),
                }
            }
        }
    }

    /// The key of `config` entering `state` of `machine`: its data cut to what the rest of the walk can read.
    fn key_at(&mut self, machine: &Json, state: &str, config: &Config) -> Key {
        if self.data == Data::All {
            return config.key(state);
        }
        let is_definition = std::ptr::eq(machine, self.definition);
        let always = &self.always;
        let live = self
            .live
            .entry(std::ptr::from_ref(machine))
            .or_insert_with(|| {
                let at_end = if is_definition {
                    Live::default()
                } else {
                    Live::everything()
                };
                liveness::analyse(machine, &at_end, always)
            });
        match live.as_ref().and_then(|states| states.get(state)) {
            Some(live) => config.key_with(state, &live.project(&config.doc)),
            None => config.key(state),
        }
    }

    /// Where `state` can lead from `config`.
    fn step(&mut self, name: &str, state: &Json, config: Config) -> Vec<Next> {
        let kind = state.get("Type").and_then(Json::as_str).unwrap_or_default();
        match kind {
            "Pass" => {
                let input = self.input_of(name, state, &config.doc);
                let result = if let Some(parameters) = state.get("Parameters") {
                    self.template(name, parameters, &input)
                } else if let Some(result) = state.get("Result") {
                    result.clone()
                } else {
                    input.clone()
                };
                self.finish(name, state, config, result)
            }
            "Wait" => {
                let mut config = config;
                if let Some(path) = state.get("SecondsPath").and_then(Json::as_str) {
                    match get(&config.doc, path) {
                        Got::Value(v) if v.is_u64() || is_unknown(&v) => {}
                        Got::Unknown => {}
                        other => self.violation(name, format!("waits {path}, which is {other:?}")),
                    }
                }
                // A `wait` step is its Wait state, named after it: it starts and ends here.
                if self.estimates.contains_key(name) {
                    self.start_step(name, name, &mut config);
                    let end = config.clock + self.estimates[name];
                    config.clock = end;
                    config.finished.insert(name.to_owned());
                }
                let doc = config.doc.clone();
                self.transition(name, state, config, doc)
            }
            "Choice" => self.choose(name, state, config),
            "Succeed" => {
                let output = self.output_of(name, state, config.doc.clone());
                vec![Next::Done(Outcome::Succeeded(Config {
                    doc: output,
                    ..config
                }))]
            }
            "Fail" => {
                let error = match (state.get("Error"), state.get("ErrorPath")) {
                    (Some(e), _) => e.clone(),
                    (None, Some(Json::String(path))) => self.read(name, &config.doc, path),
                    _ => unknown(),
                };
                let cause = match (state.get("Cause"), state.get("CausePath")) {
                    (Some(c), _) => c.clone(),
                    (None, Some(Json::String(path))) => self.expression(name, path, &config.doc),
                    _ => unknown(),
                };
                vec![Next::Done(Outcome::Failed {
                    error,
                    cause,
                    config,
                })]
            }
            "Task" => self.task(name, state, config),
            "Parallel" => self.parallel(name, state, config),
            other => {
                self.violation(name, format!("unknown state type `{other}`"));
                Vec::new()
            }
        }
    }

    fn input_of(&mut self, name: &str, state: &Json, doc: &Json) -> Json {
        match state.get("InputPath").and_then(Json::as_str) {
            Some(path) => self.read(name, doc, path),
            None => doc.clone(),
        }
    }

    fn output_of(&mut self, name: &str, state: &Json, doc: Json) -> Json {
        match state.get("OutputPath").and_then(Json::as_str) {
            Some(path) => self.read(name, &doc, path),
            None => doc,
        }
    }

    /// ResultPath, OutputPath, then the transition; notes which steps the new data says have finished.
    fn finish(&mut self, name: &str, state: &Json, mut config: Config, result: Json) -> Vec<Next> {
        let doc = match state.get("ResultPath") {
            Some(Json::Null) => config.doc.clone(),
            Some(Json::String(path)) => put(&config.doc, path, result),
            None => result,
            Some(other) => {
                self.violation(name, format!("ResultPath {other}"));
                config.doc.clone()
            }
        };
        config.doc = doc;
        self.note_finished(&mut config);
        let doc = config.doc.clone();
        self.transition(name, state, config, doc)
    }

    fn transition(&mut self, name: &str, state: &Json, config: Config, doc: Json) -> Vec<Next> {
        let output = self.output_of(name, state, doc);
        let config = Config {
            doc: output,
            ..config
        };
        match (state.get("Next").and_then(Json::as_str), state.get("End")) {
            (Some(next), None) => vec![Next::To(next.to_owned(), config)],
            (None, Some(Json::Bool(true))) => vec![Next::Done(Outcome::Succeeded(config))],
            _ => {
                self.violation(name, "neither Next nor End");
                Vec::new()
            }
        }
    }

    /// A step has finished when its result says `done`, `failed` or `skipped`; it took its estimate from its
    /// start.
    fn note_finished(&mut self, config: &mut Config) {
        let Json::Object(doc) = &config.doc else {
            return;
        };
        let Some(Json::Object(steps)) = doc.get("steps") else {
            return;
        };
        let mut ended = Vec::new();
        for (id, result) in steps {
            if config.finished.contains(id) || !self.estimates.contains_key(id) {
                continue;
            }
            let status = result.get("status").and_then(Json::as_str);
            let skipped = result.get("skipped") == Some(&Json::Bool(true));
            if skipped || matches!(status, Some("done" | "failed")) {
                ended.push((id.clone(), skipped));
            }
            if status == Some("failed") && !self.goes_on.contains(id) {
                config.failed.insert(id.clone());
            }
        }
        for (id, skipped) in ended {
            if !skipped {
                let began = config.began.get(&id).copied();
                match began {
                    Some(began) => config.clock = config.clock.max(began + self.estimates[&id]),
                    None => {
                        self.violations
                            .insert(format!("step `{id}` has a result but never started"));
                    }
                }
            }
            config.finished.insert(id);
        }
    }

    /// The step's start operation: each of its `after` finished, and it had not started.
    fn start_step(&mut self, state: &str, id: &str, config: &mut Config) {
        if !config.started.insert(id.to_owned()) {
            self.violation(state, format!("starts step `{id}` a second time"));
        }
        for dependency in self.after.get(id).cloned().unwrap_or_default() {
            if !config.finished.contains(&dependency) {
                self.violation(
                    state,
                    format!("starts `{id}` before `{dependency}` (its `after`) has finished"),
                );
            }
        }
        config.began.insert(id.to_owned(), config.clock);
        for (step, output) in self.reads.get(id).cloned().unwrap_or_default() {
            let record = format!("$.steps['{step}']");
            let ended_without = match get(&config.doc, &record) {
                Got::Value(r) => {
                    r.get("skipped") == Some(&Json::Bool(true))
                        || r.get("status").and_then(Json::as_str) == Some("failed")
                }
                _ => false,
            };
            let held = get(&config.doc, &format!("{record}['output']['{output}']"));
            if matches!(held, Got::Missing) && !ended_without {
                self.violation(
                    state,
                    format!(
                        "starts `{id}`, which reads steps.{step}.{output}, in a state without it"
                    ),
                );
            }
        }
    }

    fn task(&mut self, name: &str, state: &Json, mut config: Config) -> Vec<Next> {
        let input = self.input_of(name, state, &config.doc);
        let request = match state.get("Parameters") {
            Some(parameters) => self.template(name, parameters, &input),
            None => input,
        };
        let payload = request.get("Payload").cloned().unwrap_or(Json::Null);
        let text = |key: &str| payload.get(key).and_then(Json::as_str).map(str::to_owned);
        let action = text("action").unwrap_or_default();
        let operation = text("operation").unwrap_or_default();
        let step = payload
            .get("execution")
            .and_then(|e| e.get("step"))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        if operation == "start" && self.estimates.contains_key(&step) {
            self.start_step(name, &step, &mut config);
        }
        let resource = state
            .get("Resource")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let long = catalog::action(&action).is_some_and(|a| a.runtime == catalog::Runtime::Poll);
        let results: Vec<Json> = if resource.ends_with(".waitForTaskToken") {
            // SendTaskSuccess's output.
            vec![unknown()]
        } else {
            let statuses: &[&str] = if long {
                &["running", "done", "failed"]
            } else {
                &["done"]
            };
            statuses
                .iter()
                .map(|status| {
                    json!({ "StatusCode": 200, "Payload": {
                        "version": unknown(), "status": status, "output": unknown(), "state": unknown(),
                        "progress": Json::Null, "error": unknown(), "cause": unknown(),
                        "poll": payload.get("poll").cloned().unwrap_or(Json::Null),
                        "changed": unknown(),
                    }})
                })
                .collect()
        };
        let mut nexts = Vec::new();
        for result in results {
            let selected = match state.get("ResultSelector") {
                Some(selector) => self.template(name, selector, &result),
                None => result,
            };
            nexts.extend(self.finish(name, state, config.clone(), selected));
        }
        nexts.extend(self.raise(name, state, &config, None));
        nexts
    }

    /// The task or Parallel raised an error: each `Catch`er that can match it takes it; a raise no
    /// catcher matches fails the machine.
    fn raise(
        &mut self,
        name: &str,
        state: &Json,
        config: &Config,
        raised: Option<(Json, Json)>,
    ) -> Vec<Next> {
        let catchers = state
            .get("Catch")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let mut nexts = Vec::new();
        let mut caught_all = false;
        let mut earlier: Vec<String> = Vec::new();
        for catcher in &catchers {
            let names: Vec<String> = catcher
                .get("ErrorEquals")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            let all = names.iter().any(|n| n == "States.ALL");
            let (error, cause) = match &raised {
                // A known error matches only the catchers that name it (or all).
                Some((error, cause)) => {
                    let matches = all
                        || is_unknown(error)
                        || error.as_str().is_some_and(|e| names.iter().any(|n| n == e));
                    let taken_before = error
                        .as_str()
                        .is_some_and(|e| earlier.iter().any(|n| n == e));
                    if !matches || taken_before {
                        earlier.extend(names);
                        continue;
                    }
                    (error.clone(), cause.clone())
                }
                None => {
                    let error = if all {
                        unknown()
                    } else {
                        json!(names.first().cloned().unwrap_or_default())
                    };
                    (error, unknown())
                }
            };
            earlier.extend(names);
            let output = json!({ "Error": error, "Cause": cause });
            let doc = match catcher.get("ResultPath") {
                Some(Json::Null) => config.doc.clone(),
                Some(Json::String(path)) => put(&config.doc, path, output),
                _ => output,
            };
            let Some(next) = catcher.get("Next").and_then(Json::as_str) else {
                self.violation(name, "a Catch without Next");
                continue;
            };
            nexts.push(Next::To(
                next.to_owned(),
                Config {
                    doc,
                    ..config.clone()
                },
            ));
            if all {
                caught_all = true;
                break;
            }
        }
        if !caught_all {
            let (error, cause) = raised.unwrap_or_else(|| (unknown(), unknown()));
            nexts.push(Next::Done(Outcome::Failed {
                error,
                cause,
                config: config.clone(),
            }));
        }
        nexts
    }

    fn parallel(&mut self, name: &str, state: &Json, config: Config) -> Vec<Next> {
        let input = self.input_of(name, state, &config.doc);
        let branch_input = match state.get("Parameters") {
            Some(parameters) => self.template(name, parameters, &input),
            None => input,
        };
        let branches = state
            .get("Branches")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let entry = Config {
            doc: branch_input,
            ..config.clone()
        };
        // Each branch's outcomes and the long steps under way in it, then every combination of one outcome
        // per branch.
        let mut per_branch = Vec::new();
        let mut under_way = Vec::new();
        for branch in branches {
            let key = (std::ptr::from_ref(branch), entry.key(""));
            let (outcomes, busy) = match self.branch_memo.get(&key) {
                Some(memo) => memo.clone(),
                None => {
                    self.under_way.push(BTreeSet::new());
                    let outcomes = self.run(branch, entry.clone());
                    let busy = self.under_way.pop().unwrap_or_default();
                    self.branch_memo
                        .insert(key, (outcomes.clone(), busy.clone()));
                    (outcomes, busy)
                }
            };
            if let Some(set) = self.under_way.last_mut() {
                set.extend(busy.iter().cloned());
            }
            per_branch.push(outcomes);
            under_way.push(busy);
        }
        let mut nexts = Vec::new();
        let mut failures = BTreeSet::new();
        for (i, outcomes) in per_branch.iter().enumerate() {
            for outcome in outcomes {
                if let Outcome::Failed { error, cause, .. } = outcome {
                    failures.insert((error.to_string(), cause.to_string()));
                    // Step Functions' rule: the failed branch fails the Parallel and stops the others.
                    for (j, busy) in under_way.iter().enumerate() {
                        for step in busy.iter().filter(|_| j != i) {
                            self.violation(
                                name,
                                format!(
                                    "branch {i} can fail ({error}), which stops branch {j} while `{step}` is under way: it is abandoned"
                                ),
                            );
                        }
                    }
                }
            }
        }
        // The Parallel's own plumbing may fail too (a runtime error in its selectors): where it has a Catch,
        // that path is walked too.
        if state.get("Catch").is_some() {
            nexts.extend(self.raise(name, state, &config, None));
        }
        for (error, cause) in failures {
            let error: Json = serde_json::from_str(&error).unwrap_or_else(|_| unknown());
            let cause: Json = serde_json::from_str(&cause).unwrap_or_else(|_| unknown());
            nexts.extend(self.raise(name, state, &config, Some((error, cause))));
        }
        // A branch that ends having recorded a failure stops nothing, so its outcome combines with the others'.
        // Combinations where more than one branch recorded a failure are left out: their number grows as a
        // power of the branches (the random workflows' run took 6 times as long with two), and the states after
        // the join that they reach, one recorded failure reaches too.
        let mut combinations: Vec<(Vec<Json>, Config, usize)> =
            vec![(Vec::new(), config.clone(), 0)];
        for outcomes in &per_branch {
            let mut grown = Vec::new();
            for (results, so_far, failing) in &combinations {
                for outcome in outcomes {
                    let Outcome::Succeeded(end) = outcome else {
                        continue;
                    };
                    let failing = failing + usize::from(!end.failed.is_subset(&config.failed));
                    if failing > 1 {
                        continue;
                    }
                    let mut combined = so_far.clone();
                    for id in end.started.difference(&config.started) {
                        if !combined.started.insert(id.clone()) {
                            self.violation(name, format!("two branches start `{id}`"));
                        }
                    }
                    combined.finished.extend(end.finished.iter().cloned());
                    combined.failed.extend(end.failed.iter().cloned());
                    combined.began.extend(end.began.clone());
                    combined.clock = combined.clock.max(end.clock);
                    let mut results = results.clone();
                    results.push(end.doc.clone());
                    grown.push((results, combined, failing));
                }
            }
            combinations = grown;
            if combinations.len() > 10_000 {
                self.violation(name, "too many branch combinations to check");
                return nexts;
            }
        }
        for (results, combined, _) in combinations {
            let result = Json::Array(results);
            let selected = match state.get("ResultSelector") {
                Some(selector) => self.template(name, selector, &result),
                None => result,
            };
            nexts.extend(self.finish(name, state, combined, selected));
        }
        nexts
    }

    fn choose(&mut self, name: &str, state: &Json, config: Config) -> Vec<Next> {
        let rules = state
            .get("Choices")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let mut nexts = Vec::new();
        for rule in &rules {
            let Some(target) = rule.get("Next").and_then(Json::as_str) else {
                self.violation(name, "a Choice rule without Next");
                continue;
            };
            match self.holds(name, rule, &config.doc) {
                Some(true) => {
                    nexts.push(Next::To(target.to_owned(), config));
                    return nexts;
                }
                Some(false) => {}
                None => nexts.push(Next::To(target.to_owned(), config.clone())),
            }
        }
        match state.get("Default").and_then(Json::as_str) {
            Some(default) => nexts.push(Next::To(default.to_owned(), config)),
            None => self.violation(name, "no rule matches and there is no Default"),
        }
        nexts
    }

    /// A Choice rule on this data: `None` when it depends on what the checker does not know.
    fn holds(&mut self, name: &str, rule: &Json, doc: &Json) -> Option<bool> {
        if let Some(all) = rule.get("And").and_then(Json::as_array) {
            let values: Vec<Option<bool>> = all.iter().map(|r| self.holds(name, r, doc)).collect();
            return if values.contains(&Some(false)) {
                Some(false)
            } else if values.iter().all(|v| *v == Some(true)) {
                Some(true)
            } else {
                None
            };
        }
        if let Some(any) = rule.get("Or").and_then(Json::as_array) {
            let values: Vec<Option<bool>> = any.iter().map(|r| self.holds(name, r, doc)).collect();
            return if values.contains(&Some(true)) {
                Some(true)
            } else if values.iter().all(|v| *v == Some(false)) {
                Some(false)
            } else {
                None
            };
        }
        if let Some(inner) = rule.get("Not") {
            return self.holds(name, inner, doc).map(|v| !v);
        }
        let variable = rule
            .get("Variable")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let value = get(doc, variable);
        let (operator, operand) = rule
            .as_object()
            .into_iter()
            .flatten()
            .find(|(k, _)| !matches!(k.as_str(), "Variable" | "Next"))?;
        if operator == "IsPresent" {
            let wanted = operand == &Json::Bool(true);
            return match value {
                Got::Value(_) => Some(wanted),
                Got::Missing => Some(!wanted),
                Got::Unknown => None,
            };
        }
        let value = match value {
            Got::Value(v) if !is_unknown(&v) => v,
            Got::Value(_) | Got::Unknown => return None,
            Got::Missing => {
                self.violation(name, format!("a Choice reads {variable}, which is missing"));
                return None;
            }
        };
        let operand = if let Some(path) = operator.strip_suffix("Path").map(|_| operand) {
            match path.as_str().map(|p| get(doc, p)) {
                Some(Got::Value(v)) if !is_unknown(&v) => v,
                Some(Got::Missing) => {
                    self.violation(
                        name,
                        format!("a Choice compares with {path}, which is missing"),
                    );
                    return None;
                }
                _ => return None,
            }
        } else {
            operand.clone()
        };
        let operator = operator.trim_end_matches("Path");
        let test = |kind: fn(&Json) -> bool| Some(kind(&value) == (operand == Json::Bool(true)));
        match operator {
            "IsNull" => test(Json::is_null),
            "IsString" => test(Json::is_string),
            "IsNumeric" => test(Json::is_number),
            "IsBoolean" => test(Json::is_boolean),
            "StringMatches" => {
                let (Some(text), Some(pattern)) = (value.as_str(), operand.as_str()) else {
                    return Some(false);
                };
                Some(wildcard(pattern, text))
            }
            _ => compare(operator, &value, &operand),
        }
    }

    /// A payload template: `key.$` values are paths or intrinsic functions.
    fn template(&mut self, name: &str, template: &Json, input: &Json) -> Json {
        match template {
            Json::Object(map) => {
                let mut out = Map::new();
                for (key, value) in map {
                    match (key.strip_suffix(".$"), value) {
                        (Some(key), Json::String(expression)) => {
                            out.insert(key.to_owned(), self.expression(name, expression, input));
                        }
                        _ => {
                            out.insert(key.clone(), self.template(name, value, input));
                        }
                    }
                }
                Json::Object(out)
            }
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|i| self.template(name, i, input))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A path (`$…`, `$$…`) or an intrinsic function.
    fn expression(&mut self, name: &str, expression: &str, input: &Json) -> Json {
        if expression.starts_with('$') {
            return self.read(name, input, expression);
        }
        let mut parser = Intrinsic {
            text: expression.as_bytes(),
            at: 0,
        };
        match parser.call() {
            Some(call) => self.evaluate(name, &call, input),
            None => {
                self.violation(name, format!("cannot parse `{expression}`"));
                unknown()
            }
        }
    }

    fn read(&mut self, name: &str, doc: &Json, path: &str) -> Json {
        if path.starts_with("$$") {
            return unknown();
        }
        match get(doc, path) {
            Got::Value(v) => v,
            Got::Unknown => unknown(),
            Got::Missing => {
                self.violation(name, format!("reads {path}, which is missing"));
                unknown()
            }
        }
    }

    fn evaluate(&mut self, name: &str, term: &Term, input: &Json) -> Json {
        match term {
            Term::Literal(value) => value.clone(),
            Term::Path(path) => self.read(name, input, path),
            Term::Call(function, args) => {
                let args: Vec<Json> = args.iter().map(|a| self.evaluate(name, a, input)).collect();
                let any_unknown = args.iter().any(is_unknown);
                match function.as_str() {
                    "States.Array" => Json::Array(args),
                    "States.ArrayGetItem" => match (&args[..], any_unknown) {
                        ([Json::Array(items), Json::Number(i)], false) => {
                            let item = i.as_u64().and_then(|i| items.get(i as usize).cloned());
                            item.unwrap_or_else(|| {
                                self.violation(
                                    name,
                                    format!("ArrayGetItem index {i} is out of range"),
                                );
                                unknown()
                            })
                        }
                        _ => unknown(),
                    },
                    "States.MathAdd" => match (&args[..], any_unknown) {
                        ([Json::Number(a), Json::Number(b)], false) => {
                            json!(a.as_i64().unwrap_or(0) + b.as_i64().unwrap_or(0))
                        }
                        _ => unknown(),
                    },
                    "States.JsonMerge" => match (&args[..], any_unknown) {
                        ([Json::Object(a), Json::Object(b), _], false) => {
                            let mut merged = a.clone();
                            merged.extend(b.clone());
                            Json::Object(merged)
                        }
                        _ => unknown(),
                    },
                    "States.JsonToString" => match &args[..] {
                        [value] if !is_unknown(value) => Json::String(value.to_string()),
                        _ => unknown(),
                    },
                    "States.StringToJson" => match &args[..] {
                        [Json::String(text)] if text != UNKNOWN => {
                            serde_json::from_str(text).unwrap_or_else(|_| unknown())
                        }
                        _ => unknown(),
                    },
                    // Strings the checker does not need to know.
                    _ => unknown(),
                }
            }
        }
    }
}

#[derive(Debug)]
enum Got {
    Value(Json),
    Missing,
    /// Inside a value the checker does not know.
    Unknown,
}

/// `$`, `$.a.b`, `$['a-b']`, `$[0]`.
fn segments(path: &str) -> Option<Vec<Json>> {
    let mut rest = path.strip_prefix('$')?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']")?;
            out.push(json!(&after[..end]));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            out.push(json!(after[..end].parse::<u64>().ok()?));
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            out.push(json!(&after[..end]));
            rest = &after[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

fn get(doc: &Json, path: &str) -> Got {
    let Some(segments) = segments(path) else {
        return Got::Missing;
    };
    let mut here = doc;
    for segment in &segments {
        if is_unknown(here) {
            return Got::Unknown;
        }
        let next = match (here, segment) {
            (Json::Object(map), Json::String(key)) => match map.get(key) {
                None if map.contains_key(REST) => return Got::Unknown,
                found => found,
            },
            (Json::Array(items), Json::Number(i)) => i.as_u64().and_then(|i| items.get(i as usize)),
            _ => None,
        };
        match next {
            Some(next) => here = next,
            None => return Got::Missing,
        }
    }
    if is_unknown(here) {
        Got::Unknown
    } else {
        Got::Value(here.clone())
    }
}

/// `doc` with `value` at `path`, making the objects on the way.
fn put(doc: &Json, path: &str, value: Json) -> Json {
    let Some(segments) = segments(path) else {
        return doc.clone();
    };
    let mut doc = doc.clone();
    let mut here = &mut doc;
    for segment in &segments {
        let key = segment.as_str().unwrap_or_default().to_owned();
        if is_unknown(here) {
            *here = json!({ REST: unknown() });
        } else if !here.is_object() {
            *here = Json::Object(Map::new());
        }
        let Json::Object(map) = here else {
            unreachable!()
        };
        here = map.entry(key).or_insert(Json::Null);
    }
    *here = value;
    doc
}

fn compare(operator: &str, value: &Json, operand: &Json) -> Option<bool> {
    use std::cmp::Ordering;
    let order = match (value, operand) {
        (Json::String(a), Json::String(b)) if operator.starts_with("String") => a.cmp(b),
        (Json::Number(a), Json::Number(b)) if operator.starts_with("Numeric") => {
            a.as_f64()?.partial_cmp(&b.as_f64()?)?
        }
        (Json::Bool(a), Json::Bool(b)) if operator.starts_with("Boolean") => a.cmp(b),
        _ => return Some(false),
    };
    let relation = operator
        .trim_start_matches("String")
        .trim_start_matches("Numeric")
        .trim_start_matches("Boolean");
    Some(match relation {
        "Equals" => order == Ordering::Equal,
        "LessThan" => order == Ordering::Less,
        "LessThanEquals" => order != Ordering::Greater,
        "GreaterThan" => order == Ordering::Greater,
        "GreaterThanEquals" => order != Ordering::Less,
        _ => return None,
    })
}

/// ASL's `StringMatches`: `*` is any run of characters, `\*` a star.
fn wildcard(pattern: &str, text: &str) -> bool {
    let pattern = pattern.replace("\\*", "\u{2}");
    let parts: Vec<String> = pattern
        .split('*')
        .map(|p| p.replace('\u{2}', "*"))
        .collect();
    let Some((first, rest)) = parts.split_first() else {
        return text.is_empty();
    };
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part.as_str()) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last.as_str())
}

enum Term {
    Literal(Json),
    Path(String),
    Call(String, Vec<Term>),
}

/// A parser of intrinsic function calls: `States.F(arg, …)`, with `'text'`, numbers, `null`, booleans, paths
/// and nested calls as arguments.
struct Intrinsic<'t> {
    text: &'t [u8],
    at: usize,
}

impl Intrinsic<'_> {
    fn skip_spaces(&mut self) {
        while self.text.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn call(&mut self) -> Option<Term> {
        self.skip_spaces();
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
        {
            self.at += 1;
        }
        let function = std::str::from_utf8(&self.text[start..self.at])
            .ok()?
            .to_owned();
        if self.text.get(self.at) != Some(&b'(') {
            return None;
        }
        self.at += 1;
        let mut args = Vec::new();
        loop {
            self.skip_spaces();
            if self.text.get(self.at) == Some(&b')') {
                self.at += 1;
                return Some(Term::Call(function, args));
            }
            args.push(self.argument()?);
            self.skip_spaces();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b')') => {}
                _ => return None,
            }
        }
    }

    fn argument(&mut self) -> Option<Term> {
        self.skip_spaces();
        match self.text.get(self.at)? {
            b'\'' => {
                self.at += 1;
                let mut text = Vec::new();
                loop {
                    match self.text.get(self.at)? {
                        b'\\' => {
                            text.push(*self.text.get(self.at + 1)?);
                            self.at += 2;
                        }
                        b'\'' => {
                            self.at += 1;
                            break;
                        }
                        c => {
                            text.push(*c);
                            self.at += 1;
                        }
                    }
                }
                Some(Term::Literal(Json::String(String::from_utf8(text).ok()?)))
            }
            b'$' => {
                let start = self.at;
                let mut depth = 0;
                while let Some(&c) = self.text.get(self.at) {
                    match c {
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        b',' | b')' if depth == 0 => break,
                        _ => {}
                    }
                    self.at += 1;
                }
                let path = std::str::from_utf8(&self.text[start..self.at]).ok()?.trim();
                Some(Term::Path(path.to_owned()))
            }
            c if c.is_ascii_digit() || *c == b'-' => {
                let start = self.at;
                while self
                    .text
                    .get(self.at)
                    .is_some_and(|c| c.is_ascii_digit() || b"-.eE".contains(c))
                {
                    self.at += 1;
                }
                let number = std::str::from_utf8(&self.text[start..self.at]).ok()?;
                Some(Term::Literal(serde_json::from_str(number).ok()?))
            }
            _ => {
                for (word, value) in [
                    ("null", Json::Null),
                    ("true", json!(true)),
                    ("false", json!(false)),
                ] {
                    if self.text[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        return Some(Term::Literal(value));
                    }
                }
                self.call()
            }
        }
    }
}
