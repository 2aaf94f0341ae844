//! When to try a request to Google again, and how long to wait first: 429 and 5xx answers and
//! network failures are retried with exponential backoff and jitter (backon), and a
//! `Retry-After` header (seconds or an HTTP date) is honoured; any other 4xx is final.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::error::SheetsError;

/// The first pause; each further one doubles it.
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest step before jitter (a pause is the step stretched by up to 100 %).
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// The longest `Retry-After` honoured; a longer one ends the run (the next run tries again).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// How one attempt failed.
#[derive(Debug)]
pub enum Failure {
    /// Not worth another attempt (a final 4xx, unusable credentials, an unreadable answer).
    Final(SheetsError),
    /// A 429, 5xx or network failure: worth another, after `retry_after` when Google says.
    Transient {
        /// What happened, in a few words.
        reason: String,
        /// The pause Google asked for (`Retry-After`), if any.
        retry_after: Option<Duration>,
    },
}

/// The pauses between attempts: from [`FIRST_DELAY`] doubling up to [`MAX_DELAY`], each
/// stretched by a random 0–100 %, `max_attempts - 1` of them.
#[must_use]
pub fn policy(max_attempts: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(max_attempts.saturating_sub(1) as usize)
}

/// Runs `attempt` until it succeeds, fails for good, Google asks for a pause longer than
/// [`MAX_RETRY_AFTER`], or `max_attempts` are spent; `on_retry` hears of each pause.
///
/// # Errors
/// The final failure; [`SheetsError::Exhausted`] or [`SheetsError::WaitTooLong`].
pub async fn with_retries<T, Fut>(
    what: &str,
    max_attempts: u32,
    mut attempt: impl FnMut() -> Fut,
    mut on_retry: impl FnMut(&str, u32, Duration),
) -> Result<T, SheetsError>
where
    Fut: Future<Output = Result<T, Failure>>,
{
    let made = AtomicU32::new(0);
    let outcome = (|| {
        made.fetch_add(1, Ordering::Relaxed);
        attempt()
    })
    .retry(policy(max_attempts))
    .sleep(tokio::time::sleep)
    .when(|f| matches!(f, Failure::Transient { .. }))
    .adjust(|f, next| match f {
        Failure::Transient {
            retry_after: Some(asked),
            ..
        } => next.and(Some(*asked)).filter(|d| *d <= MAX_RETRY_AFTER),
        _ => next,
    })
    .notify(|f, pause| {
        if let Failure::Transient { reason, .. } = f {
            on_retry(reason, made.load(Ordering::Relaxed), pause);
        }
    })
    .await;
    outcome.map_err(|f| match f {
        Failure::Final(e) => e,
        Failure::Transient {
            reason,
            retry_after: Some(asked),
        } if asked > MAX_RETRY_AFTER => SheetsError::WaitTooLong {
            what: what.to_owned(),
            wait: asked,
            reason: reason.trim().to_owned(),
        },
        Failure::Transient { reason, .. } => SheetsError::Exhausted {
            what: what.to_owned(),
            attempts: made.load(Ordering::Relaxed),
            reason: reason.trim().to_owned(),
        },
    })
}

/// Whether an answer with this status is worth another attempt.
#[must_use]
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
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

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;
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
    fn pauses_double_with_jitter_are_capped_and_counted() {
        let pauses: Vec<Duration> = policy(5).build().collect();
        assert_eq!(pauses.len(), 4, "five attempts, four pauses");
        for (i, d) in pauses.iter().enumerate() {
            let step = FIRST_DELAY * (1 << i);
            assert!(*d >= step && *d < step * 2, "{i}: {d:?}");
        }
        assert!(policy(40).build().all(|d| d < MAX_DELAY * 2));
        assert_eq!(policy(1).build().count(), 0);
    }

    fn transient(retry_after: Option<u64>) -> Failure {
        Failure::Transient {
            reason: "503 UNAVAILABLE".to_owned(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    /// Runs `with_retries` over a scripted sequence of attempt results; returns the outcome,
    /// the attempts made and the pauses heard of.
    async fn scripted(
        max_attempts: u32,
        mut script: Vec<Result<u32, Failure>>,
    ) -> (Result<u32, SheetsError>, usize, Vec<Duration>) {
        script.reverse();
        let script = std::sync::Mutex::new(script);
        let made = AtomicU32::new(0);
        let mut pauses = Vec::new();
        let outcome = with_retries(
            "GET /v4/spreadsheets/x",
            max_attempts,
            || {
                made.fetch_add(1, Ordering::Relaxed);
                let next = script.lock().unwrap().pop().expect("an attempt too many");
                async move { next }
            },
            |_, _, pause| pauses.push(pause),
        )
        .await;
        (outcome, made.load(Ordering::Relaxed) as usize, pauses)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_until_one_succeeds() {
        let (outcome, made, pauses) =
            scripted(5, vec![Err(transient(None)), Err(transient(None)), Ok(7)]).await;
        assert_eq!(outcome.unwrap(), 7);
        assert_eq!(made, 3);
        assert_eq!(pauses.len(), 2);
        assert!(pauses[0] >= FIRST_DELAY && pauses[1] >= FIRST_DELAY * 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_failure_is_not_retried() {
        let refused = Failure::Final(SheetsError::Refused {
            status: 403,
            reason: "PERMISSION_DENIED".to_owned(),
            spreadsheet: "x".to_owned(),
            account: "uploader@example.iam.gserviceaccount.com".to_owned(),
        });
        let (outcome, made, pauses) = scripted(5, vec![Err(refused)]).await;
        let message = outcome.unwrap_err().to_string();
        assert!(
            message.contains("share the spreadsheet with uploader@"),
            "{message}"
        );
        assert_eq!((made, pauses.len()), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn spent_attempts_say_how_many_and_why() {
        let (outcome, made, _) = scripted(
            3,
            vec![
                Err(transient(None)),
                Err(transient(None)),
                Err(transient(None)),
            ],
        )
        .await;
        let failure = outcome.unwrap_err();
        assert!(matches!(
            failure,
            SheetsError::Exhausted { attempts: 3, .. }
        ));
        let message = failure.to_string();
        assert_eq!(made, 3);
        assert!(
            message.contains("still failing after 3 attempts (503 UNAVAILABLE)"),
            "{message}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_a_too_long_one_ends_the_run() {
        let (outcome, _, pauses) = scripted(5, vec![Err(transient(Some(7))), Ok(1)]).await;
        assert_eq!(outcome.unwrap(), 1);
        assert_eq!(pauses, vec![Duration::from_secs(7)]);
        let (outcome, made, pauses) = scripted(5, vec![Err(transient(Some(3600)))]).await;
        let message = outcome.unwrap_err().to_string();
        assert_eq!((made, pauses.len()), (1, 0));
        assert!(message.contains("Google asks to wait 3600s"), "{message}");
    }

    #[test]
    fn honours_retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:47 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(10)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
