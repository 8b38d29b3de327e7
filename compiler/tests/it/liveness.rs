//! Which parts of the state data a state's future can still read, so that the checker walks once the
//! configurations that differ only in a field nothing reads again. A failed step's finished poll loop leaves its
//! counter in `$.steps.<id>`; without this, the failure path after it is walked once per poll it could have
//! failed at (52,095 configurations for a two-step workflow, 400,000 and over for some of four).
//!
//! The analysis is a backward one over the machine's transitions: what a state reads, and what its successors
//! read less what the state (or the `Catch` taken) writes before them. It is conservative: a state that reads
//! its whole input, an `InputPath` or `OutputPath` anywhere in the machine, a path it cannot parse, make all
//! of the data live.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value as Json};

/// The parts of a JSON value that are live: all of it (`all`, with `fields` narrowing some of its keys), or only
/// the listed keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Live {
    all: bool,
    fields: BTreeMap<String, Live>,
}

impl Live {
    pub fn everything() -> Live {
        Live {
            all: true,
            fields: BTreeMap::new(),
        }
    }

    fn is_nothing(&self) -> bool {
        !self.all && self.fields.values().all(Live::is_nothing)
    }

    /// The value at `path`, and all of it.
    fn at(path: &[String]) -> Live {
        match path.split_first() {
            None => Live::everything(),
            Some((first, rest)) => Live {
                all: false,
                fields: BTreeMap::from([(first.clone(), Live::at(rest))]),
            },
        }
    }

    fn field(&self, key: &str) -> Live {
        match self.fields.get(key) {
            Some(live) => live.clone(),
            None if self.all => Live::everything(),
            None => Live::default(),
        }
    }

    fn union(&mut self, other: &Live) {
        let keys: Vec<String> = self
            .fields
            .keys()
            .chain(other.fields.keys())
            .cloned()
            .collect();
        for key in keys {
            let mut merged = self.field(&key);
            merged.union(&other.field(&key));
            self.fields.insert(key, merged);
        }
        self.all |= other.all;
    }

    /// These parts once `path` has been overwritten.
    fn without(&self, path: &[String]) -> Live {
        let Some((first, rest)) = path.split_first() else {
            return Live::default();
        };
        let mut out = self.clone();
        out.fields
            .insert(first.clone(), self.field(first).without(rest));
        out
    }

    /// `doc` with only its live parts: the same for two documents exactly when every read of a live path gives the
    /// same. An object keeps the checker's marker of unknown fields, which decides what reading an absent one
    /// gives.
    pub fn project(&self, doc: &Json) -> Json {
        if self.all && self.fields.is_empty() {
            return doc.clone();
        }
        let Json::Object(map) = doc else {
            return doc.clone();
        };
        let mut kept = Map::new();
        for (key, value) in map {
            if key == super::checker::REST {
                kept.insert(key.clone(), value.clone());
                continue;
            }
            let live = self.field(key);
            if !live.is_nothing() {
                kept.insert(key.clone(), live.project(value));
            }
        }
        Json::Object(kept)
    }
}

/// The fields of each step's record that the checker reads: whether it finished, and its outputs.
pub fn records<'a>(steps: impl Iterator<Item = &'a str>) -> Live {
    let mut live = Live::default();
    for step in steps {
        for field in ["status", "skipped", "output"] {
            live.union(&Live::at(&[
                "steps".to_owned(),
                step.to_owned(),
                field.to_owned(),
            ]));
        }
    }
    live
}

/// What a transition overwrites before the next state runs.
enum Write {
    Nothing,
    Path(Vec<String>),
    Everything,
}

