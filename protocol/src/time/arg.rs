//! Times as users write them on the command line and in API queries: RFC 3339
//! (`2026-11-26T08:00:00Z`), a date (`2026-11-26`, midnight UTC), `now`, or a time relative to
//! now (`-24h`, `7d`, `30m`: that long ago; units s, m, h, d, w, days of 24 hours).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, SpanRelativeTo, Timestamp};

const HINT: &str = "use RFC 3339 (2026-11-26T08:00:00Z), a date (2026-11-26), `now`, or a \
                    relative time such as -24h or 7d";

/// Parses `text` into epoch milliseconds, relative forms counted back from `now_ms`.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_time_arg(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now_ms);
    }
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at.as_millisecond());
    }
    if let Ok(date) = text.parse::<Date>() {
        return date
            .to_zoned_datetime(TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| format!("`{text}` is out of range"));
    }
    // A relative time: "24h" and "-24h" both mean that long ago.
    let body = text.strip_prefix('-').unwrap_or(text);
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`{text}` is not a time; {HINT}"));
    }
    let span: Span = body
        .parse()
        .map_err(|_| format!("`{text}` is not a time; {HINT}"))?;
    let ago = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("`{text}` is not a time; {HINT}"))?;
    i64::try_from(ago.as_millis())
        .ok()
        .and_then(|ms| now_ms.checked_sub(ms))
        .ok_or_else(|| format!("`{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_680_000_000; // 2026-11-26T08:00:00Z

    #[test]
    fn every_form_parses() {
        assert_eq!(parse_time_arg("2026-11-26T08:00:00Z", 0), Ok(NOW));
        assert_eq!(parse_time_arg("2026-11-26", 0), Ok(NOW - 8 * 3_600_000));
        assert_eq!(parse_time_arg("now", NOW), Ok(NOW));
        assert_eq!(parse_time_arg("-24h", NOW), Ok(NOW - 86_400_000));
        assert_eq!(parse_time_arg("7d", NOW), Ok(NOW - 7 * 86_400_000));
        assert_eq!(parse_time_arg("30m", NOW), Ok(NOW - 1_800_000));
        assert_eq!(parse_time_arg("30min", NOW), Ok(NOW - 1_800_000));
        assert_eq!(parse_time_arg("2w", NOW), Ok(NOW - 14 * 86_400_000));
    }

    #[test]
    fn nonsense_names_the_forms() {
        for bad in ["yesterday", "-5x", "", "2026-13-01", "h", "1mo", "--5h"] {
            let err = parse_time_arg(bad, NOW).unwrap_err();
            assert!(
                err.contains("RFC 3339") || err.contains("range"),
                "{bad}: {err}"
            );
        }
    }
}
