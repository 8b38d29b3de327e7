//! `${...}` references inside strings. `$${` writes a literal `${`, e.g. for a shell variable.

use std::ops::Range;

#[derive(Debug, PartialEq)]
pub enum RawSegment {
    Text(String),
    /// The dotted path, and its range inside the string (`${` to `}`).
    Ref(Vec<String>, Range<usize>),
}

/// Splits a string into text and references. The error is a range inside the string and a message.
pub fn parse(text: &str) -> Result<Vec<RawSegment>, (Range<usize>, String)> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("${") {
        let open = rest + found;
        if text[..open].ends_with('$') {
            // `$${`: an escaped `${`; keep one `$`.
            literal.push_str(&text[rest..open]);
            literal.push('{');
            rest = open + 2;
            continue;
        }
        literal.push_str(&text[rest..open]);
        let Some(len) = text[open..].find('}') else {
            return Err((open..text.len(), "reference is not closed".into()));
        };
        let close = open + len + 1;
        let inner = &text[open + 2..close - 1];
        let path: Vec<String> = inner.split('.').map(str::to_owned).collect();
        if path.iter().any(|part| {
            part.is_empty() || !part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            return Err((open..close, format!("malformed reference `${{{inner}}}`")));
        }
        if !literal.is_empty() {
            segments.push(RawSegment::Text(std::mem::take(&mut literal)));
        }
        segments.push(RawSegment::Ref(path, open..close));
        rest = close;
    }
    literal.push_str(&text[rest..]);
    if !literal.is_empty() {
        segments.push(RawSegment::Text(literal));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        let actual = match parse(text) {
            Ok(segments) => segments
                .iter()
                .map(|s| match s {
                    RawSegment::Text(t) => format!("text {t:?}"),
                    RawSegment::Ref(path, range) => format!("ref {} {range:?}", path.join(".")),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err((range, message)) => format!("error {range:?} {message}"),
        };
        assert_eq!(actual, expect);
    }

    #[test]
    fn templates() {
        check("plain", "text \"plain\"");
        check("${input.a}", "ref input.a 0..10");
        check("v${input.a}!", "text \"v\"\nref input.a 1..11\ntext \"!\"");
        check(
            "echo $${HOME} ${execution.name}",
            "text \"echo ${HOME} \"\nref execution.name 14..31",
        );
        check("x ${input.a", "error 2..11 reference is not closed");
        check(
            "${input..a}",
            "error 0..11 malformed reference `${input..a}`",
        );
        check(
            "${ input.a }",
            "error 0..12 malformed reference `${ input.a }`",
        );
    }
}
