//! Where the server's data lives. Its redb store holds its agent and viewer tokens, alerts,
//! licence polls, rollups and tiers — and the snapshots of a server on its own. In a cluster
//! with `[cluster] postgres_url`, snapshots live in the PostgreSQL store every server shares
//! instead: [`Stores`] answers the snapshot operations (ingest, history, summaries, latest
//! states, host names, pruning) from it, and gives the redb store for the rest (it derefs to
//! it, so a function that needs snapshots takes `&Stores`, never `&Store`).

use std::ops::Deref;
use std::sync::Arc;

use idlewatch_format::PackedJson;
use idlewatch_protocol::Snapshot;
use idlewatch_store::{
    AppendDone, Busy, DeleteQuery, Error, HistoryPage, HistoryQuery, LatestOfHost, Snapshots,
    Store, StoredSnapshot, SummaryPage, SummaryRow,
};
use idlewatch_store_pg::{PgOptions, PgStore};

/// The server's stores; cheap to clone.
#[derive(Clone)]
pub struct Stores {
    local: Store,
    shared: Option<PgStore>,
}

impl From<Store> for Stores {
    fn from(local: Store) -> Self {
        Self {
            local,
            shared: None,
        }
    }
}

impl Deref for Stores {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.local
    }
}

impl Stores {
    /// The redb store, and the shared PostgreSQL store at `postgres_url` unless it is empty
    /// (`[cluster] postgres_url`; connected, its schema brought up to date).
    ///
    /// # Errors
    /// When the PostgreSQL store cannot be opened (its error says why).
    pub fn open(local: Store, postgres_url: &str, options: PgOptions) -> Result<Self, Error> {
        if postgres_url.is_empty() {
            return Ok(Self::from(local));
        }
        Ok(Self::with_shared(
            local,
            PgStore::open(postgres_url, options)?,
        ))
    }

    /// The redb store, with snapshots kept in `shared`.
    #[must_use]
    pub fn with_shared(local: Store, shared: PgStore) -> Self {
        Self {
            local,
            shared: Some(shared),
        }
    }

    /// Whether snapshots live in a shared PostgreSQL store (no tiers nor rollups are built
    /// there by this version: snapshots are kept whole until `[retention] days`).
    #[must_use]
    pub fn shared(&self) -> bool {
        self.shared.is_some()
    }

    fn snapshots(&self) -> &dyn Snapshots {
        match &self.shared {
            Some(shared) => shared,
            None => &self.local,
        }
    }

    /// Queues a snapshot for the next group commit (see [`Snapshots::try_append_packed`]).
    ///
    /// # Errors
    /// [`Busy`] when the queue is full.
    pub fn try_append_packed(
        &self,
        snapshot: Arc<Snapshot>,
        packed: Option<Arc<PackedJson>>,
        received_ms: i64,
        done: AppendDone,
    ) -> Result<(), Busy> {
        self.snapshots()
            .try_append_packed(snapshot, packed, received_ms, done)
    }

    /// Waits until everything queued so far is committed.
    pub fn flush(&self) {
        self.snapshots().flush();
    }

    /// A page of history (see [`Snapshots::history_bounded`]).
    ///
    /// # Errors
    /// As [`Snapshots::history_bounded`].
    pub fn history_bounded(
        &self,
        query: &HistoryQuery,
        max_bytes: usize,
    ) -> Result<HistoryPage, Error> {
        self.snapshots().history_bounded(query, max_bytes)
    }

    /// A page of summaries (see [`Snapshots::summaries`]).
    ///
    /// # Errors
    /// As [`Snapshots::summaries`].
    pub fn summaries(&self, query: &HistoryQuery) -> Result<SummaryPage, Error> {
        self.snapshots().summaries(query)
    }

    /// Every host's latest snapshot (see [`Snapshots::latest_per_host`]).
    ///
    /// # Errors
    /// Storage errors.
    pub fn latest_per_host(&self, not_after_ms: i64) -> Result<Vec<LatestOfHost>, Error> {
        self.snapshots().latest_per_host(not_after_ms)
    }

    /// A host's latest snapshot (see [`Snapshots::latest_of`]).
    ///
    /// # Errors
    /// Storage errors.
    pub fn latest_of(
        &self,
        host: &str,
        not_after_ms: i64,
    ) -> Result<Option<StoredSnapshot>, Error> {
        self.snapshots().latest_of(host, not_after_ms)
    }

    /// The snapshot a range starts in (see [`Snapshots::record_before`]).
    ///
    /// # Errors
    /// Storage errors.
    pub fn record_before(
        &self,
        host: &str,
        not_before_ms: i64,
        at_ms: i64,
    ) -> Result<Option<SummaryRow>, Error> {
        self.snapshots().record_before(host, not_before_ms, at_ms)
    }

    /// Number of stored snapshots.
    ///
    /// # Errors
    /// Storage errors.
    pub fn snapshot_count(&self) -> Result<u64, Error> {
        self.snapshots().snapshot_count()
    }

    /// Every host that has stored a snapshot, sorted.
    ///
    /// # Errors
    /// Storage errors.
    pub fn host_names(&self) -> Result<Vec<String>, Error> {
        self.snapshots().host_names()
    }

    /// Deletes old snapshots in the background (see [`Snapshots::prune_before`]).
    pub fn prune_before(&self, cutoff_ms: i64) {
        self.snapshots().prune_before(cutoff_ms);
    }

    /// Deletes a host's snapshots (see [`Store::delete`]).
    ///
    /// # Errors
    /// As [`Store::delete`]; [`Error::Unsupported`] on the PostgreSQL store.
    pub fn delete(&self, query: DeleteQuery) -> Result<u64, Error> {
        if self.shared() {
            return Err(Error::Unsupported(
                "deleting a host's snapshots from the shared PostgreSQL store is not available \
                 in this version; delete all of the host's rows with SQL: DELETE FROM snapshots \
                 WHERE host_id = (SELECT id FROM hosts WHERE name = '...') (not part of a day: \
                 a record may need earlier ones of its day)",
            ));
        }
        self.local.delete(query)
    }
}
