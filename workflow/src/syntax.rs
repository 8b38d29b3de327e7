//! Reading the spanned TOML tree: typed accessors that report a diagnostic instead of failing, so that one
//! run finds every problem. (serde into `Spanned` structs stops at the first error, hence this tree walk.)

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::{Diagnostic, codes};

pub use crate::duration::parse as duration_secs;

pub type Span = Range<usize>;
pub type Node<'i> = Spanned<DeValue<'i>>;

/// Collects diagnostics; every stage writes into one.
#[derive(Default)]
pub struct Sink {
    pub diagnostics: Vec<Diagnostic>,
}

impl Sink {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

pub fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a bool",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

pub use catalog::closest;

pub fn did_you_mean<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// A TOML table with its span, and the keys that have been read from it.
pub struct Table<'a, 'i> {
    pub table: &'a DeTable<'i>,
    pub span: Span,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn of(node: &'a Node<'i>, what: &str, sink: &mut Sink) -> Option<Table<'a, 'i>> {
        match node.get_ref() {
            DeValue::Table(table) => Some(Table {
                table,
                span: node.span(),
            }),
            other => {
                sink.push(codes::wrong_type(node.span(), what, "a table", kind(other)));
                None
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Node<'i>> {
        self.table.get(key)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&'a str, Span, &'a Node<'i>)> {
        self.table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
    }

    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.table.get_key_value(key).map(|(k, _)| k.span())
    }

    /// Reports every key not in `allowed`.
    pub fn deny_unknown(&self, allowed: &[&str], context: &str, sink: &mut Sink) {
        for (key, span, _) in self.entries() {
            if !allowed.contains(&key) {
                let suggestion = did_you_mean(key, allowed.iter().copied());
                sink.push(codes::unknown_key(span, key, context, suggestion, allowed));
            }
        }
    }

    pub fn string(&self, key: &str, context: &str, sink: &mut Sink) -> Option<(&'a str, Span)> {
        let node = self.get(key)?;
        match node.get_ref() {
            DeValue::String(s) => Some((s.as_ref(), node.span())),
            other => {
                sink.push(codes::wrong_type(
                    node.span(),
                    &format!("`{key}` in {context}"),
                    "a string",
                    kind(other),
                ));
                None
            }
        }
    }

    pub fn bool(&self, key: &str, context: &str, sink: &mut Sink) -> Option<(bool, Span)> {
        let node = self.get(key)?;
        match node.get_ref() {
            DeValue::Boolean(b) => Some((*b, node.span())),
            other => {
                sink.push(codes::wrong_type(
                    node.span(),
                    &format!("`{key}` in {context}"),
                    "a bool",
                    kind(other),
                ));
                None
            }
        }
    }

    pub fn number(&self, key: &str, context: &str, sink: &mut Sink) -> Option<(f64, Span)> {
        let node = self.get(key)?;
        match number(node.get_ref()) {
            Some(n) => Some((n, node.span())),
            None => {
                sink.push(codes::wrong_type(
                    node.span(),
                    &format!("`{key}` in {context}"),
                    "a number",
                    kind(node.get_ref()),
                ));
                None
            }
        }
    }

    /// An array of strings, each with its span.
    pub fn strings(
        &self,
        key: &str,
        context: &str,
        sink: &mut Sink,
    ) -> Option<Vec<(&'a str, Span)>> {
        let node = self.get(key)?;
        let what = format!("`{key}` in {context}");
        let DeValue::Array(items) = node.get_ref() else {
            sink.push(codes::wrong_type(
                node.span(),
                &what,
                "an array of strings",
                kind(node.get_ref()),
            ));
            return None;
        };
        let mut strings = Vec::with_capacity(items.len());
        for item in items {
            match item.get_ref() {
                DeValue::String(s) => strings.push((s.as_ref(), item.span())),
                other => sink.push(codes::wrong_type(
                    item.span(),
                    &format!("each item of {what}"),
                    "a string",
                    kind(other),
                )),
            }
        }
        Some(strings)
    }
}

/// A TOML integer or float as f64; `None` for other kinds and non-finite floats.
pub fn number(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|i| i as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A TOML integer or float as JSON, keeping integers integral.
pub fn json_number(value: &DeValue<'_>) -> Option<serde_json::Value> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(serde_json::Value::from),
        DeValue::Float(_) => number(value)
            .and_then(serde_json::Number::from_f64)
            .map(serde_json::Value::Number),
        _ => None,
    }
}

/// Maps offsets inside a string value to offsets in the source. Exact when the string is written without
/// escapes; otherwise every span is the whole string.
#[derive(Clone, Debug)]
pub struct StrSpans {
    whole: Span,
    base: Option<usize>,
}

impl StrSpans {
    pub fn new(source: &str, whole: Span, value: &str) -> StrSpans {
        let raw = source.get(whole.clone()).unwrap_or_default();
        let base = [3, 1].into_iter().find_map(|quote| {
            let inner = raw.get(quote..raw.len().checked_sub(quote)?)?;
            (inner == value && raw.len() >= 2 * quote).then_some(whole.start + quote)
        });
        StrSpans { whole, base }
    }

    pub fn at(&self, range: Range<usize>) -> Span {
        match self.base {
            Some(base) => base + range.start..base + range.end,
            None => self.whole.clone(),
        }
    }
}

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
