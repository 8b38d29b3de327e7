//! `when` conditions to Choice rules. Constant parts fold away at compile time, since ASL has no constant rule.

use catalog::ValueType;
use serde_json::Value as Json;
use workflow::model::{CompareOp, Condition, Operand, Reference};

use crate::asl::{self, Comparison, Rule, Test, TypeTest};
use crate::payload::path;

/// A condition after folding its constants.
#[derive(Clone, Debug, PartialEq)]
pub enum Folded {
    Always,
    Never,
    Rule(Rule),
}

pub fn lower(condition: &Condition) -> Result<Folded, String> {
    Ok(match condition {
        Condition::Literal(true) => Folded::Always,
        Condition::Literal(false) => Folded::Never,
        Condition::IsTrue(reference) => Folded::Rule(guarded(
            reference,
            None,
            test(
                reference,
                Test::Compare(
                    Comparison::BooleanEquals,
                    asl::Operand::Literal(Json::Bool(true)),
                ),
            ),
        )),
        Condition::Not(inner) => match lower(inner)? {
            Folded::Always => Folded::Never,
            Folded::Never => Folded::Always,
            Folded::Rule(Rule::Not(rule)) => Folded::Rule(*rule),
            Folded::Rule(rule) => Folded::Rule(Rule::Not(Box::new(rule))),
        },
        Condition::And(a, b) => match (lower(a)?, lower(b)?) {
            (Folded::Never, _) | (_, Folded::Never) => Folded::Never,
            (Folded::Always, other) | (other, Folded::Always) => other,
            (Folded::Rule(a), Folded::Rule(b)) => Folded::Rule(Rule::And(flatten(a, b, true))),
        },
        Condition::Or(a, b) => match (lower(a)?, lower(b)?) {
            (Folded::Always, _) | (_, Folded::Always) => Folded::Always,
            (Folded::Never, other) | (other, Folded::Never) => other,
            (Folded::Rule(a), Folded::Rule(b)) => Folded::Rule(Rule::Or(flatten(a, b, false))),
        },
        Condition::Compare {
            op,
            left,
            right,
            ty,
        } => compare(*op, left, right, *ty)?,
    })
}

