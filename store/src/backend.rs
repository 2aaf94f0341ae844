//! What ingest and the snapshot reads need of a store, as one trait: one server keeps its
//! snapshots in its redb file ([`Store`]), a cluster in one PostgreSQL database shared by every
//! server (`idlewatch-store-pg`), and one suite of tests (`tests/tests/store_backends.rs`)
//! holds both to the same behaviour. Every method blocks: call it off the async runtime, as
//! the redb store's own methods.

use std::sync::Arc;

use idlewatch_format::PackedJson;
use idlewatch_protocol::Snapshot;

use crate::{
    Aged, AppendDone, Busy, DeleteQuery, Error, HistoryPage, HistoryQuery, Holder, LatestOfHost,
    MinuteRow, Store, StoredSnapshot, StoredToken, SummaryPage, SummaryRow,
};

/// Where the tokens an admin issues are kept: a server's redb file, or in a cluster on
/// PostgreSQL the database every server shares (so a token issued or revoked on one server
/// holds on all).
pub trait TokenStore: Send + Sync {
    /// Every token, by id.
    ///
    /// # Errors
    /// Storage errors.
    fn tokens(&self) -> Result<Vec<StoredToken>, Error>;

    /// Stores a new token's hash for `holder`; returns its id.
    ///
    /// # Errors
    /// Storage errors.
    fn add_token(&self, holder: &Holder, hash: &[u8], created_ms: i64) -> Result<u64, Error>;

    /// Deletes token `id`; whether it existed.
    ///
    /// # Errors
    /// Storage errors.
    fn remove_token(&self, id: u64) -> Result<bool, Error>;
}

impl TokenStore for Store {
    fn tokens(&self) -> Result<Vec<StoredToken>, Error> {
        Store::tokens(self)
    }

    fn add_token(&self, holder: &Holder, hash: &[u8], created_ms: i64) -> Result<u64, Error> {
        Store::add_token(self, holder, hash, created_ms)
    }

    fn remove_token(&self, id: u64) -> Result<bool, Error> {
        Store::remove_token(self, id)
    }
}

/// How much the minute and day tiers hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TierSizes {
    /// Host-days of day rows.
    pub day_rows: u64,
    /// Bytes of their values.
    pub day_bytes: u64,
    /// Host-hours of minute rows.
    pub minute_hours: u64,
    /// Bytes of their values.
    pub minute_bytes: u64,
}

/// A durable store of snapshots.
pub trait Snapshots: Send + Sync {
    /// Queues `snapshot` (its JSON packed by the caller, when it was) for the next group
    /// commit; `done` runs after the commit holding it, with its sequence number, or marked a
    /// duplicate when the same snapshot (host, capture time and agent `seq`) is already stored.
    ///
    /// # Errors
    /// [`Busy`] when the queue is full: the snapshot is not stored, and `done` has already run
    /// with [`Error::Busy`].
    fn try_append_packed(
        &self,
        snapshot: Arc<Snapshot>,
        packed: Option<Arc<PackedJson>>,
        received_ms: i64,
        done: AppendDone,
    ) -> Result<(), Busy>;

    /// Waits until everything queued so far is committed.
    fn flush(&self);

    /// A page of a host's snapshots in capture-time order, ending once it holds `max_bytes` of
    /// JSON (always at least one snapshot).
    ///
    /// # Errors
    /// [`Error::UnknownHost`] when nothing of the host is stored; storage errors.
    fn history_bounded(&self, query: &HistoryQuery, max_bytes: usize)
    -> Result<HistoryPage, Error>;

    /// A page of a host's snapshot summaries in capture-time order.
    ///
    /// # Errors
    /// As [`Snapshots::history_bounded`].
    fn summaries(&self, query: &HistoryQuery) -> Result<SummaryPage, Error>;

    /// Every host's latest snapshot by capture time, ignoring capture times after
    /// `not_after_ms`.
    ///
    /// # Errors
    /// Storage errors.
    fn latest_per_host(&self, not_after_ms: i64) -> Result<Vec<LatestOfHost>, Error>;

    /// `host`'s latest snapshot by capture time at or before `not_after_ms`.
    ///
    /// # Errors
    /// Storage errors.
    fn latest_of(&self, host: &str, not_after_ms: i64) -> Result<Option<StoredSnapshot>, Error>;

    /// `host`'s last snapshot captured before `at_ms` and at or after `not_before_ms`, as its
    /// summary (what a report needs of the state a range starts in).
    ///
    /// # Errors
    /// Storage errors.
    fn record_before(
        &self,
        host: &str,
        not_before_ms: i64,
        at_ms: i64,
    ) -> Result<Option<SummaryRow>, Error>;

    /// Number of stored snapshots.
    ///
    /// # Errors
    /// Storage errors.
    fn snapshot_count(&self) -> Result<u64, Error>;

    /// Every host that has stored a snapshot, sorted.
    ///
    /// # Errors
    /// Storage errors.
    fn host_names(&self) -> Result<Vec<String>, Error>;

