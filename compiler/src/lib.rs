//! Lowers a validated [`workflow::Workflow`] into an Amazon States Language definition (JSONPath mode).
//!
//! graph → [`schedule`] (series-parallel tree) → [`lower`](crate::lower) (typed [`asl`] model) →
//! [`structure`] checks → JSON. This crate does no IO and never links the AWS SDK.

pub mod asl;
mod condition;
pub mod events;
pub mod iam;
mod lower;
mod manifest;
pub mod partition;
mod payload;
pub mod readiness;
pub mod schedule;
pub mod state_size;
pub mod structure;
pub mod template;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use catalog::Runtime;
use serde_json::Value as Json;
use workflow::{Diagnostic, Workflow, codes};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The workflow is valid, but Step Functions would refuse what it compiles to (E033 history budget, E034
    /// definition size): a diagnostic at the step responsible, rendered like `check`'s.
    #[error("{0}")]
    Limit(Diagnostic),
    #[error("step `{step}`: {message}")]
    Unsupported { step: String, message: String },
    #[error("internal error, please report it: {0}")]
    Internal(String),
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `DefinitionSubstitutions` values, e.g. `StepbackNotifyArn` → a function ARN. Keys without a value stay
    /// `${Key}` placeholders.
    pub substitutions: BTreeMap<String, String>,
    /// Every wait, approval timeout and retry interval divided by this (`stepback rehearse --speed`); 0 and 1
    /// leave them.
    pub speed: u64,
    /// The partition whose integrations the tasks name (`arn:aws-cn:states:::lambda:invoke`); `None` for the
    /// commercial one, `aws`.
    pub partition: Option<&'static partition::Partition>,
}

impl Options {
    /// The tasks in the region's partition.
    pub fn in_region(mut self, region: &str) -> Options {
        self.partition = Some(partition::Partition::of_region(region));
        self
    }

    /// Concrete ARNs for every function: `arn:<partition>:lambda:<region>:<account>:function:<prefix><action>`,
    /// with the action's dots and underscores as dashes (`rds.snapshot` → `stepback-rds-snapshot` for prefix
    /// `stepback-`), and the tasks in the region's partition. Explicit `substitutions` win.
    pub fn with_account(mut self, region: &str, account: &str, prefix: &str) -> Options {
        self = self.in_region(region);
        let partition = partition::Partition::of_region(region).name;
        for action in catalog::ACTIONS
            .iter()
            .filter(|a| a.runtime != Runtime::Native)
        {
            let function = format!("{prefix}{}", action.name.replace(['.', '_'], "-"));
            self.substitutions
                .entry(action.arn_substitution())
                .or_insert_with(|| {
                    format!("arn:{partition}:lambda:{region}:{account}:function:{function}")
                });
        }
        self
    }
}

/// The figures `stepback plan` prints. Durations are in seconds, from the steps' estimates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub critical_path: Vec<String>,
    pub critical_secs: u64,
    /// The compiled machine when every step takes its estimate.
    pub makespan_secs: u64,
    /// The naive level-by-level lowering.
    pub level_secs: u64,
    /// The series-parallel tree: `;` in series, `|` in parallel.
    pub structure: String,
    /// `(before, after)` step ids the compiler ordered although the workflow did not.
    pub added_edges: Vec<(String, String)>,
    /// Worst-case history events of each step, and of the whole execution.
    pub step_events: Vec<(String, u64)>,
    pub total_events: u64,
    /// The history when every step runs and succeeds first try, each long step at its estimate.
    pub nominal_events: u64,
    /// How soon each long step sees its operation end, in declaration order.
    pub detection: Vec<(String, events::Detection)>,
    /// The definition's size in UTF-8 bytes as it reaches Step Functions, against [`DEFINITION_LIMIT`]:
    /// minified (CloudFormation sends a `Definition` object as minified JSON; `stepback deploy` sends it
    /// minified), each function ARN placeholder counted as the longest ARN that can fill it.
    pub definition_bytes: usize,
    /// The file `compile` writes, pretty-printed, for comparison.
    pub pretty_bytes: usize,
    /// The most bytes the state's data can reach, against [`state_size::LIMIT`].
    pub state_size: state_size::StateSize,
    /// Each step's start and end in the compiled machine when every step runs and takes its estimate, in
    /// start order. Its end is [`Plan::makespan_secs`].
    pub timeline: Vec<timeline::Timed>,
    /// The run with the workflow's default input.
    pub default_run: DefaultRun,
}

