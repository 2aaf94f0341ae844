//! Building the host-day rollups: once a day has settled, each PC's watched apps over it are
//! computed from its summaries ([`super::seats::host_spans_from_summaries`]) and kept as one
//! small row, so the licence views of a year read ~365 rows per PC instead of ~6 million
//! summaries. Missing days are found each round — new days, days a late snapshot or a deletion
//! invalidated, days built under another report interval, every day of a store upgraded from
//! schema 7 — and built newest first (never a day whose snapshots were folded into minutes), a week of one PC per blocking task, so the runtime and
//! the writer are never held for long.

use idlewatch_store::{DAY_MS, HostDay, day_of, first_kept_day, settled};

use super::scan::first_capture;
use super::seats::host_spans_from_summaries;
use crate::stores::Stores;

/// Days of one PC built (and stored in one transaction) at a time.
pub const CHUNK_DAYS: usize = 7;

/// Rollups are built for at most this many days back (older days of a store kept forever, or a
/// PC whose clock once said 1970, are read from the summaries).
pub const MAX_AGE_DAYS: i64 = 3660;

/// Per host, the settled days from its first capture (from [`first_kept_day`] of
/// `not_before_ms`, what retention keeps, and at most [`MAX_AGE_DAYS`] back) that have no rollup
/// under `cover_ms`, newest first.
///
/// # Errors
/// The store's.
pub fn pending(
    store: &Stores,
    cover_ms: i64,
    now_ms: i64,
    not_before_ms: i64,
) -> Result<Vec<(String, Vec<i64>)>, idlewatch_store::Error> {
    let last = day_of(now_ms) - DAY_MS;
    let last = if settled(last, now_ms) {
        last
    } else {
        last - DAY_MS
    };
    let mut out = Vec::new();
    for host in store.host_names()? {
        let Some(first) = first_capture(store, &host)? else {
            continue;
        };
        // Days whose snapshots were folded into minutes cannot be built again from them: the
        // rollups built before they aged stand.
        let aged_until = store
            .detail_from(&host)?
            .map_or(i64::MIN, |d| day_of(d) + DAY_MS);
        let first = day_of(first)
            .max(first_kept_day(not_before_ms))
            .max(day_of(now_ms) - MAX_AGE_DAYS * DAY_MS)
            .max(aged_until);
        if first > last {
            continue;
        }
        let built: Vec<i64> = store
            .local()
            .host_days(&host, first, last + DAY_MS)?
            .into_iter()
            .filter(|(_, bytes)| HostDay::cover_of(bytes) == Some(cover_ms))
            .map(|(day_ms, _)| day_ms)
            .collect();
        let missing: Vec<i64> = (0..=(last - first) / DAY_MS)
            .rev()
            .map(|i| first + i * DAY_MS)
            .filter(|day| built.binary_search(day).is_err())
            .collect();
        if !missing.is_empty() {
            out.push((host, missing));
        }
    }
    Ok(out)
}

/// Builds `host`'s rollups of `days` and stores them in one transaction, unless a late
/// snapshot or a deletion changed the host meanwhile. Returns how many were stored.
///
/// # Errors
/// The store's, or a span the rollup format refuses (a bug: reported, not stored).
pub fn build(
    store: &Stores,
    host: &str,
    days: &[i64],
    cover_ms: i64,
) -> Result<usize, idlewatch_store::Error> {
    // Read before the summaries: anything that changes them afterwards moves it.
    let generation = store.local().host_day_generation(host)?;
    let mut rows = Vec::with_capacity(days.len());
    for &day_ms in days {
        let spans = host_spans_from_summaries(store, host, day_ms, day_ms + DAY_MS, cover_ms)?;
        let day = HostDay {
            cover_ms,
            apps: spans.into_apps(),
        };
        let bytes = day.encode(day_ms).map_err(|reason| {
            idlewatch_store::Error::Corrupt(format!("{host}'s rollup of day {day_ms}: {reason}"))
        })?;
        rows.push((day_ms, bytes));
    }
    Ok(if store.local().put_host_days(host, generation, &rows)? {
        rows.len()
    } else {
        0
    })
}

#[cfg(test)]
mod tests;
