//! Times in API answers: RFC 3339 in UTC with millisecond precision.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const RFC3339_MS: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `2026-11-26T08:00:00.123Z`.
pub fn rfc3339(at: SystemTime) -> String {
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_millis()).unwrap_or(0));
    rfc3339_ms(ms)
}

/// RFC 3339 text of epoch milliseconds.
pub fn rfc3339_ms(ms: i128) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
        .ok()
        .and_then(|t| t.format(RFC3339_MS).ok())
        .unwrap_or_default()
}

/// Seconds since the epoch as a float, as Python's `time.time()` gives.
pub fn epoch_secs(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_with_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_680_000_250);
        assert_eq!(rfc3339(t), "2026-11-26T08:00:00.250Z");
    }
}
