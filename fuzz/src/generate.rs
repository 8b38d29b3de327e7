//! Workflows from fuzzer bytes, for the structure-aware target: steps of catalog actions with plausible params
//! (literals of the param's type, its allowed values, references to inputs, resources and earlier steps'
//! outputs), `after` edges, `when` conditions, retries, estimates and timeouts, an `[on_failure]` section and a
//! trigger. Three workflows in four take only plausible choices, so that most are valid and the fuzzer spends its
//! time in the compiler; the fourth may also take odd ones (a wrong type, an unknown or later step, a value out
//! of range), which reach the diagnostics that guard the same paths.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Result, Unstructured};
use catalog::{ActionSpec, ValueType};
use toml::{Table, Value};

/// The inputs every generated workflow declares; `when`s and params read them.
const INPUTS: &[(&str, ValueType)] = &[
    ("reason", ValueType::String),
    ("replicas", ValueType::Number),
    ("dry_run", ValueType::Bool),
    ("target", ValueType::String),
];
const STRINGS: &[&str] = &[
    "webapp",
    "prod",
    "arn:aws:sns:us-east-1:123456789012:ops",
    "https://app.example.com/health",
    "i-0123456789abcdef0",
    "echo ok",
    "",
    "a'b\"c\\d",
    "é ✓",
];
const DURATIONS: &[&str] = &["1s", "30s", "5m", "10m", "1h", "1h30m", "1d"];
/// Durations that are out of range or malformed somewhere.
const ODD_DURATIONS: &[&str] = &[
    "0s",
    "35d",
    "366d",
    "2m 5s",
    "1 month",
    "-1s",
    "18446744073709551616s",
];
const MAX_STEPS: usize = 24;

/// A workflow as TOML text.
#[derive(Debug)]
pub struct Source(pub String);

impl<'a> Arbitrary<'a> for Source {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Source> {
        // Three in four workflows take only plausible choices, so that most reach the compiler.
        let takes_odd = chance(u, 1, 4)?;
        let u = &mut Gen { u, odd: takes_odd };
        let actions: Vec<&'static ActionSpec> = catalog::user_actions().collect();
        let mut root = Table::new();
        root.insert("version".into(), Value::Integer(1));
        root.insert("name".into(), Value::String("fuzz".into()));
        let (inputs, required) = inputs(u)?;
        root.insert("input".into(), Value::Table(inputs));
        let mut resources = Table::new();
        resources.insert("topic".into(), Value::String(STRINGS[2].into()));
        resources.insert("url".into(), Value::String(STRINGS[3].into()));
        root.insert("resources".into(), Value::Table(resources));
        if chance(u, 1, 4)? {
            root.insert("trigger".into(), Value::Table(trigger(u, &required)?));
        }
        if u.arbitrary()? {
            let mut defaults = Table::new();
            defaults.insert("timeout".into(), duration(u)?);
            defaults.insert("retry".into(), Value::Table(retry(u)?));
            root.insert("defaults".into(), Value::Table(defaults));
        }
        let count = u.int_in_range(1..=MAX_STEPS)?;
        let mut steps = Table::new();
        let mut declared: Vec<Declared> = Vec::new();
        for index in 0..count {
            let action = *u.choose(&actions)?;
            let id = format!("s{index}");
            let (table, ancestors) = step(u, action, &declared, count, false)?;
            steps.insert(id.clone(), Value::Table(table));
            declared.push(Declared {
                id,
                action,
                ancestors,
            });
        }
        root.insert("steps".into(), Value::Table(steps));
        if chance(u, 1, 3)? {
            let mut on_failure = Table::new();
            for index in 0..u.int_in_range(1..=3)? {
                let mut action = *u.choose(&actions)?;
                // No destructive step in [on_failure] (E036).
                if action.is_destructive() && !odd(u, 1, 2)? {
                    action = actions[0];
                }
                let (table, _) = step(u, action, &[], 0, true)?;
                on_failure.insert(format!("f{index}"), Value::Table(table));
            }
            root.insert("on_failure".into(), Value::Table(on_failure));
        }
        // Serialising a table of strings, numbers and tables cannot fail.
        Ok(Source(toml::to_string(&root).unwrap_or_default()))
    }
}

