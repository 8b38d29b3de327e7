//! Structural checks on the typed model, which asl-validator does not fully make: every `Next`, `Default`
//! and `Catch` target exists in the same scope, every state is reachable from `StartAt`, names are unique across
//! the whole machine and at most 80 characters, Choice states have rules, and Retry fields are in range.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::asl::{State, StateMachine};

/// Every problem found, as sentences naming the state; empty when the machine is well formed.
pub fn check(machine: &StateMachine) -> Vec<String> {
    let mut problems = Vec::new();
    let mut names = HashSet::new();
    check_scope(machine, "the machine", &mut names, &mut problems);
    problems
}

fn check_scope<'m>(
    machine: &'m StateMachine,
    scope: &str,
    names: &mut HashSet<&'m str>,
    problems: &mut Vec<String>,
) {
    let states: HashMap<&str, &State> = machine
        .states
        .0
        .iter()
        .map(|(n, s)| (n.as_str(), s))
        .collect();
    for (name, state) in &machine.states.0 {
        if !names.insert(name) {
            problems.push(format!("state name `{name}` is used twice"));
        }
        if name.chars().count() > 80 {
            problems.push(format!("state name `{name}` is longer than 80 characters"));
        }
        for target in state.successors() {
            if !states.contains_key(target) {
                problems.push(format!(
                    "`{name}` in {scope} goes to `{target}`, which is not in that scope"
                ));
            }
        }
        match state {
            State::Choice(choice) if choice.choices.is_empty() => {
                problems.push(format!("Choice `{name}` has no rules"));
            }
            State::Task(task) => {
                for retrier in &task.retry {
                    if retrier.interval_seconds == 0
                        || retrier.max_delay_seconds == 0
                        || retrier.backoff_rate < 1.0
                    {
                        problems.push(format!("Task `{name}` has a Retry out of range"));
                    }
                }
            }
            State::Parallel(parallel) => {
                for (i, branch) in parallel.branches.iter().enumerate() {
                    check_scope(
                        branch,
                        &format!("branch {} of `{name}`", i + 1),
                        names,
                        problems,
                    );
                }
            }
            _ => {}
        }
    }
    if !states.contains_key(machine.start_at.as_str()) {
        problems.push(format!(
            "StartAt `{}` of {scope} is not a state",
            machine.start_at
        ));
    }
    let mut reached = HashSet::new();
    let mut queue = VecDeque::from([machine.start_at.as_str()]);
    while let Some(name) = queue.pop_front() {
        if !reached.insert(name) {
            continue;
        }
        if let Some(state) = states.get(name) {
            queue.extend(state.successors());
        }
    }
    for (name, _) in &machine.states.0 {
        if !reached.contains(name.as_str()) {
            problems.push(format!("`{name}` in {scope} is unreachable"));
        }
    }
    if !machine.states.0.iter().any(|(_, s)| s.is_terminal()) {
        problems.push(format!("{scope} has no terminal state"));
    }
}
