//! `when` conditions: a recursive-descent parser with spans inside the string, and a type checker. The grammar
//! a user reads is [`GRAMMAR`]; the README's section on `when` quotes it.

use std::ops::Range;

use catalog::ValueType;

use crate::model::{CompareOp, Condition, Operand, Reference};

/// The `when` grammar and its corners, as a user reads it (`README.md` quotes it verbatim; a test keeps the two
/// equal).
pub const GRAMMAR: &str = r#"A `when` condition is a string that decides whether a step runs. Its grammar, loosest first:

    or      = and ("||" and)*
    and     = unary ("&&" unary)*
    unary   = "!" unary | compare
    compare = primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
    primary = path | string | number | "true" | "false" | "(" or ")"
    path    = "input." NAME | "steps." ID "." OUTPUT        (written bare, without ${})

Paths read the execution input and the outputs of the step's ancestors. A bool path alone is a
condition; strings and numbers compare with all six operators, bools only with == and !=, and
both sides of a comparison have the same type. Comparisons do not chain: write `a < b && b < c`.

Strings are quoted with '...' or "..." (single quotes save escaping inside a TOML "..." value).
A string ends at the next quote of its own kind, and there are no escape sequences: a backslash
is an ordinary character, so 'C:\temp' is C:\temp and "a\" is a\. Put a ' inside "..." and a "
inside '...'. A string cannot contain `${`, which deploy-time substitution (CloudFormation's
Fn::Sub, DefinitionSubstitutions) would read as a placeholder; compare with an input instead.
These rules apply to the condition after TOML has read its own escapes: in a TOML "..." value,
`\\` is one backslash.

Numbers are written as in JSON: 3, -12, 0.5, 1e3, 2.5E-3. Refused: a leading `+` (+1), leading
zeros (007), and a `.` without digits on both sides (1., .5). Step Functions compares numbers as
64-bit floating point, which holds every whole number only below 2^53, so a number outside
-9007199254740991..9007199254740991 (2^53 - 1) is refused. Numbers compare by value: 1 == 1.0,
1e3 == 1000 and -0.0 == 0 hold, both when the compiler decides a comparison of two literals and
when Step Functions decides one at run time."#;

/// 2^53 - 1: every whole number up to here is exactly one IEEE 754 double, and no literal beyond it rounds to
/// it, so a literal is refused exactly when its double is beyond it.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

const NUMBER_HELP: &str = "write numbers as in JSON: `3`, `-12`, `0.5`, `1e3`; no `+`, no leading zeros, digits on both sides of `.`";

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Path(Vec<String>),
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Compare(CompareOp),
    And,
    Or,
    Not,
    Open,
    Close,
}

type Spanned<T> = (T, Range<usize>);

/// A syntax or type error: a range inside the condition string and a message, plus an optional help.
#[derive(Debug)]
pub struct ConditionError {
    pub range: Range<usize>,
    pub message: String,
    pub help: Option<String>,
    pub is_type_error: bool,
}

fn syntax(range: Range<usize>, message: impl Into<String>) -> ConditionError {
    ConditionError {
        range,
        message: message.into(),
        help: None,
        is_type_error: false,
    }
}

fn type_error(range: Range<usize>, message: impl Into<String>, help: &str) -> ConditionError {
    ConditionError {
        range,
        message: message.into(),
        help: Some(help.into()),
        is_type_error: true,
    }
}

