//! Reading a host's stored snapshots over a range, page by page, each parsed once into its
//! known fields: what the XLSX export and utilization reports walk.

use idlewatch_protocol::SnapshotFields;
use idlewatch_store::{HistoryQuery, Store, StoredSnapshot};

use super::usage::Point;

/// Snapshots read from the store at a time: a page holds their JSON (~30 KB each) in memory.
pub const PAGE: usize = 128;

/// Calls `each` with every readable snapshot of `host` captured in `[from_ms, to_ms)`, in
/// capture order. A host the store does not know has no snapshots; snapshots whose text no
/// longer parses are skipped.
///
/// # Errors
/// The store's, or the first error `each` returns.
pub fn each_snapshot<E>(
    store: &Store,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    mut each: impl FnMut(&StoredSnapshot, SnapshotFields) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<idlewatch_store::Error>,
{
    let mut after = None;
    loop {
        let page = match store.history(&HistoryQuery {
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
        for stored in &page.snapshots {
            if let Ok(fields) = SnapshotFields::parse(&stored.json) {
                each(stored, fields)?;
            }
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
    pub fn of(at_ms: i64, fields: &SnapshotFields) -> Self {
        Self {
            at_ms,
            user_active: fields.user_active.unwrap_or(false),
            apps: fields
                .watched_apps()
                .into_iter()
                .filter_map(|(n, w)| Some((n, w.state?)))
                .collect(),
        }
    }
}

/// The capture time of `host`'s earliest stored snapshot, if any.
///
/// # Errors
/// The store's.
pub fn first_capture(store: &Store, host: &str) -> Result<Option<i64>, idlewatch_store::Error> {
    match store.history(&HistoryQuery {
        host: host.to_owned(),
        from_ms: None,
        to_ms: None,
        limit: 1,
        after: None,
    }) {
        Ok(page) => Ok(page.snapshots.first().map(|s| s.captured_ms)),
        Err(idlewatch_store::Error::UnknownHost(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
