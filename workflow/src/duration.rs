//! Durations as users write them and as stepback shows them back.
//!
//! Long forms are accepted (`"5 minutes"`, `"1.5h"`, `"5 weeks"`), but every duration is shown in one
//! canonical form of days, hours, minutes and seconds (`35d`, `1h30m`). Months and years are refused: they have
//! no fixed length.

/// Parses `"30s"`, `"15m"`, `"1h30m"`, `"2 weeks"` into whole seconds, rounding up.
pub fn parse(text: &str) -> Result<u64, String> {
    let refused = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|unit| matches!(*unit, "M" | "month" | "months" | "y" | "year" | "years"));
    if let Some(unit) = refused {
        return Err(format!(
            "`{unit}` has no fixed length; use days or weeks (\"35d\", \"5w\")"
        ));
    }
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    Ok(duration.as_secs() + u64::from(duration.subsec_nanos() > 0))
}

/// `90` → `1m30s`, `3_024_000` → `35d`: the one form in which stepback shows a duration.
pub fn format(seconds: u64) -> String {
    let parts = [
        (seconds / 86_400, "d"),
        (seconds % 86_400 / 3600, "h"),
        (seconds % 3600 / 60, "m"),
        (seconds % 60, "s"),
    ];
    let text: String = parts
        .iter()
        .filter(|(value, _)| *value > 0)
        .map(|(value, unit)| format!("{value}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_forms_are_read_and_shown_canonically() {
        let shown = |text: &str| parse(text).map(format);
        assert_eq!(shown("5 weeks"), Ok("35d".to_owned()));
        assert_eq!(shown("5 minutes"), Ok("5m".to_owned()));
        assert_eq!(shown("1.5h"), Ok("1h30m".to_owned()));
        assert_eq!(shown("1d 90s"), Ok("1d1m30s".to_owned()));
        assert_eq!(shown("0s"), Ok("0s".to_owned()));
        assert_eq!(parse("1.5s"), Ok(2), "rounded up");
    }

    #[test]
    fn months_and_years_are_refused() {
        for text in ["1month", "2 months", "1M", "1y", "1 year"] {
            let error = parse(text).expect_err(text);
            assert!(error.contains("no fixed length"), "{text}: {error}");
        }
    }
}