/// The compiled machine run with the default input: conditional steps whose `when` is false for it take no
/// time; those whose `when` the defaults cannot decide are counted as running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultRun {
    pub makespan_secs: u64,
    pub skipped: Vec<String>,
}

impl Plan {
    pub fn ratio(&self) -> f64 {
        ratio(self.makespan_secs, self.critical_secs)
    }

    pub fn level_ratio(&self) -> f64 {
        ratio(self.level_secs, self.critical_secs)
    }
}

/// Step Functions' limit on a state machine definition: 1 MB of UTF-8 (`CreateStateMachine` rejects more).
pub const DEFINITION_LIMIT: usize = 1_048_576;

/// The longest Lambda function ARN (the Lambda API's limit on `FunctionName` as an ARN): what a placeholder
/// that no substitution filled is counted as.
pub const MAX_FUNCTION_ARN: usize = 140;

/// `1.0` when the critical path is empty (no steps, or all estimates zero).
pub fn ratio(makespan: u64, critical: u64) -> f64 {
    if critical == 0 {
        1.0
    } else {
        makespan as f64 / critical as f64
    }
}

#[derive(Clone, Debug)]
pub struct Compiled {
    pub machine: asl::StateMachine,
    /// The definition, pretty-printed; the same workflow and options give the same bytes.
    pub json: String,
    pub plan: Plan,
    /// The `DefinitionSubstitutions` keys the definition still uses as `${Key}`.
    pub placeholders: BTreeSet<String>,
    /// The Step Functions limits the definition exceeds, each at the step that weighs most; [`compile`]
    /// refuses the workflow when there is one.
    pub over_limits: Vec<Diagnostic>,
}

/// Compiles, refusing a workflow whose worst-case history exceeds the Step Functions limit or whose definition
/// is larger than Step Functions accepts.
pub fn compile(workflow: &Workflow, options: &Options) -> Result<Compiled, Vec<CompileError>> {
    let compiled = build(workflow, options)?;
    if compiled.over_limits.is_empty() {
        Ok(compiled)
    } else {
        Err(compiled
            .over_limits
            .into_iter()
            .map(CompileError::Limit)
            .collect())
    }
}

/// Compiles without refusing: the plan figures, also for a workflow over the limits (in `over_limits`).
pub fn plan(workflow: &Workflow) -> Result<Compiled, Vec<CompileError>> {
    build(workflow, &Options::default())
}

/// The spanned diagnostics for the limits the definition exceeds. The definition's share of each step is
/// measured only when the whole is over, since it serialises every state a second time.
fn over_limits(
    workflow: &Workflow,
    machine: &asl::StateMachine,
    step_states: &BTreeMap<String, Vec<String>>,
    plan: &Plan,
) -> Vec<Diagnostic> {
    let span = |id: &str| {
        workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .find(|s| s.id == id)
            .map_or(0..0, |s| s.id_span.clone())
    };
    let mut diagnostics = Vec::new();
    // The first of the heaviest steps, in declaration order.
    let heaviest = plan
        .step_events
        .iter()
        .rev()
        .max_by_key(|(_, events)| *events);
    if let (true, Some((step, step_events))) = (plan.total_events > events::LIMIT, heaviest) {
        // What the rest of the workflow leaves this step.
        let budget = events::LIMIT.saturating_sub(plan.total_events - step_events);
        let mut fits = Vec::new();
        if let Some(polled) = workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .find(|s| s.id == *step && s.action.runtime == Runtime::Poll)
        {
            let (timeout, interval) = events::fitting(polled, budget);
            if let Some(timeout) = timeout {
                fits.push(format!("`timeout = \"{}\"`", events::human(timeout)));
            }
            if let (Some(seconds), Some((param, _))) = (interval, events::interval(polled)) {
                fits.push(format!("`{param} = \"{}\"`", events::human(seconds)));
            }
        }
        diagnostics.push(codes::history_budget(
            span(step),
            step,
            *step_events,
            plan.total_events,
            events::LIMIT,
            &fits,
        ));
    }
    if plan.state_size.bytes > state_size::LIMIT {
        diagnostics.push(state_size_diagnostic(workflow, &plan.state_size));
    }
    if plan.definition_bytes > DEFINITION_LIMIT {
        let mut bytes: BTreeMap<&str, usize> = BTreeMap::new();
        let owners: BTreeMap<&str, &str> = step_states
            .iter()
            .flat_map(|(step, states)| states.iter().map(|s| (s.as_str(), step.as_str())))
            .collect();
        state_bytes(machine, &owners, &mut bytes);
        let largest = workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .rev()
            .filter_map(|s| bytes.get(s.id.as_str()).map(|&b| (s.id.as_str(), b)))
            .max_by_key(|(_, b)| *b);
        if let Some((step, step_bytes)) = largest {
            diagnostics.push(codes::definition_size(
                span(step),
                step,
                step_bytes,
                plan.definition_bytes,
                DEFINITION_LIMIT,
            ));
        }
    }
    diagnostics
}