    /// Deletes snapshots older than `cutoff_ms` in the background, in the store's own unit (a
    /// redb store by receive time, a few at a time; PostgreSQL whole UTC days of capture time,
    /// by dropping their partitions).
    fn prune_before(&self, cutoff_ms: i64);

    /// Deletes `query.host`'s snapshots captured in the range (all of them without one), with
    /// the minute rows of the hours it touches and those hours of the host's day rows; returns
    /// how many snapshots went. Kept records stay readable.
    ///
    /// # Errors
    /// [`Error::UnknownHost`] when nothing of the host is stored; storage errors.
    fn delete(&self, query: DeleteQuery) -> Result<u64, Error>;

    /// Folds snapshots captured before `before_ms` into minute rows (each covering at most
    /// `cover_ms`), whole days into day rows, deletes the snapshots folded and the minute rows
    /// of the whole days before `minutes_before_ms` (when given); returns when done.
    ///
    /// # Errors
    /// Storage errors.
    fn age_tiers(
        &self,
        before_ms: i64,
        cover_ms: i64,
        minutes_before_ms: Option<i64>,
    ) -> Result<Aged, Error>;

    /// Where `host`'s snapshots start to count: what was captured before is in its minute
    /// and day rows. `None` when nothing of the host has aged (or the host is unknown).
    ///
    /// # Errors
    /// Storage errors.
    fn detail_from(&self, host: &str) -> Result<Option<i64>, Error>;

    /// Calls `each` with `host`'s usage rows over `[from_ms, to_ms)`, in order, until it
    /// answers false ([`crate::tier_walk::each_tier_row`] says which rows).
    ///
    /// # Errors
    /// Storage errors; a row that does not decode; the first error `each` returns.
    fn each_tier_row(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        fine: &dyn Fn(i64) -> bool,
        each: &mut dyn FnMut(MinuteRow) -> Result<bool, Error>,
    ) -> Result<(), Error>;

    /// `host`'s first minute with anything in it ([`crate::tier_walk::first_minute`]).
    ///
    /// # Errors
    /// Storage errors; a row that does not decode.
    fn first_minute(&self, host: &str) -> Result<Option<i64>, Error>;

    /// How much the minute and day tiers hold.
    ///
    /// # Errors
    /// Storage errors.
    fn tier_sizes(&self) -> Result<TierSizes, Error>;
}

impl Snapshots for Store {
    fn try_append_packed(
        &self,
        snapshot: Arc<Snapshot>,
        packed: Option<Arc<PackedJson>>,
        received_ms: i64,
        done: AppendDone,
    ) -> Result<(), Busy> {
        Store::try_append_packed(self, snapshot, packed, received_ms, done)
    }

    fn flush(&self) {
        Store::flush(self);
    }

    fn history_bounded(
        &self,
        query: &HistoryQuery,
        max_bytes: usize,
    ) -> Result<HistoryPage, Error> {
        Store::history_bounded(self, query, max_bytes)
    }

    fn summaries(&self, query: &HistoryQuery) -> Result<SummaryPage, Error> {
        Store::summaries(self, query)
    }

    fn latest_per_host(&self, not_after_ms: i64) -> Result<Vec<LatestOfHost>, Error> {
        Store::latest_per_host(self, not_after_ms)
    }

    fn latest_of(&self, host: &str, not_after_ms: i64) -> Result<Option<StoredSnapshot>, Error> {
        Store::latest_of(self, host, not_after_ms)
    }

    fn record_before(
        &self,
        host: &str,
        not_before_ms: i64,
        at_ms: i64,
    ) -> Result<Option<SummaryRow>, Error> {
        Store::record_before(self, host, not_before_ms, at_ms)
    }

    fn snapshot_count(&self) -> Result<u64, Error> {
        Store::snapshot_count(self)
    }

    fn host_names(&self) -> Result<Vec<String>, Error> {
        Store::host_names(self)
    }

    fn prune_before(&self, cutoff_ms: i64) {
        Store::prune_before(self, cutoff_ms);
    }

    fn delete(&self, query: DeleteQuery) -> Result<u64, Error> {
        Store::delete(self, query)
    }

    fn age_tiers(
        &self,
        before_ms: i64,
        cover_ms: i64,
        minutes_before_ms: Option<i64>,
    ) -> Result<Aged, Error> {
        Store::age_tiers(self, before_ms, cover_ms, minutes_before_ms)
    }

    fn detail_from(&self, host: &str) -> Result<Option<i64>, Error> {
        Store::detail_from(self, host)
    }

    fn each_tier_row(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        fine: &dyn Fn(i64) -> bool,
        each: &mut dyn FnMut(MinuteRow) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        Store::each_tier_row(self, host, from_ms, to_ms, fine, each)
    }

    fn first_minute(&self, host: &str) -> Result<Option<i64>, Error> {
        Store::first_minute(self, host)
    }

    fn tier_sizes(&self) -> Result<TierSizes, Error> {
        let (day_rows, day_bytes) = Store::day_sizes(self)?;
        let (minute_hours, minute_bytes) = Store::minute_sizes(self)?;
        Ok(TierSizes {
            day_rows,
            day_bytes,
            minute_hours,
            minute_bytes,
        })
    }
}