/// The `[input]` table, and the names of the inputs it gives no default.
fn inputs(u: &mut Gen<'_, '_>) -> Result<(Table, Vec<&'static str>)> {
    let mut table = Table::new();
    let mut required = Vec::new();
    for &(name, ty) in INPUTS {
        let mut declared = Table::new();
        declared.insert("type".into(), Value::String(ty.name().into()));
        // An input without a default must be given at each start; a trigger must then supply it.
        if !chance(u, 1, 4)? {
            declared.insert("default".into(), literal(u, ty, None, None)?);
        } else {
            required.push(name);
        }
        table.insert(name.into(), Value::Table(declared));
    }
    Ok((table, required))
}

/// A trigger that mostly supplies every input in `required` (those without a default).
fn trigger(u: &mut Gen<'_, '_>, required: &[&str]) -> Result<Table> {
    let mut table = Table::new();
    let alarms = (0..u.int_in_range(0..=2)?.max(u8::from(!odd(u, 1, 10)?)))
        .map(|i| Value::String(format!("alarm-{i}")));
    table.insert("alarms".into(), Value::Array(alarms.collect()));
    let mut input = Table::new();
    for &(name, ty) in INPUTS {
        if required.contains(&name) && !odd(u, 1, 10)? || u.arbitrary()? {
            let value = match ty {
                ValueType::String => Value::String("${alarm.name}: ${alarm.reason}".into()),
                _ => literal(u, ty, None, None)?,
            };
            input.insert(name.into(), value);
        }
    }
    table.insert("input".into(), Value::Table(input));
    Ok(table)
}

fn retry(u: &mut Gen<'_, '_>) -> Result<Table> {
    let mut table = Table::new();
    let attempts = if odd(u, 1, 10)? {
        11
    } else {
        u.int_in_range(0..=10)?
    };
    table.insert("attempts".into(), Value::Integer(attempts));
    if u.arbitrary()? {
        table.insert("interval".into(), duration(u)?);
    }
    if u.arbitrary()? {
        let halves = if odd(u, 1, 10)? {
            0
        } else {
            u.int_in_range(2u8..=20)?
        };
        table.insert("backoff".into(), Value::Float(f64::from(halves) / 2.0));
    }
    if u.arbitrary()? {
        table.insert("max_delay".into(), duration(u)?);
    }
    if u.arbitrary()? {
        table.insert("jitter".into(), Value::Boolean(u.arbitrary()?));
    }
    Ok(table)
}

fn duration(u: &mut Gen<'_, '_>) -> Result<Value> {
    Ok(Value::String(pick(u, DURATIONS, ODD_DURATIONS)?.into()))
}

/// The fuzzer's bytes, and whether this workflow may take odd choices (a wrong type, an unknown step, a
/// value out of range).
pub struct Gen<'u, 'a> {
    u: &'u mut Unstructured<'a>,
    odd: bool,
}

impl<'a> std::ops::Deref for Gen<'_, 'a> {
    type Target = Unstructured<'a>;
    fn deref(&self) -> &Unstructured<'a> {
        self.u
    }
}

impl std::ops::DerefMut for Gen<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.u
    }
}

/// An odd choice, `n` times in `out_of` in a workflow that may take them.
fn odd(u: &mut Gen<'_, '_>, n: u8, out_of: u8) -> Result<bool> {
    Ok(u.odd && chance(u, n, out_of)?)
}

/// True `n` times in `out_of`; false when the fuzzer's bytes run out (`Unstructured::ratio` is true then), so
/// that a short input gives a small, plain workflow.
fn chance(u: &mut Unstructured<'_>, n: u8, out_of: u8) -> Result<bool> {
    Ok(u.int_in_range(1..=out_of)? > out_of - n)
}