/// E039 at the step whose kept outputs weigh most, with the reads that keep them and the bound's three
/// heaviest parts.
fn state_size_diagnostic(workflow: &Workflow, size: &state_size::StateSize) -> Diagnostic {
    let heaviest: Vec<String> = size
        .parts
        .iter()
        .take(3)
        .map(|p| format!("{} ({} bytes)", p.what, p.bytes))
        .collect();
    let (span, label, reads) = match size.outputs().next() {
        Some((step, readers, bytes)) => {
            let index = workflow.steps.iter().position(|s| s.id == step);
            let reads = workflow
                .reads
                .iter()
                .filter(|r| Some(r.to) == index)
                .map(|r| r.span.clone())
                .collect();
            let span = workflow.step(step).map_or(0..0, |s| s.id_span.clone());
            let readers: Vec<String> = readers.iter().map(|r| format!("`{r}`")).collect();
            let label = format!(
                "its outputs, up to {bytes} bytes, stay in the state: read by {}",
                readers.join(", ")
            );
            (span, label, reads)
        }
        None => (0..0, "the inputs and failures alone".to_owned(), Vec::new()),
    };
    codes::state_size(
        span,
        &label,
        reads,
        size.bytes,
        state_size::LIMIT,
        &heaviest,
    )
}

/// Adds each owned state's JSON size to its step's total, through `Parallel` branches.
fn state_bytes<'m>(
    machine: &'m asl::StateMachine,
    owners: &BTreeMap<&str, &'m str>,
    bytes: &mut BTreeMap<&'m str, usize>,
) {
    for (name, state) in &machine.states.0 {
        match (owners.get(name.as_str()), state) {
            (Some(&step), _) => {
                let size = serde_json::to_string(state).map_or(0, |json| json.len());
                *bytes.entry(step).or_default() += name.len() + size;
            }
            (None, asl::State::Parallel(parallel)) => {
                for branch in &parallel.branches {
                    state_bytes(branch, owners, bytes);
                }
            }
            (None, _) => {}
        }
    }
}

/// The `(before, after)` step indexes that the compiled machine orders although the workflow does not (see
/// [`schedule`]): what `stepback plan` lists and `stepback graph` draws as added.
pub fn added_edges(workflow: &Workflow) -> Vec<(usize, usize)> {
    let weights = estimates(workflow);
    schedule::schedule(&schedule::Dag::new(&workflow.dag, &weights)).added_edges
}

fn estimates(workflow: &Workflow) -> Vec<u64> {
    workflow.steps.iter().map(|s| s.estimate_secs).collect()
}