fn lex(text: &str) -> Result<Vec<Spanned<Token>>, ConditionError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let two = text.get(i..i + 2);
        let token = match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => Token::Open,
            b')' => Token::Close,
            _ if two == Some("&&") => Token::And,
            _ if two == Some("||") => Token::Or,
            _ if two == Some("==") => Token::Compare(CompareOp::Eq),
            _ if two == Some("!=") => Token::Compare(CompareOp::Ne),
            _ if two == Some("<=") => Token::Compare(CompareOp::Le),
            _ if two == Some(">=") => Token::Compare(CompareOp::Ge),
            b'<' => Token::Compare(CompareOp::Lt),
            b'>' => Token::Compare(CompareOp::Gt),
            b'!' => Token::Not,
            quote @ (b'"' | b'\'') => {
                let Some(len) = text[i + 1..].find(quote as char) else {
                    return Err(syntax(i..text.len(), "string is not closed").with_help(
                        "a string ends at the next quote of its kind and has no escapes: put a ' inside \"...\" and a \" inside '...'",
                    ));
                };
                let content = &text[i + 1..i + 1 + len];
                if let Some(at) = content.find("${") {
                    let at = i + 1 + at;
                    return Err(syntax(at..at + 2, "a string in a condition cannot contain `${`")
                        .with_help("deploy-time substitution would read it as a placeholder; compare with an input that holds the text"));
                }
                i += len + 2;
                tokens.push((Token::Str(content.to_owned()), start..i));
                continue;
            }
            b'0'..=b'9' | b'-' => {
                // The whole run that could belong to a number, so `007x` or `1.2.3` is one error.
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || matches!(bytes[i], b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E'))
                {
                    i += 1;
                }
                let number = number(&text[start..i], start..i)?;
                tokens.push((Token::Num(number), start..i));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
                {
                    i += 1;
                }
                let word = &text[start..i];
                let token = match word {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    _ if word.split('.').any(str::is_empty) => {
                        return Err(syntax(start..i, format!("malformed path `{word}`")));
                    }
                    _ => Token::Path(word.split('.').map(str::to_owned).collect()),
                };
                tokens.push((token, start..i));
                continue;
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or_default();
                let help = match c {
                    '+' | '.' => NUMBER_HELP,
                    '=' => "did you mean `==`? a condition compares; it does not assign",
                    '&' => "did you mean `&&`?",
                    '|' => "did you mean `||`?",
                    _ => "conditions use paths, literals, == != < <= > >=, && || ! and parentheses",
                };
                return Err(
                    syntax(i..i + c.len_utf8(), format!("unexpected `{c}`")).with_help(help)
                );
            }
        };
        i += if matches!(token, Token::Open | Token::Close | Token::Not)
            || matches!(token, Token::Compare(CompareOp::Lt | CompareOp::Gt))
        {
            1
        } else {
            2
        };
        tokens.push((token, start..i));
    }
    Ok(tokens)
}

/// A number literal: JSON's number grammar (serde_json parses exactly that), within ±(2^53 - 1). A whole number
/// is kept as an integer, so `1`, `1.0`, `1e0` and `-0.0` are one value (`1` or `0`) wherever it is compared or
/// emitted.
fn number(literal: &str, range: Range<usize>) -> Result<serde_json::Number, ConditionError> {
    let not_a_number =
        || syntax(range.clone(), format!("`{literal}` is not a number")).with_help(NUMBER_HELP);
    // The syntax check alone: serde_json refuses `1e400` as out of range, which the next check reports.
    serde_json::from_str::<serde::de::IgnoredAny>(literal).map_err(|_| not_a_number())?;
    let value: f64 = literal.parse().map_err(|_| not_a_number())?;
    if value.abs() > MAX_SAFE {
        return Err(syntax(
            range.clone(),
            format!("`{literal}` is outside ±9007199254740991, the whole numbers Step Functions' floating-point numbers hold exactly"),
        )
        .with_help("compare with a number within ±(2^53 - 1), or keep a large identifier as a string"));
    }
    if value.fract() == 0.0 {
        // Exact: a whole number within ±(2^53 - 1) converts to i64 without rounding.
        return Ok(serde_json::Number::from(value as i64));
    }
    serde_json::Number::from_f64(value).ok_or_else(not_a_number)
}

impl ConditionError {
    fn with_help(mut self, help: &str) -> ConditionError {
        self.help = Some(help.into());
        self
    }
}

