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

fn constant(op: CompareOp, a: &Json, b: &Json) -> Result<Folded, String> {
    use std::cmp::Ordering;
    let ordering = match (a, b) {
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        (Json::Number(x), Json::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        _ => None,
    };
    let holds = match (op, ordering) {
        (CompareOp::Eq, _) => a == b,
        (CompareOp::Ne, _) => a != b,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (_, None) => return Err(format!("cannot order {a} and {b}")),
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