/// Mostly one of `good`, now and then one of `odd`: most generated workflows stay valid and reach the
/// compiler, while the diagnostics on the same paths are exercised too.
fn pick<'s>(u: &mut Gen<'_, '_>, good: &[&'s str], odd_ones: &[&'s str]) -> Result<&'s str> {
    Ok(if odd(u, 1, 10)? {
        u.choose(odd_ones)?
    } else {
        u.choose(good)?
    })
}

/// One step. `earlier` are the steps declared before it with their ancestors, which `after` mostly names; an
/// edge may also point forward (a later step, or a cycle) or to itself. `when` and params read only the
/// step's ancestors, mostly. Returns the step and its ancestors.
fn step(
    u: &mut Gen<'_, '_>,
    action: &'static ActionSpec,
    earlier: &[Declared],
    count: usize,
    on_failure: bool,
) -> Result<(Table, BTreeSet<usize>)> {
    let mut table = Table::new();
    table.insert("action".into(), Value::String(action.name.into()));
    let mut after = Vec::new();
    let mut ancestors = BTreeSet::new();
    if !on_failure && !earlier.is_empty() {
        for _ in 0..u.int_in_range(0..=3)? {
            if odd(u, 1, 20)? {
                after.push(Value::String(format!("s{}", u.int_in_range(0..=count)?)));
            } else {
                let index = u.choose_index(earlier.len())?;
                after.push(Value::String(earlier[index].id.clone()));
                ancestors.insert(index);
                ancestors.extend(earlier[index].ancestors.iter().copied());
            }
        }
    }
    if !after.is_empty() {
        table.insert("after".into(), Value::Array(after));
    }
    let readable: Vec<(&str, &'static ActionSpec)> = ancestors
        .iter()
        .map(|&i| (earlier[i].id.as_str(), earlier[i].action))
        .collect();
    if chance(u, 1, 3)? {
        table.insert("when".into(), Value::String(condition(u, &readable, 0)?));
    }
    // One param of each `exactly_one_of` group, now and then none or two.
    let mut kept: Vec<&str> = Vec::new();
    let mut left_out: Vec<&str> = Vec::new();
    for group in action.exactly_one_of {
        let keep = *u.choose(group)?;
        for &param in group.iter() {
            if (param == keep) != odd(u, 1, 10)? {
                kept.push(param);
            } else {
                left_out.push(param);
            }
        }
    }
    for param in action.params {
        if left_out.contains(&param.name) {
            continue;
        }
        if param.required || kept.contains(&param.name) || u.arbitrary()? {
            table.insert(
                param.name.into(),
                param_value(u, param, &readable, on_failure)?,
            );
        }
    }
    if chance(u, 1, 4)? {
        table.insert("continue_on_error".into(), Value::Boolean(u.arbitrary()?));
    }
    if chance(u, 1, 4)? {
        table.insert("estimate".into(), duration(u)?);
    }
    if chance(u, 1, 4)? {
        table.insert("timeout".into(), duration(u)?);
    }
    if chance(u, 1, 6)? {
        table.insert("retry".into(), Value::Table(retry(u)?));
    }
    // A destructive step needs a snapshot and an approval before it; mostly it waives them.
    if action.is_destructive() && !chance(u, 1, 4)? {
        table.insert("allow_unguarded".into(), Value::Boolean(true));
    } else if odd(u, 1, 20)? {
        table.insert("allow_unguarded".into(), Value::Boolean(u.arbitrary()?));
    }
    Ok((table, ancestors))
}

/// A step declared so far.
struct Declared {
    id: String,
    action: &'static ActionSpec,
    ancestors: BTreeSet<usize>,
}

fn param_value(
    u: &mut Gen<'_, '_>,
    param: &catalog::ParamSpec,
    readable: &[(&str, &'static ActionSpec)],
    on_failure: bool,
) -> Result<Value> {
    let allowed = (!param.allowed.is_empty()).then_some(param.allowed);
    match u.int_in_range(0u8..=10)? {
        // Another type than the param's.
        10 if u.odd => {
            let ty = *u.choose(&TYPES)?;
            literal(u, ty, None, None)
        }
        1 | 2 if param.ty == ValueType::String => {
            Ok(Value::String(interpolated(u, readable, on_failure)?))
        }
        // Resources are substituted as text, which a param's allowed values would refuse.
        3 | 4
            if param.allowed.is_empty()
                && matches!(
                    param.ty,
                    ValueType::String | ValueType::Number | ValueType::Bool
                ) =>
        {
            reference(u, param.ty, readable, on_failure).map(Value::String)
        }
        _ => literal(u, param.ty, allowed, param.range),
    }
}

const TYPES: [ValueType; 7] = [
    ValueType::String,
    ValueType::Number,
    ValueType::Bool,
    ValueType::StringList,
    ValueType::StringMap,
    ValueType::Duration,
    ValueType::Targets,
];

fn literal(
    u: &mut Gen<'_, '_>,
    ty: ValueType,
    allowed: Option<&[&str]>,
    range: Option<(f64, f64)>,
) -> Result<Value> {
    Ok(match ty {
        ValueType::String => match allowed {
            Some(allowed) if !odd(u, 1, 8)? => Value::String((*u.choose(allowed)?).into()),
            _ => Value::String((*u.choose(STRINGS)?).into()),
        },
        ValueType::Number => match (u.int_in_range(0u8..=9)?, range) {
            (8, _) if u.odd => Value::Float(f64::from(u.int_in_range(-1000i32..=100_000)?) / 4.0),
            (9, _) if u.odd => {
                Value::Integer(*u.choose(&[0, 1, 200, 65_535, -1, i64::MAX, i64::MIN])?)
            }
            // Whole numbers in the range; the ranges' bounds are small whole numbers.
            (_, Some((low, high))) => Value::Integer(u.int_in_range(low as i64..=high as i64)?),
            _ => Value::Integer(u.int_in_range(0..=600)?),
        },
        ValueType::Bool => Value::Boolean(u.arbitrary()?),
        ValueType::StringList => {
            let items = (0..u.int_in_range(0..=3)?).map(|_| {
                let item = match allowed {
                    Some(allowed) if !odd(u, 1, 10)? => u.choose(allowed)?,
                    _ => u.choose(STRINGS)?,
                };
                Ok(Value::String((*item).into()))
            });
            Value::Array(items.collect::<Result<_>>()?)
        }
        ValueType::StringMap => {
            let mut table = Table::new();
            for i in 0..u.int_in_range(0..=3)? {
                table.insert(format!("k{i}"), Value::String((*u.choose(STRINGS)?).into()));
            }
            Value::Table(table)
        }
        ValueType::Duration => duration(u)?,
        ValueType::Targets => {
            const TARGETS: &[&str] = &[
                "i-0abc",
                "i-0abc:8080",
                "10.0.0.7:80",
                "10.0.0.7",
                ":80",
                "i-0abc:99999",
            ];
            let items = (0..u.int_in_range(0..=3)?)
                .map(|_| Ok(Value::String((*u.choose(TARGETS)?).into())));
            Value::Array(items.collect::<Result<_>>()?)
        }
    })
}

/// `${...}` alone: a value of `ty` from an input, an ancestor's output or the context.
fn reference(
    u: &mut Gen<'_, '_>,
    ty: ValueType,
    readable: &[(&str, &'static ActionSpec)],
    on_failure: bool,
) -> Result<String> {
    let mut paths: Vec<String> = readable
        .iter()
        .flat_map(|(id, action)| {
            let outputs = action.outputs.iter().filter(|o| o.ty.fits(ty));
            outputs.map(move |o| format!("steps.{id}.{}", o.name))
        })
        .collect();
    paths.extend(
        INPUTS
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(n, _)| format!("input.{n}")),
    );
    if ty == ValueType::String {
        paths.extend(["execution.name", "execution.id", "resources.topic"].map(String::from));
        if on_failure {
            paths.extend(
                [
                    "failure.step",
                    "failure.error",
                    "failure.cause",
                    "failure.completed",
                ]
                .map(String::from),
            );
        }
    }
    let path = if paths.is_empty() || odd(u, 1, 10)? {
        let bogus = [
            "alarm.name",
            "input.nope",
            "steps.s0.nope",
            "steps.s99.x",
            "resources.nope",
            "execution.name",
        ];
        (*u.choose(&bogus)?).to_owned()
    } else {
        u.choose(&paths)?.clone()
    };
    Ok(format!("${{{path}}}"))
}

/// Text with references inside, as in a notify message.
fn interpolated(
    u: &mut Gen<'_, '_>,
    readable: &[(&str, &'static ActionSpec)],
    on_failure: bool,
) -> Result<String> {
    let mut text = String::from("at ");
    for _ in 0..u.int_in_range(1..=4)? {
        if u.arbitrary()? {
            text.push_str(pick(
                u,
                &[" ", "x", "$$", "'", "\"", "\\", "}", "%s", "é"],
                &["${", "${}", "$${"],
            )?);
        } else {
            let ty = *u.choose(&[ValueType::String, ValueType::Number, ValueType::Bool])?;
            text.push_str(&reference(u, ty, readable, on_failure)?);
        }
    }
    Ok(text)
}

/// A `when`, written bare (without `${}`), nested up to a few levels.
fn condition(
    u: &mut Gen<'_, '_>,
    readable: &[(&str, &'static ActionSpec)],
    depth: u8,
) -> Result<String> {
    let choice = if depth >= 2 || u.arbitrary()? {
        0
    } else {
        u.int_in_range(1u8..=4)?
    };
    Ok(match choice {
        0 => comparison(u, readable)?,
        1 => format!(
            "{} && {}",
            condition(u, readable, depth + 1)?,
            condition(u, readable, depth + 1)?
        ),
        2 => format!(
            "{} || {}",
            condition(u, readable, depth + 1)?,
            condition(u, readable, depth + 1)?
        ),
        3 => format!("!({})", condition(u, readable, depth + 1)?),
        _ => format!("({})", condition(u, readable, depth + 1)?),
    })
}

fn comparison(u: &mut Gen<'_, '_>, readable: &[(&str, &'static ActionSpec)]) -> Result<String> {
    let outputs: Vec<(&str, &str, ValueType)> = readable
        .iter()
        .flat_map(|(id, action)| action.outputs.iter().map(move |o| (*id, o.name, o.ty)))
        .filter(|(_, _, ty)| matches!(ty, ValueType::String | ValueType::Number | ValueType::Bool))
        .collect();
    let (path, ty) = if !outputs.is_empty() && u.arbitrary()? {
        let (id, output, ty) = u.choose(&outputs)?;
        (format!("steps.{id}.{output}"), *ty)
    } else {
        let (name, ty) = u.choose(INPUTS)?;
        (format!("input.{name}"), *ty)
    };
    if ty == ValueType::Bool && u.arbitrary()? {
        return Ok(path);
    }
    let op = if ty == ValueType::Bool {
        pick(u, &["==", "!="], &["<", ">="])?
    } else {
        *u.choose(&["==", "!=", "<", "<=", ">", ">="])?
    };
    let operand = match ty {
        ValueType::Number => pick(
            u,
            &[
                "0",
                "-12",
                "0.5",
                "1e3",
                "2.5E-3",
                "200",
                "9007199254740991",
                "input.replicas",
            ],
            &["9007199254740992", "007", "1.", "+1", ".5", "'1'"],
        )?
        .to_string(),
        ValueType::Bool => {
            pick(u, &["true", "false", "input.dry_run"], &["1", "'true'"])?.to_string()
        }
        _ => pick(
            u,
            &["'prod'", "\"x\"", "'C:\\temp'", "''", "input.reason", "'é'"],
            &["'${x}'", "'unterminated", "3", "true"],
        )?
        .to_string(),
    };
    Ok(if u.arbitrary()? {
        format!("{path} {op} {operand}")
    } else {
        format!("{operand} {op} {path}")
    })
}