/// What each state of `machine` (by name) can still read when it is entered; `None` when the machine is outside
/// what the analysis understands. `at_end` is what is read of the machine's output; `always` is read at every
/// state (the checker's own reads of the steps' records).
pub fn analyse(machine: &Json, at_end: &Live, always: &Live) -> Option<HashMap<String, Live>> {
    let states = machine.get("States")?.as_object()?;
    let mut reads = HashMap::new();
    let mut edges: HashMap<&str, Vec<(Option<&str>, Write)>> = HashMap::new();
    for (name, state) in states {
        if state.get("InputPath").is_some() || state.get("OutputPath").is_some() {
            return None;
        }
        let kind = state.get("Type")?.as_str()?;
        let mut read = always.clone();
        read.union(&state_reads(kind, state)?);
        reads.insert(name.as_str(), read);
        let written = match kind {
            "Task" | "Pass" | "Parallel" => write_of(state.get("ResultPath"))?,
            _ => Write::Nothing,
        };
        let mut out = Vec::new();
        if let Some(next) = state.get("Next").and_then(Json::as_str) {
            out.push((Some(next), written));
        } else if state.get("End") == Some(&Json::Bool(true)) || kind == "Succeed" {
            out.push((None, written));
        }
        for rule in state
            .get("Choices")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            out.push((rule.get("Next")?.as_str(), Write::Nothing));
        }
        if let Some(default) = state.get("Default").and_then(Json::as_str) {
            out.push((Some(default), Write::Nothing));
        }
        for catcher in state
            .get("Catch")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            out.push((
                catcher.get("Next")?.as_str(),
                write_of(catcher.get("ResultPath"))?,
            ));
        }
        edges.insert(name.as_str(), out);
    }
    let mut live: HashMap<&str, Live> = reads.clone();
    loop {
        let mut changed = false;
        for (name, out) in &edges {
            let mut now = reads[name].clone();
            for (target, written) in out {
                let after = match target {
                    Some(target) => live.get(target).cloned().unwrap_or_else(Live::everything),
                    None => at_end.clone(),
                };
                match written {
                    Write::Nothing => now.union(&after),
                    Write::Path(path) => now.union(&after.without(path)),
                    Write::Everything => {}
                }
            }
            if live[name] != now {
                live.insert(name, now);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    Some(
        live.into_iter()
            .map(|(name, live)| (name.to_owned(), live))
            .collect(),
    )
}

/// `ResultPath`: absent, the result replaces the data; `null`, it is dropped.
fn write_of(result_path: Option<&Json>) -> Option<Write> {
    Some(match result_path {
        None => Write::Everything,
        Some(Json::Null) => Write::Nothing,
        Some(Json::String(path)) => match paths(path)?.as_slice() {
            [path] if path.is_empty() => Write::Everything,
            [path] => Write::Path(path.clone()),
            _ => return None,
        },
        Some(_) => return None,
    })
}

/// What a state reads of its input before it writes anything.
fn state_reads(kind: &str, state: &Json) -> Option<Live> {
    let whole_input = match kind {
        "Task" | "Parallel" => state.get("Parameters").is_none(),
        "Pass" => {
            state.get("Parameters").is_none()
                && state.get("Result").is_none()
                && state.get("ResultPath") != Some(&Json::Null)
        }
        "Choice" | "Wait" | "Succeed" | "Fail" => false,
        _ => return None,
    };
    if whole_input {
        return Some(Live::everything());
    }
    let mut live = Live::default();
    for (key, value) in state.as_object()? {
        // The result's selector reads the result, the branches are machines of their own, and a `Catch` only
        // writes.
        if matches!(
            key.as_str(),
            "ResultSelector" | "Branches" | "Catch" | "Retry" | "ResultPath"
        ) {
            continue;
        }
        expressions(key, value, &mut live)?;
    }
    Some(live)
}

/// The reads of every path and intrinsic function under `key`: the values of keys that end in `.$` or `Path`,
/// and of `Variable`.
fn expressions(key: &str, value: &Json, live: &mut Live) -> Option<()> {
    match value {
        Json::String(text) if key.ends_with(".$") || key.ends_with("Path") || key == "Variable" => {
            for path in paths(text)? {
                live.union(&Live::at(&path));
            }
        }
        Json::Object(map) => {
            for (key, value) in map {
                expressions(key, value, live)?;
            }
        }
        Json::Array(items) => {
            for item in items {
                expressions(key, item, live)?;
            }
        }
        _ => {}
    }
    Some(())
}

/// The data paths in a path or an intrinsic function's text (`$$` is the context object, not data): `$.a.b`,
/// `$['a-b']`, `$[0]`. A path with a wildcard or a filter is cut before it, which reads more, never less.
fn paths(text: &str) -> Option<Vec<Vec<String>>> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            rest = after;
            continue;
        }
        let mut path = Vec::new();
        loop {
            if let Some(after) = rest.strip_prefix("['") {
                let end = after.find("']")?;
                path.push(after[..end].to_owned());
                rest = &after[end + 2..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']')?;
                if !after[..end].bytes().all(|b| b.is_ascii_digit()) || end == 0 {
                    break;
                }
                path.push(after[..end].to_owned());
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(after.len());
                if end == 0 {
                    break;
                }
                path.push(after[..end].to_owned());
                rest = &after[end..];
            } else {
                break;
            }
        }
        found.push(path);
    }
    Some(found)
}