fn flatten(a: Rule, b: Rule, and: bool) -> Vec<Rule> {
    let mut out = Vec::new();
    for rule in [a, b] {
        match rule {
            Rule::And(inner) if and => out.extend(inner),
            Rule::Or(inner) if !and => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

fn test(reference: &Reference, test: Test) -> Rule {
    Rule::Test {
        variable: path(reference),
        test,
    }
}

/// A step's output is absent when that step was skipped or failed with `continue_on_error`; comparing an
/// absent path is a runtime error, so such comparisons first test `IsPresent`. Inputs are always present once
/// normalised.
fn guarded(reference: &Reference, other: Option<&Reference>, rule: Rule) -> Rule {
    let mut presence: Vec<Rule> = [Some(reference), other]
        .into_iter()
        .flatten()
        .filter(|r| matches!(r, Reference::StepOutput { .. }))
        .map(|r| test(r, Test::Is(TypeTest::IsPresent, true)))
        .collect();
    if presence.is_empty() {
        return rule;
    }
    presence.push(rule);
    Rule::And(presence)
}

fn compare(
    op: CompareOp,
    left: &Operand,
    right: &Operand,
    ty: ValueType,
) -> Result<Folded, String> {
    let (reference, operand, op, other) = match (left, right) {
        (Operand::Literal(a), Operand::Literal(b)) => return constant(op, a, b),
        (Operand::Path(r), Operand::Literal(v)) => (r, asl::Operand::Literal(v.clone()), op, None),
        (Operand::Literal(v), Operand::Path(r)) => {
            (r, asl::Operand::Literal(v.clone()), mirror(op), None)
        }
        (Operand::Path(a), Operand::Path(b)) => (a, asl::Operand::Path(path(b)), op, Some(b)),
    };
    let (comparison, negate) = comparison(op, ty)?;
    let rule = guarded(
        reference,
        other,
        test(reference, Test::Compare(comparison, operand)),
    );
    Ok(Folded::Rule(if negate {
        Rule::Not(Box::new(rule))
    } else {
        rule
    }))
}

/// `a < b` is `b > a`.
fn mirror(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        same => same,
    }
}

/// The ASL operator, and whether the rule must be negated (ASL has no "not equals").
fn comparison(op: CompareOp, ty: ValueType) -> Result<(Comparison, bool), String> {
    use Comparison as C;
    let by_type = match ty {
        ValueType::String => [
            C::StringEquals,
            C::StringLessThan,
            C::StringLessThanEquals,
            C::StringGreaterThan,
            C::StringGreaterThanEquals,
        ],
        ValueType::Number => [
            C::NumericEquals,
            C::NumericLessThan,
            C::NumericLessThanEquals,
            C::NumericGreaterThan,
            C::NumericGreaterThanEquals,
        ],
        ValueType::Bool if matches!(op, CompareOp::Eq | CompareOp::Ne) => [C::BooleanEquals; 5],
        other => {
            return Err(format!(
                "cannot compare {} values with `{op:?}`",
                other.name()
            ));
        }
    };
    Ok(match op {
        CompareOp::Eq => (by_type[0], false),
        CompareOp::Ne => (by_type[0], true),
        CompareOp::Lt => (by_type[1], false),
        CompareOp::Le => (by_type[2], false),
        CompareOp::Gt => (by_type[3], false),
        CompareOp::Ge => (by_type[4], false),
    })
}

/// Decides a comparison of two literals the way the emitted rule would: numbers by value (ASL's `NumericEquals`
/// and friends compare numbers, so `1 == 1.0`), strings by their characters, bools only for (in)equality.
fn constant(op: CompareOp, a: &Json, b: &Json) -> Result<Folded, String> {
    use std::cmp::Ordering;
    let ordering = match (a, b) {
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        (Json::Number(x), Json::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        (Json::Bool(x), Json::Bool(y)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            Some(if x == y {
                Ordering::Equal
            } else {
                Ordering::Less
            })
        }
        _ => None,
    };
    let Some(ordering) = ordering else {
        return Err(format!("cannot compare {a} and {b} with `{op:?}`"));
    };
    let holds = match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    };
    Ok(if holds { Folded::Always } else { Folded::Never })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> Reference {
        Reference::Input(name.to_owned())
    }

    #[test]
    fn constants_fold_and_not_equals_negates() {
        let c = Condition::And(
            Box::new(Condition::Literal(true)),
            Box::new(Condition::IsTrue(input("x"))),
        );
        let expected = Rule::Test {
            variable: "$.input.x".to_owned(),
            test: Test::Compare(
                Comparison::BooleanEquals,
                asl::Operand::Literal(Json::Bool(true)),
            ),
        };
        assert_eq!(lower(&c), Ok(Folded::Rule(expected)));
        let ne = Condition::Compare {
            op: CompareOp::Ne,
            left: Operand::Literal(Json::from("a")),
            right: Operand::Path(input("s")),
            ty: ValueType::String,
        };
        let Ok(Folded::Rule(Rule::Not(_))) = lower(&ne) else {
            panic!("expected a negated rule: {:?}", lower(&ne))
        };
        let never = Condition::Compare {
            op: CompareOp::Lt,
            left: Operand::Literal(Json::from(2)),
            right: Operand::Literal(Json::from(1)),
            ty: ValueType::Number,
        };
        assert_eq!(lower(&never), Ok(Folded::Never));
    }
}

/// The folding of two literals agrees with the Choice rule the compiler emits for the same values.
#[cfg(test)]
mod agreement {
    use proptest::prelude::*;
    use serde_json::{Value as Json, json};

    use super::{Folded, lower};

    const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

    /// A workflow with inputs `x` and `y` of type `ty` and one step run `when`; the step's condition, lowered.
    fn lowered(ty: &str, when: &str) -> Folded {
        let source = format!(
            r#"version = 1
name = "agreement"
[input]
x = {{ type = "{ty}" }}
y = {{ type = "{ty}" }}
[steps.s]
action = "notify"
topic = "arn:aws:sns:us-east-1:123456789012:t"
message = "m"
when = "{when}"
"#
        );
        let checked = workflow::check(&source);
        let Some(condition) = checked
            .workflow
            .and_then(|w| w.steps.into_iter().next())
            .and_then(|s| s.when)
        else {
            panic!("`{when}` does not check: {:#?}", checked.diagnostics);
        };
        lower(&condition).unwrap_or_else(|e| panic!("`{when}` does not lower: {e}"))
    }

    /// `$.a.b` in `state`.
    fn lookup<'s>(state: &'s Json, path: &str) -> Option<&'s Json> {
        path.strip_prefix("$.")?
            .split('.')
            .try_fold(state, |value, field| value.get(field))
    }

    /// An ASL Choice rule decided by the States Language specification's rules: `Numeric*` compare numbers by
    /// value, `String*` compare strings, `BooleanEquals` bools; a comparison with a value of another type is
    /// false; a `...Path` operator compares with the value at that path.
    fn decide(rule: &Json, state: &Json) -> bool {
        if let Some(rules) = rule.get("And").and_then(Json::as_array) {
            return rules.iter().all(|r| decide(r, state));
        }
        if let Some(rules) = rule.get("Or").and_then(Json::as_array) {
            return rules.iter().any(|r| decide(r, state));
        }
        if let Some(inner) = rule.get("Not") {
            return !decide(inner, state);
        }
        let variable = lookup(state, rule["Variable"].as_str().unwrap_or_default());
        let Some((operator, operand)) = rule
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| *k != "Variable"))
        else {
            panic!("not a rule: {rule}");
        };
        if operator == "IsPresent" {
            return variable.is_some() == (operand == &Json::Bool(true));
        }
        let (operator, expected) = match operator.strip_suffix("Path") {
            Some(op) => (op, lookup(state, operand.as_str().unwrap_or_default())),
            None => (operator.as_str(), Some(operand)),
        };
        let (Some(actual), Some(expected)) = (variable, expected) else {
            panic!("{rule} reads a path that is absent in {state}");
        };
        use std::cmp::Ordering::*;
        let ordering = match (operator, actual, expected) {
            (op, Json::Number(a), Json::Number(b)) if op.starts_with("Numeric") => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b)),
            (op, Json::String(a), Json::String(b)) if op.starts_with("String") => Some(a.cmp(b)),
            ("BooleanEquals", Json::Bool(a), Json::Bool(b)) => {
                return a == b;
            }
            _ => return false,
        };
        let Some(ordering) = ordering else {
            return false;
        };
        match operator
            .trim_start_matches("Numeric")
            .trim_start_matches("String")
        {
            "Equals" => ordering == Equal,
            "LessThan" => ordering == Less,
            "LessThanEquals" => ordering != Greater,
            "GreaterThan" => ordering == Greater,
            "GreaterThanEquals" => ordering != Less,
            other => panic!("unknown operator {other}"),
        }
    }

    fn decided(folded: &Folded, state: &Json) -> bool {
        match folded {
            Folded::Always => true,
            Folded::Never => false,
            Folded::Rule(rule) => decide(&json!(rule), state),
        }
    }

    /// For literals `a` and `b` (their source text and the JSON value an execution input would carry): `a op b`
    /// folds to what the rules for `input.x op b`, `a op input.y` and `input.x op input.y` decide at run time.
    fn agree(ty: &str, ops: &[&str], (a, a_value): (&str, Json), (b, b_value): (&str, Json)) {
        let state = json!({ "input": { "x": a_value, "y": b_value } });
        for op in ops {
            let folded = lowered(ty, &format!("{a} {op} {b}"));
            assert!(
                !matches!(folded, Folded::Rule(_)),
                "`{a} {op} {b}` is not folded"
            );
            let expected = decided(&folded, &state);
            for when in [
                format!("input.x {op} {b}"),
                format!("{a} {op} input.y"),
                format!("input.x {op} input.y"),
            ] {
                let rule = lowered(ty, &when);
                assert_eq!(
                    decided(&rule, &state),
                    expected,
                    "`{a} {op} {b}` folds to {expected}, but the rule for `{when}` decides otherwise with {state}: {rule:?}"
                );
            }
        }
    }

    /// Number literals: a small value `n / 10^k`, spelled one of the ways JSON allows (extra trailing zeros, an
    /// exponent, a sign), so one value often meets another spelling of itself: `1`, `1.0`, `10e-1`, `-0.0`,
    /// `0.10e1`.
    fn number() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            0u64..20,
            0u32..2,
            0u32..3,
            -2i32..=2,
            any::<bool>(),
        )
            .prop_map(|(negative, n, k, zeros, exponent, explicit)| {
                // The value is n / 10^k; written as mantissa × 10^exponent with `zeros` extra trailing zeros.
                let digits = n * 10u64.pow(zeros);
                let scale = i64::from(k + zeros) + i64::from(exponent);
                let mut mantissa = if scale < 0 && digits == 0 {
                    "0".to_owned()
                } else if scale < 0 {
                    format!("{digits}{}", "0".repeat(scale.unsigned_abs() as usize))
                } else {
                    let scale = scale as usize;
                    let padded = format!("{digits:0width$}", width = scale + 1);
                    let (int, frac) = padded.split_at(padded.len() - scale);
                    if frac.is_empty() {
                        int.to_owned()
                    } else {
                        format!("{int}.{frac}")
                    }
                };
                if negative {
                    mantissa.insert(0, '-');
                }
                if exponent != 0 || explicit {
                    mantissa.push_str(&format!("e{exponent}"));
                }
                mantissa
            })
    }

    proptest! {
        #[test]
        fn numbers(a in number(), b in number()) {
            let value = |text: &str| serde_json::from_str::<Json>(text).expect("a JSON number");
            agree("number", &OPS, (&a, value(&a)), (&b, value(&b)));
        }

        #[test]
        fn strings(a in "[ab]{0,3}", b in "[ab]{0,3}") {
            agree("string", &OPS, (&format!("'{a}'"), json!(a)), (&format!("'{b}'"), json!(b)));
        }

        #[test]
        fn bools(a in any::<bool>(), b in any::<bool>()) {
            agree("bool", &OPS[..2], (&a.to_string(), json!(a)), (&b.to_string(), json!(b)));
        }
    }

    /// The cases the issue found: two spellings of one number, alone and inside a larger condition.
    #[test]
    fn spellings_of_one_number_are_equal() {
        for when in [
            "1 == 1.0",
            "10 == 10.0",
            "0 == 0.0",
            "-0.0 == 0",
            "9.0 == 9",
            "1 <= 1.0",
            "1 >= 1.0",
            "1e3 == 1000",
        ] {
            assert_eq!(lowered("number", when), Folded::Always, "{when}");
        }
        assert_eq!(lowered("number", "1 != 1.0"), Folded::Never);
        assert_eq!(
            lowered("number", "1 == 1.0 || input.x == 1"),
            Folded::Always
        );
    }
}