fn build(workflow: &Workflow, options: &Options) -> Result<Compiled, Vec<CompileError>> {
    let weights = estimates(workflow);
    let dag = schedule::Dag::new(&workflow.dag, &weights);
    let schedule = schedule::schedule(&dag);
    let mut lowered = lower::lower(
        workflow,
        schedule.tree.as_ref(),
        &options.substitutions,
        options.speed,
    )?;
    if options.speed > 1 {
        lowered.machine.speed_up(options.speed);
    }
    if let Some(partition) = options.partition {
        lowered.machine.in_partition(partition.name);
    }
    let problems = structure::check(&lowered.machine);
    if !problems.is_empty() {
        return Err(problems.into_iter().map(CompileError::Internal).collect());
    }
    let id = |i: usize| {
        workflow
            .steps
            .get(i)
            .map(|s| s.id.clone())
            .unwrap_or_default()
    };
    let (critical, critical_secs) = dag.critical_path();
    let json = lowered.machine.to_json();
    let skipped: Vec<usize> = workflow
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.when
                .as_ref()
                .is_some_and(|c| timeline::holds_by_default(c, workflow) == Some(false))
        })
        .map(|(i, _)| i)
        .collect();
    let mut default_weights = dag.weights().to_vec();
    for &i in &skipped {
        if let Some(weight) = default_weights.get_mut(i) {
            *weight = 0;
        }
    }
    let plan = Plan {
        critical_path: critical.into_iter().map(id).collect(),
        critical_secs,
        makespan_secs: schedule
            .tree
            .as_ref()
            .map_or(0, |t| t.makespan(dag.weights())),
        level_secs: dag.level_makespan(),
        structure: schedule
            .tree
            .as_ref()
            .map_or_else(String::new, |t| t.render(&id)),
        added_edges: schedule
            .added_edges
            .iter()
            .map(|&(a, b)| (id(a), id(b)))
            .collect(),
        step_events: lowered.step_events,
        total_events: lowered.total_events,
        nominal_events: lowered.nominal_events,
        detection: workflow
            .steps
            .iter()
            .chain(&workflow.on_failure)
            .filter_map(|s| {
                let plan = lowered.poll_plans.get(&s.id)?;
                Some((s.id.clone(), plan.detection(s.estimate_secs)))
            })
            .collect(),
        // `String::len` is the UTF-8 length.
        definition_bytes: sent_bytes(&lowered.machine),
        pretty_bytes: json.len(),
        state_size: state_size::state_size(workflow, schedule.tree.as_ref()),
        timeline: timeline::timeline(schedule.tree.as_ref(), workflow, dag.weights()),
        default_run: DefaultRun {
            makespan_secs: schedule
                .tree
                .as_ref()
                .map_or(0, |t| t.makespan(&default_weights)),
            skipped: skipped.into_iter().map(id).collect(),
        },
    };
    let placeholders = placeholders(&json).map_err(|e| vec![e])?;
    let over_limits = over_limits(workflow, &lowered.machine, &lowered.step_states, &plan);
    Ok(Compiled {
        machine: lowered.machine,
        json,
        plan,
        placeholders,
        over_limits,
    })
}

/// The definition's bytes as Step Functions receives it: minified, and each `${Key}` placeholder left (no
/// substitution given) counted as a function ARN of the longest length.
fn sent_bytes(machine: &asl::StateMachine) -> usize {
    let minified = serde_json::to_string(machine).unwrap_or_default();
    let own: BTreeSet<String> = catalog::ACTIONS
        .iter()
        .map(|a| format!("${{{}}}", a.arn_substitution()))
        .collect();
    let growth: usize = own
        .iter()
        .map(|placeholder| {
            minified.matches(placeholder.as_str()).count()
                * MAX_FUNCTION_ARN.saturating_sub(placeholder.len())
        })
        .sum();
    minified.len() + growth
}

/// The compiler's own `${Key}` placeholders in a definition: the function ARNs that no substitution filled.
/// Any other `${` would be text that deploy-time substitution reads, which the lowering never writes (user text
/// holding `${` is rebuilt at run time, see `payload`); finding one is a compiler bug.
fn placeholders(json: &str) -> Result<BTreeSet<String>, CompileError> {
    let own: BTreeSet<String> = catalog::ACTIONS
        .iter()
        .map(|a| a.arn_substitution())
        .collect();
    let mut found = BTreeSet::new();
    for (at, _) in json.match_indices("${") {
        let key = json[at + 2..].split_once('}').map(|(key, _)| key);
        match key.filter(|key| own.contains(*key)) {
            Some(key) => {
                found.insert(key.to_owned());
            }
            None => {
                let context: String = json[at..].chars().take(40).collect();
                return Err(CompileError::Internal(format!(
                    "`${{` outside a placeholder reached the definition: `{context}`"
                )));
            }
        }
    }
    Ok(found)
}

/// An execution input a console user can start from: every input with its default, and `null` for each
/// required one, which the machine refuses until it is filled.
pub fn example_input(workflow: &Workflow) -> Json {
    let input = workflow
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.default.clone().unwrap_or(Json::Null)))
        .collect();
    Json::Object(input)
}
