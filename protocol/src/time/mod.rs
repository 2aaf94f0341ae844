//! Time, in one place and on one crate (jiff): the clock (`now_ms`), RFC 3339 text of epoch
//! milliseconds as every API answer writes it, times as users type them
//! ([`parse_time_arg`]) and durations as config files and flags give them ([`duration`]).

mod arg;
pub mod duration;

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

pub use arg::parse_time_arg;

/// Milliseconds since the Unix epoch, now (0 for a clock set before 1970).
#[must_use]
pub fn now_ms() -> i64 {
    epoch_ms(SystemTime::now())
}

/// Milliseconds since the Unix epoch of `at` (0 before 1970).
#[must_use]
pub fn epoch_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Seconds since the epoch as a float, as Python's `time.time()` gives.
#[must_use]
pub fn epoch_secs(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `2026-11-26T08:00:00.123Z`: RFC 3339 in UTC with milliseconds (empty beyond the years
/// -9999..=9999).
#[must_use]
pub fn rfc3339_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|_| String::new(), |t| format!("{t:.3}"))
}

/// [`rfc3339_ms`] of a [`SystemTime`].
#[must_use]
pub fn rfc3339(at: SystemTime) -> String {
    rfc3339_ms(epoch_ms(at))
}

/// Parses RFC 3339 text (`2026-11-26T08:00:00Z`, any offset) into epoch milliseconds; any
/// civil time of the years 0001..=9999 with any offset is accepted, up to
/// `9999-12-31T23:59:59.999Z` (beyond what [`Timestamp`] represents).
///
/// # Errors
/// A human-readable reason when `text` is not RFC 3339 with an offset.
pub fn parse_rfc3339_ms(text: &str) -> Result<i64, String> {
    match text.parse::<Timestamp>() {
        Ok(at) => Ok(at.as_millisecond()),
        Err(e) => civil_with_offset_ms(text)
            .ok_or_else(|| format!("`{text}` is not an RFC 3339 time ({e})")),
    }
}

/// The civil time and its offset read apart, for the edges of the calendar where a
/// [`Timestamp`] overflows.
fn civil_with_offset_ms(text: &str) -> Option<i64> {
    let (civil, offset_ms) = if let Some(rest) = text.strip_suffix(['Z', 'z']) {
        (rest, 0)
    } else {
        let (rest, offset) = text.split_at_checked(text.len().checked_sub(6)?)?;
        let sign = match offset.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (hours, minutes) = offset[1..].split_once(':')?;
        let minutes = hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?;
        (rest, sign * minutes * 60_000)
    };
    let at: jiff::civil::DateTime = civil.parse().ok()?;
    let since_epoch = at.duration_since(jiff::civil::DateTime::constant(1970, 1, 1, 0, 0, 0, 0));
    i64::try_from(since_epoch.as_millis())
        .ok()?
        .checked_sub(offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(rfc3339_ms(1_795_680_000_250), "2026-11-26T08:00:00.250Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_680_000_007)),
            "2026-11-26T08:00:00.007Z"
        );
        assert_eq!(rfc3339_ms(i64::MAX), "");
    }

    #[test]
    fn parses_offsets_to_utc() {
        assert_eq!(
            parse_rfc3339_ms("2026-11-26T05:00:00.250-03:00"),
            Ok(1_795_680_000_250)
        );
        assert!(
            parse_rfc3339_ms("2026-11-26")
                .unwrap_err()
                .contains("RFC 3339")
        );
    }

    #[test]
    fn clock_and_epoch_agree() {
        let before = now_ms();
        assert!(before > 1_700_000_000_000);
        assert!((epoch_secs(SystemTime::now()) * 1000.0) as i64 >= before);
    }
}
