//! Where the server's data lives. A server on its own keeps everything in its redb store. In a
//! cluster with `[cluster] postgres_url`, snapshots and their tiers, issued tokens, alerts and
//! licence polls live in the PostgreSQL store every server shares instead: [`Stores`] answers
//! those from it (as its methods and as [`TokenStore`] and [`RecordStore`]), and gives the redb
//! store for the rest (host-day rollups, its path and size) only by name ([`Stores::local`]),
//! so no shared read can reach the wrong store unnoticed.

use std::sync::Arc;

use idlewatch_format::PackedJson;
use idlewatch_protocol::Snapshot;
use idlewatch_protocol::api::Alert;
use idlewatch_store::{
    Aged, AppendDone, Busy, DeleteQuery, Error, HistoryPage, HistoryQuery, Holder, LatestOfHost,
    MinuteRow, PoolPoint, RecordStore, Snapshots, Store, StoredSnapshot, StoredToken, SummaryPage,
    SummaryRow, TokenStore,
};
use idlewatch_store_pg::{PgOptions, PgStore, TableBytes};

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

    /// This server's own redb store: its host-day rollups, and on its own everything else
    /// (read snapshots, tokens, alerts and licence polls through [`Stores`], which answers them
    /// from the shared store in a cluster).
    #[must_use]
    pub fn local(&self) -> &Store {
        &self.local
    }

    /// Whether snapshots, and their minute and day rows, live in a shared PostgreSQL store (no
    /// host-day rollups are kept there: the licence views read the summaries).
    #[must_use]
    pub fn shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Calls `changed` whenever a token of the shared store is issued or revoked (see
    /// [`PgStore::watch_tokens`]); `None` on a server on its own.
    pub fn watch_tokens(
        &self,
        changed: impl Fn() -> bool + Send + 'static,
    ) -> Option<Result<(), Error>> {
        self.shared.as_ref().map(|s| s.watch_tokens(changed))
    }

    /// What the shared store holds, per tier and per host (its `path` left empty); `None` on a
    /// server on its own.
    pub fn shared_stats(&self) -> Option<Result<idlewatch_protocol::api::StoreStats, Error>> {
        self.shared.as_ref().map(PgStore::stats)
    }

    /// What the shared store's tables take on disk; `None` on a server on its own.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn shared_bytes(&self) -> Option<Result<TableBytes, Error>> {
        self.shared.as_ref().map(PgStore::table_bytes)
    }

    fn snapshots(&self) -> &dyn Snapshots {
        match &self.shared {
            Some(shared) => shared,
            None => &self.local,
        }
    }

    fn records(&self) -> &dyn RecordStore {
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

    /// Folds old snapshots into minute and day rows (see [`Snapshots::age_tiers`]).
    ///
    /// # Errors
    /// Storage errors.
    pub fn age_tiers(
        &self,
        before_ms: i64,
        cover_ms: i64,
        minutes_before_ms: Option<i64>,
    ) -> Result<Aged, Error> {
        self.snapshots()
            .age_tiers(before_ms, cover_ms, minutes_before_ms)
    }

    /// Where a host's snapshots start to count (see [`Snapshots::detail_from`]).
    ///
    /// # Errors
    /// Storage errors.
    pub fn detail_from(&self, host: &str) -> Result<Option<i64>, Error> {
        self.snapshots().detail_from(host)
    }

    /// A host's usage rows over a range (see [`Snapshots::each_tier_row`]).
    ///
    /// # Errors
    /// Storage errors; a row that does not decode.
    pub fn tier_rows(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        fine: impl Fn(i64) -> bool,
    ) -> Result<Vec<MinuteRow>, Error> {
        let mut out = Vec::new();
        self.each_tier_row(host, from_ms, to_ms, fine, |row| {
            out.push(row);
            Ok::<bool, Error>(true)
        })?;
        Ok(out)
    }

    /// Calls `each` with a host's usage rows over a range, in order, until it answers false
    /// (see [`Snapshots::each_tier_row`]).
    ///
    /// # Errors
    /// Storage errors; a row that does not decode; the first error `each` returns.
    pub fn each_tier_row<E: From<Error>>(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        fine: impl Fn(i64) -> bool,
        mut each: impl FnMut(MinuteRow) -> Result<bool, E>,
    ) -> Result<(), E> {
        // The caller's own error stops the walk and is given back as it was.
        let mut stopped = None;
        self.snapshots().each_tier_row(
            host,
            from_ms,
            to_ms,
            &fine,
            &mut |row| match each(row) {
                Ok(more) => Ok(more),
                Err(e) => {
                    stopped = Some(e);
                    Ok(false)
                }
            },
        )?;
        stopped.map_or(Ok(()), Err)
    }

    /// A host's first minute with anything in it (see [`Snapshots::first_minute`]).
    ///
    /// # Errors
    /// Storage errors; a row that does not decode.
    pub fn first_minute(&self, host: &str) -> Result<Option<i64>, Error> {
        self.snapshots().first_minute(host)
    }

    /// Deletes a host's snapshots (see [`Snapshots::delete`]).
    ///
    /// # Errors
    /// As [`Snapshots::delete`].
    pub fn delete(&self, query: DeleteQuery) -> Result<u64, Error> {
        self.snapshots().delete(query)
    }
}

