//! Times on the command line, as the server reads them: RFC 3339, a date (`2026-11-26`,
//! midnight UTC), `now`, or relative (`-24h`, `7d`, `30m`: that long ago). Relative times are
//! fixed here, when the command runs, and sent to the server as RFC 3339.

use std::time::{SystemTime, UNIX_EPOCH};

/// Epoch ms now.
#[must_use]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

/// RFC 3339 (UTC, milliseconds) of epoch ms.
#[must_use]
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A command-line time as RFC 3339.
///
/// # Errors
/// The accepted forms, when `text` is none of them.
pub fn absolute(text: &str) -> Result<String, String> {
    idlewatch_protocol::parse_time_arg(text, now_ms()).map(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339(1_795_680_000_250), "2026-11-26T08:00:00.250Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(absolute("2026-11-26").unwrap(), "2026-11-26T00:00:00.000Z");
        assert!(absolute("yesterday").unwrap_err().contains("RFC 3339"));
        let ago = absolute("-24h").unwrap();
        assert_eq!(
            ago,
            rfc3339(idlewatch_protocol::parse_time_arg(&ago, 0).unwrap())
        );
    }
}