/// The parse tree, before types.
#[derive(Debug)]
enum Expr {
    Or(Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    And(Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    Not(Box<Spanned<Expr>>),
    Compare(CompareOp, Box<Spanned<Expr>>, Box<Spanned<Expr>>),
    Path(Vec<String>),
    Literal(serde_json::Value),
}

struct Parser {
    tokens: Vec<Spanned<Token>>,
    next: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(t, _)| t)
    }

    fn here(&self) -> Range<usize> {
        self.tokens
            .get(self.next)
            .map_or(self.len..self.len, |(_, r)| r.clone())
    }

    fn binary(
        &mut self,
        op: &Token,
        operand: fn(&mut Parser) -> Result<Spanned<Expr>, ConditionError>,
        make: fn(Box<Spanned<Expr>>, Box<Spanned<Expr>>) -> Expr,
    ) -> Result<Spanned<Expr>, ConditionError> {
        let mut left = operand(self)?;
        while self.peek() == Some(op) {
            self.next += 1;
            let right = operand(self)?;
            let range = left.1.start..right.1.end;
            left = (make(Box::new(left), Box::new(right)), range);
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Spanned<Expr>, ConditionError> {
        self.binary(&Token::Or, Parser::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Spanned<Expr>, ConditionError> {
        self.binary(&Token::And, Parser::unary, Expr::And)
    }

    fn unary(&mut self) -> Result<Spanned<Expr>, ConditionError> {
        if self.peek() == Some(&Token::Not) {
            let start = self.here().start;
            self.next += 1;
            let operand = self.unary()?;
            let range = start..operand.1.end;
            return Ok((Expr::Not(Box::new(operand)), range));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Spanned<Expr>, ConditionError> {
        let left = self.primary()?;
        let Some(&Token::Compare(op)) = self.peek() else {
            return Ok(left);
        };
        self.next += 1;
        let right = self.primary()?;
        let range = left.1.start..right.1.end;
        Ok((Expr::Compare(op, Box::new(left), Box::new(right)), range))
    }

    fn primary(&mut self) -> Result<Spanned<Expr>, ConditionError> {
        let range = self.here();
        let Some((token, _)) = self.tokens.get(self.next).cloned() else {
            return Err(syntax(
                range,
                "expected a path or a literal, found the end of the condition",
            ));
        };
        self.next += 1;
        let expr = match token {
            Token::Path(path) => Expr::Path(path),
            Token::Str(s) => Expr::Literal(s.into()),
            Token::Num(n) => Expr::Literal(n.into()),
            Token::Bool(b) => Expr::Literal(b.into()),
            Token::Open => {
                let (inner, _) = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(
                        syntax(self.here(), "expected `)`").with_help("close the `(` opened here")
                    );
                }
                self.next += 1;
                return Ok((inner, range.start..self.tokens[self.next - 1].1.end));
            }
            other => {
                return Err(syntax(
                    range,
                    format!("expected a path or a literal, found {}", describe(&other)),
                ));
            }
        };
        Ok((expr, range))
    }
}

fn describe(token: &Token) -> &'static str {
    match token {
        Token::Compare(_) => "a comparison",
        Token::And => "`&&`",
        Token::Or => "`||`",
        Token::Not => "`!`",
        Token::Open => "`(`",
        Token::Close => "`)`",
        Token::Path(_) | Token::Str(_) | Token::Num(_) | Token::Bool(_) => "a value",
    }
}

/// Resolves a path to a reference and its type, reporting its own diagnostic when it cannot.
pub type Resolve<'r> = dyn FnMut(&[String], Range<usize>) -> Option<(Reference, ValueType)> + 'r;

/// Parses and type-checks a condition. `Ok(None)` means a path failed to resolve (already reported).
pub fn parse(text: &str, resolve: &mut Resolve<'_>) -> Result<Option<Condition>, ConditionError> {
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Err(syntax(0..text.len(), "condition is empty"));
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        len: text.len(),
    };
    let expr = parser.or()?;
    if parser.next < parser.tokens.len() {
        return Err(syntax(
            parser.here(),
            format!(
                "unexpected {} after the condition",
                describe(&parser.tokens[parser.next].0)
            ),
        )
        .with_help("join conditions with `&&` or `||`"));
    }
    lower(&expr, resolve)
}

fn lower(
    expr: &Spanned<Expr>,
    resolve: &mut Resolve<'_>,
) -> Result<Option<Condition>, ConditionError> {
    let (node, range) = expr;
    Ok(match node {
        Expr::Or(a, b) | Expr::And(a, b) => {
            let (a, b) = (lower(a, resolve)?, lower(b, resolve)?);
            let (Some(a), Some(b)) = (a, b) else {
                return Ok(None);
            };
            let (a, b) = (Box::new(a), Box::new(b));
            Some(if matches!(node, Expr::Or(..)) {
                Condition::Or(a, b)
            } else {
                Condition::And(a, b)
            })
        }
        Expr::Not(inner) => lower(inner, resolve)?.map(|c| Condition::Not(Box::new(c))),
        Expr::Literal(serde_json::Value::Bool(b)) => Some(Condition::Literal(*b)),
        Expr::Literal(value) => {
            return Err(type_error(
                range.clone(),
                format!("`{value}` is not a condition"),
                "a condition is a bool path, a comparison, or a combination with && || !",
            ));
        }
        Expr::Path(path) => {
            let Some((reference, ty)) = resolve(path, range.clone()) else {
                return Ok(None);
            };
            if ty != ValueType::Bool {
                return Err(type_error(
                    range.clone(),
                    format!("`{reference}` is a {}, not a bool", ty.name()),
                    "compare it with a value, e.g. `input.x == \"...\"`",
                ));
            }
            Some(Condition::IsTrue(reference))
        }
        Expr::Compare(op, left, right) => {
            let (Some((left, left_ty)), Some((right, right_ty))) =
                (operand(left, resolve)?, operand(right, resolve)?)
            else {
                return Ok(None);
            };
            if left_ty != right_ty {
                return Err(type_error(
                    range.clone(),
                    format!(
                        "cannot compare a {} with a {}",
                        left_ty.name(),
                        right_ty.name()
                    ),
                    "both sides of a comparison must have the same type",
                ));
            }
            let ordered = !matches!(op, CompareOp::Eq | CompareOp::Ne);
            if left_ty == ValueType::Bool && ordered
                || !matches!(
                    left_ty,
                    ValueType::Bool | ValueType::Number | ValueType::String
                )
            {
                return Err(type_error(
                    range.clone(),
                    format!("a {} cannot be compared with this operator", left_ty.name()),
                    "strings and numbers can be ordered; bools only tested with == and !=",
                ));
            }
            Some(Condition::Compare {
                op: *op,
                left,
                right,
                ty: left_ty,
            })
        }
    })
}

fn operand(
    expr: &Spanned<Expr>,
    resolve: &mut Resolve<'_>,
) -> Result<Option<(Operand, ValueType)>, ConditionError> {
    let (node, range) = expr;
    Ok(match node {
        Expr::Path(path) => resolve(path, range.clone()).map(|(r, ty)| (Operand::Path(r), ty)),
        Expr::Literal(value) => {
            let ty = match value {
                serde_json::Value::Bool(_) => ValueType::Bool,
                serde_json::Value::Number(_) => ValueType::Number,
                _ => ValueType::String,
            };
            Some((Operand::Literal(value.clone()), ty))
        }
        _ => {
            return Err(type_error(
                range.clone(),
                "only a path or a literal can be compared",
                "parenthesise the comparison, e.g. `(a == 1) && b`",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        let mut resolve = |path: &[String], _: Range<usize>| {
            let ty = match path.last().map(String::as_str) {
                Some("flag" | "other") => ValueType::Bool,
                Some("count") => ValueType::Number,
                Some("items") => ValueType::StringList,
                _ => ValueType::String,
            };
            Some((Reference::Input(path.join(".")), ty))
        };
        let actual = match parse(text, &mut resolve) {
            Ok(condition) => format!("{condition:?}"),
            Err(e) => format!(
                "{}error {:?} {}",
                if e.is_type_error { "type " } else { "" },
                e.range,
                e.message
            ),
        };
        assert_eq!(actual, expect, "{text}");
    }

    #[test]
    fn parses_and_types() {
        check("flag", r#"Some(IsTrue(Input("flag")))"#);
        check(
            "flag && !other || count >= 2",
            r#"Some(Or(And(IsTrue(Input("flag")), Not(IsTrue(Input("other")))), Compare { op: Ge, left: Path(Input("count")), right: Literal(Number(2)), ty: Number }))"#,
        );
        check(
            "!(flag || other)",
            r#"Some(Not(Or(IsTrue(Input("flag")), IsTrue(Input("other")))))"#,
        );
        check(
            "name == 'x'",
            r#"Some(Compare { op: Eq, left: Path(Input("name")), right: Literal(String("x")), ty: String })"#,
        );
        check(
            "name && true",
            "type error 0..4 `input.name` is a string, not a bool",
        );
        check(
            "count == 'x'",
            "type error 0..12 cannot compare a number with a string",
        );
        check(
            "flag < true",
            "type error 0..11 a bool cannot be compared with this operator",
        );
        check(
            "items == 'x'",
            "type error 0..12 cannot compare a list with a string",
        );
        check(
            "flag &&",
            "error 7..7 expected a path or a literal, found the end of the condition",
        );
        check("(flag", "error 5..5 expected `)`");
        check(
            "flag other",
            "error 5..10 unexpected a value after the condition",
        );
        check("flag = 1", "error 5..6 unexpected `=`");
        check("'open", "error 0..5 string is not closed");
        check("", "error 0..0 condition is empty");
    }

    #[test]
    fn strings_have_two_quotes_and_no_escapes() {
        check(
            r#"name == "it's""#,
            r#"Some(Compare { op: Eq, left: Path(Input("name")), right: Literal(String("it's")), ty: String })"#,
        );
        check(
            r#"name == "a\""#,
            r#"Some(Compare { op: Eq, left: Path(Input("name")), right: Literal(String("a\\")), ty: String })"#,
        );
        // `'it\'` is a whole string, so the `'` after `s` opens another.
        check(r"name == 'it\'s'", "error 14..15 string is not closed");
        check(
            "name == 'echo ${PATH}'",
            "error 14..16 a string in a condition cannot contain `${`",
        );
    }

    #[test]
    fn numbers_are_json_numbers_within_the_safe_integers() {
        let literal = |text: &str| format!("count == {text}");
        let number = |n: &str| {
            format!(
                "Some(Compare {{ op: Eq, left: Path(Input(\"count\")), right: Literal(Number({n})), ty: Number }})"
            )
        };
        for (text, value) in [
            ("1", "1"),
            ("1.0", "1"),
            ("1e0", "1"),
            ("-0.0", "0"),
            ("1e3", "1000"),
            ("2.5E-3", "0.0025"),
            ("-12.5", "-12.5"),
            ("9007199254740991", "9007199254740991"),
            ("-9007199254740991", "-9007199254740991"),
        ] {
            check(&literal(text), &number(value));
        }
        for text in ["1.", "007", "1.2.3", "1e", "-", "0x10", "12abc"] {
            check(
                &literal(text),
                &format!("error 9..{} `{text}` is not a number", 9 + text.len()),
            );
        }
        check(&literal("+1"), "error 9..10 unexpected `+`");
        check(&literal(".5"), "error 9..10 unexpected `.`");
        for text in ["9007199254740992", "9007199254740993", "1e16", "-1e400"] {
            check(
                &literal(text),
                &format!(
                    "error 9..{} `{text}` is outside ±9007199254740991, the whole numbers Step Functions' floating-point numbers hold exactly",
                    9 + text.len()
                ),
            );
        }
    }
}