/// Tokens live where snapshots do: in a cluster on PostgreSQL, in the database every server
/// shares (each server reloads them every few seconds), else in the server's own file.
impl TokenStore for Stores {
    fn tokens(&self) -> Result<Vec<StoredToken>, Error> {
        match &self.shared {
            Some(shared) => shared.tokens(),
            None => self.local.tokens(),
        }
    }

    fn add_token(&self, holder: &Holder, hash: &[u8], created_ms: i64) -> Result<u64, Error> {
        match &self.shared {
            Some(shared) => shared.add_token(holder, hash, created_ms),
            None => self.local.add_token(holder, hash, created_ms),
        }
    }

    fn remove_token(&self, id: u64) -> Result<bool, Error> {
        match &self.shared {
            Some(shared) => shared.remove_token(id),
            None => self.local.remove_token(id),
        }
    }
}

impl Stores {
    /// Copies the tokens of the server's own file that the shared store lacks (by hash) into
    /// it, so that tokens issued before the server joined a cluster on PostgreSQL keep working
    /// there (with new ids); returns how many. Nothing on a server on its own.
    ///
    /// # Errors
    /// When either store cannot be read, or the shared one written.
    pub fn share_local_tokens(&self) -> Result<usize, Error> {
        let Some(shared) = &self.shared else {
            return Ok(0);
        };
        let known: std::collections::HashSet<Vec<u8>> =
            shared.tokens()?.into_iter().map(|t| t.hash).collect();
        let mut copied = 0;
        for token in self.local.tokens()? {
            if !known.contains(&token.hash) {
                shared.add_token(&token.holder, &token.hash, token.created_ms)?;
                copied += 1;
            }
        }
        Ok(copied)
    }
}

/// Alerts and licence polls live where snapshots do: in a cluster on PostgreSQL, in the
/// database every server shares (the server holding the lead writes them), else in the
/// server's own file.
impl RecordStore for Stores {
    fn alerts(&self) -> Result<Vec<Alert>, Error> {
        self.records().alerts()
    }

    fn add_alert(&self, alert: &mut Alert) -> Result<u64, Error> {
        self.records().add_alert(alert)
    }

    fn update_alert(&self, alert: &Alert) -> Result<(), Error> {
        self.records().update_alert(alert)
    }

    fn prune_alerts_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        self.records().prune_alerts_before(cutoff_ms)
    }

    fn add_licence_poll(&self, server: &str, point: PoolPoint) -> Result<(), Error> {
        self.records().add_licence_poll(server, point)
    }

    fn licence_polls(
        &self,
        server: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<PoolPoint>, Error> {
        self.records().licence_polls(server, from_ms, to_ms)
    }

    fn prune_licence_polls_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        self.records().prune_licence_polls_before(cutoff_ms)
    }
}

impl Stores {
    /// Moves the alerts and licence polls of the server's own file into the shared store (the
    /// alerts with new ids), so that a cluster that kept them per server before lists them all
    /// from the database; returns how many of each. An alert still firing is moved resolved:
    /// this server does not lead yet, and the lead's rules fire it again if its condition
    /// holds. Nothing on a server on its own.
    ///
    /// # Errors
    /// When either store cannot be read or written (the file keeps its records then).
    pub fn share_local_records(&self) -> Result<(usize, usize), Error> {
        let Some(shared) = &self.shared else {
            return Ok((0, 0));
        };
        let mut alerts = self.local.alerts()?;
        let polls = self.local.all_licence_polls()?;
        if alerts.is_empty() && polls.is_empty() {
            return Ok((0, 0));
        }
        let now = idlewatch_protocol::time::now_ms();
        for alert in alerts
            .iter_mut()
            .filter(|a| a.state == idlewatch_protocol::api::AlertState::Firing)
        {
            alert.state = idlewatch_protocol::api::AlertState::Resolved;
            alert.resolved_at = Some(idlewatch_protocol::time::rfc3339_ms(now));
            alert.summary = format!("{} (moved into the cluster's store)", alert.summary);
        }
        shared.import_records(&alerts, &polls)?;
        self.local.clear_records()?;
        Ok((alerts.len(), polls.len()))
    }
}
