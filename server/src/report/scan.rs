//! Reading a host's stored snapshots over a range, page by page, as the summaries kept with
//! each record (times, idle, user active, CPU, memory, process count, foreground, watched
//! apps): what the XLSX export and utilization reports walk, without decompressing snapshots.

use idlewatch_store::{HistoryQuery, Summary, SummaryRow};

use super::usage::Point;
use crate::stores::Stores;

/// Summaries read from the store at a time.
pub const PAGE: usize = 1024;

/// Calls `each` with every snapshot summary of `host` captured in `[from_ms, to_ms)`, in
/// capture order. A host the store does not know has no snapshots.
///
/// # Errors
/// The store's, or the first error `each` returns.
pub fn each_summary<E>(
    store: &Stores,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    mut each: impl FnMut(&SummaryRow) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<idlewatch_store::Error>,
{
    let mut after = None;
    loop {
        let page = match store.summaries(&HistoryQuery {
            host: host.to_owned(),
            from_ms: Some(from_ms),
            to_ms: Some(to_ms),
            limit: PAGE,
            after,
        }) {
            Ok(page) => page,
            Err(idlewatch_store::Error::UnknownHost(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for row in &page.rows {
            each(row)?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

impl Point {
    /// What utilization needs of a snapshot captured at `at_ms`.
    #[must_use]
    pub fn of(at_ms: i64, summary: &Summary) -> Self {
        Self {
            at_ms,
            user_active: summary.user_active.unwrap_or(false),
            apps: summary.apps.clone(),
            session: summary.session.clone(),
        }
    }
}

/// The capture time of `host`'s earliest stored snapshot, if any (the start of its first
/// minute row when its earliest snapshots have aged into minutes).
///
/// # Errors
/// The store's.
pub fn first_capture(store: &Stores, host: &str) -> Result<Option<i64>, idlewatch_store::Error> {
    if let Some(first) = store.first_minute(host)? {
        return Ok(Some(first));
    }
    match store.summaries(&HistoryQuery {
        host: host.to_owned(),
        from_ms: None,
        to_ms: None,
        limit: 1,
        after: None,
    }) {
        Ok(page) => Ok(page.rows.first().map(|r| r.captured_ms)),
        Err(idlewatch_store::Error::UnknownHost(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
