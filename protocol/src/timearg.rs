//! Times as users write them on the command line and in API queries: RFC 3339
//! (`2026-11-26T08:00:00Z`), a date (`2026-11-26`, midnight UTC), `now`, or a time relative to
//! now (`-24h`, `7d`, `30m`: that long ago; units s, m, h, d, w).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Parses `text` into epoch milliseconds, relative forms counted back from `now_ms`.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_time_arg(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    let hint = "use RFC 3339 (2026-11-26T08:00:00Z), a date (2026-11-26), `now`, or a relative \
                time such as -24h or 7d";
    if text.eq_ignore_ascii_case("now") {
        return Ok(now_ms);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| format!("`{text}` is out of range"));
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc().unix_timestamp() * 1000);
    }
    let body = text.strip_prefix('-').unwrap_or(text);
    let split = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let (digits, unit) = body.split_at(split);
    let amount: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a time; {hint}"))?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(format!("`{text}` is not a time; {hint}")),
    };
    amount
        .checked_mul(unit_ms)
        .and_then(|ago| now_ms.checked_sub(ago))
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
    }

    #[test]
    fn nonsense_names_the_forms() {
        for bad in ["yesterday", "-5x", "", "2026-13-01", "h"] {
            let err = parse_time_arg(bad, NOW).unwrap_err();
            assert!(
                err.contains("RFC 3339") || err.contains("range"),
                "{bad}: {err}"
            );
        }
    }
}
