//! When to try a request to Google again, and how long to wait first: 429 and 5xx answers and
//! network failures are retried with exponential backoff and jitter, and a `Retry-After`
//! header (seconds or an HTTP date) is honoured; any other 4xx is final.

use std::time::{Duration, SystemTime};

use rand::RngExt;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The first pause; each further one doubles it.
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest computed pause.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// The longest `Retry-After` honoured; a longer one ends the run (the next run tries again).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Whether an answer with this status is worth another attempt.
#[must_use]
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// The pause before attempt `attempt + 1` (attempt counts from 1), with ±25 % jitter.
#[must_use]
pub fn backoff(attempt: u32) -> Duration {
    let base = FIRST_DELAY.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let jitter = rand::rng().random_range(0.75..1.25);
    base.min(MAX_DELAY).mul_f64(jitter)
}

/// The pause a `Retry-After` header asks for, if it holds one.
#[must_use]
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP servers send.
fn httpdate(text: &str) -> Option<SystemTime> {
    let t = jiff::fmt::rfc2822::parse(text).ok()?;
    let secs = u64::try_from(t.timestamp().as_second()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// The pause before the next attempt: the server's `Retry-After` when given, else backoff.
#[must_use]
pub fn pause(attempt: u32, headers: Option<&HeaderMap>, now: SystemTime) -> Duration {
    headers
        .and_then(|h| retry_after(h, now))
        .unwrap_or_else(|| backoff(attempt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retries_only_throttling_and_server_faults() {
        for code in [429, 500, 502, 503, 504, 408] {
            assert!(retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 409] {
            assert!(!retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempt in 1..=4 {
            let d = backoff(attempt);
            let base = FIRST_DELAY * (1 << (attempt - 1));
            assert!(
                d >= base.mul_f64(0.75) && d <= base.mul_f64(1.25),
                "{attempt}: {d:?}"
            );
        }
        assert!(backoff(40) <= MAX_DELAY.mul_f64(1.25));
    }

    #[test]
    fn honours_retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(pause(1, Some(&headers), now), Duration::from_secs(7));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:47 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(10)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
