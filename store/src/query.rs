//! Reads: a host's history (or its snapshots' summaries) in capture-time order with paging,
//! and every host's latest
//! snapshot (to rebuild the live state at start). Each runs in its own read transaction,
//! concurrently with the writer; call them off the async runtime.

use idlewatch_format::{
    BY_TIME, DETAIL_FROM, HOST_IDS, HOST_NAMES, HostChain, RECORDS, RecordHeader, latest_of_host,
};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::summary_hours;
use crate::{Error, Store};

/// One stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// Server sequence number.
    pub seq: u64,
    /// When the server received it, epoch ms.
    pub received_ms: i64,
    /// The agent's capture time (or the receive time), epoch ms.
    pub captured_ms: i64,
    /// The JSON text exactly as the agent sent it.
    pub json: String,
}

/// What to read of a host's history.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    /// The host.
    pub host: String,
    /// Earliest capture time, inclusive, epoch ms.
    pub from_ms: Option<i64>,
    /// Latest capture time, exclusive, epoch ms.
    pub to_ms: Option<i64>,
    /// Most snapshots returned.
    pub limit: usize,
    /// Continue after this position (from a previous page's `next`).
    pub after: Option<(i64, u64)>,
}

/// A page of history, oldest first.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// The snapshots.
    pub snapshots: Vec<StoredSnapshot>,
    /// Where the next page starts, when there is one.
    pub next: Option<(i64, u64)>,
}

/// A host's latest stored snapshot.
#[derive(Debug, Clone)]
pub struct LatestOfHost {
    /// The host.
    pub host: String,
    /// Its latest snapshot.
    pub snapshot: StoredSnapshot,
}

impl StoredSnapshot {
    /// The snapshot of a decoded record: its header and JSON.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the JSON is not UTF-8.
    pub fn decoded(header: &RecordHeader, json: Vec<u8>) -> Result<Self, Error> {
        Ok(Self {
            seq: header.seq,
            received_ms: header.received_ms,
            captured_ms: header.captured_ms,
            json: String::from_utf8(json)
                .map_err(|_| Error::Corrupt(format!("record {} is not UTF-8", header.seq)))?,
        })
    }
}

/// A stored snapshot's times and summary (what reports read).
pub use idlewatch_format::summary_hours::SummaryRow;

/// A page of summaries, oldest first.
#[derive(Debug, Clone)]
pub struct SummaryPage {
    /// The rows.
    pub rows: Vec<SummaryRow>,
    /// Where the next page starts, when there is one.
    pub next: Option<(i64, u64)>,
}

type Records<'t> = redb::ReadOnlyTable<u64, &'static [u8]>;

/// Where a page continues: `(captured_ms, seq)` of its last item.
type Cursor = Option<(i64, u64)>;

impl Store {
    /// Calls `each` with the `(captured_ms, seq)` of up to `query.limit` of the host's
    /// snapshots in capture-time order, in one read transaction, ending the page early (with a
    /// cursor) when `more` says no after an item; returns where the next page starts.
    fn walk_while<T>(
        &self,
        query: &HistoryQuery,
        mut more: impl FnMut(&T) -> bool,
        mut each: impl FnMut(&Records<'_>, &mut HostChain, u64) -> Result<T, Error>,
    ) -> Result<(Vec<T>, Cursor), Error> {
        let txn = self.db()?.begin_read()?;
        let ids = txn.open_table(HOST_IDS)?;
        let Some(id) = ids.get(query.host.as_str())?.map(|v| v.value()) else {
            return Err(Error::UnknownHost(query.host.clone()));
        };
        let records = txn.open_table(RECORDS)?;
        let by_time = txn.open_table(BY_TIME)?;
        // Records captured before the host's detail starts were folded into minutes; any
        // left are kept only as delta bases.
        let detail_from = txn
            .open_table(DETAIL_FROM)?
            .get(id)?
            .map_or(i64::MIN, |v| v.value());
        let start = match query.after {
            Some((t, n)) => (id, t, n.saturating_add(1)),
            None => (id, query.from_ms.unwrap_or(i64::MIN), 0),
        }
        .max((id, detail_from, 0));
        let end = (id, query.to_ms.unwrap_or(i64::MAX), 0);
        let mut chain = HostChain::new();
        let mut out = Vec::with_capacity(query.limit.min(4096));
        let mut last = None;
        let mut next = None;
        let mut stop = false;
        if start < end {
            for entry in by_time.range(start..end)? {
                let (key, _) = entry?;
                let (_, captured_ms, seq) = key.value();
                if out.len() == query.limit || stop {
                    next = last;
                    break;
                }
                let item = each(&records, &mut chain, seq)?;
                stop = !more(&item);
                out.push(item);
                last = Some((captured_ms, seq));
            }
        }
        Ok((out, next))
    }

    /// A page of `query.host`'s snapshots in capture-time order.
    ///
    /// # Errors
    /// [`Error::UnknownHost`] when nothing of that host is stored; storage errors.
    pub fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, Error> {
        self.history_bounded(query, usize::MAX)
    }

    /// As [`Store::history`], ending the page once it holds `max_bytes` of JSON (always at
    /// least one snapshot, so every page makes progress).
    ///
    /// # Errors
    /// As [`Store::history`].
    pub fn history_bounded(
        &self,
        query: &HistoryQuery,
        max_bytes: usize,
    ) -> Result<HistoryPage, Error> {
        let mut bytes = 0usize;
        let (snapshots, next) = self.walk_while(
            query,
            |s: &StoredSnapshot| {
                bytes = bytes.saturating_add(s.json.len());
                bytes < max_bytes
            },
            |records, chain, seq| {
                let (header, json) = chain.get(records, seq)?;
                StoredSnapshot::decoded(&header, json)
            },
        )?;
        Ok(HistoryPage { snapshots, next })
    }

    /// A page of `query.host`'s snapshot summaries in capture-time order: read from the
    /// host's summary hours where they are built, else from each record's header without
    /// decompressing it (records written before schema 3 are decompressed and summarized from
    /// their JSON).
    ///
    /// # Errors
    /// As [`Store::history`].
    pub fn summaries(&self, query: &HistoryQuery) -> Result<SummaryPage, Error> {
        let txn = self.db()?.begin_read()?;
        let Some(id) = txn
            .open_table(HOST_IDS)?
            .get(query.host.as_str())?
            .map(|v| v.value())
        else {
            return Err(Error::UnknownHost(query.host.clone()));
        };
        let detail_from = txn
            .open_table(DETAIL_FROM)?
            .get(id)?
            .map_or(i64::MIN, |v| v.value());
        let start = match query.after {
            Some((t, n)) => (t, n.saturating_add(1)),
            None => (query.from_ms.unwrap_or(i64::MIN), 0),
        }
        .max((detail_from, 0));
        let end = (query.to_ms.unwrap_or(i64::MAX), 0);
        let (rows, next) = summary_hours::read_summaries(&txn, id, start, end, query.limit)?;
        Ok(SummaryPage { rows, next })
    }

    /// Every stored host's latest snapshot by capture time, ignoring capture times after
    /// `not_after_ms` (pass `i64::MAX` for all).
    ///
    /// # Errors
    /// Storage errors.
    pub fn latest_per_host(&self, not_after_ms: i64) -> Result<Vec<LatestOfHost>, Error> {
        let txn = self.db()?.begin_read()?;
        let names = txn.open_table(HOST_NAMES)?;
        let records = txn.open_table(RECORDS)?;
        let by_time = txn.open_table(BY_TIME)?;
        let mut out = Vec::new();
        for entry in names.iter()? {
            let (id, name) = entry?;
            if let Some((header, json)) =
                latest_of_host(&records, &by_time, id.value(), not_after_ms)?
            {
                out.push(LatestOfHost {
                    host: name.value().to_owned(),
                    snapshot: StoredSnapshot::decoded(&header, json)?,
                });
            }
        }
        Ok(out)
    }

    /// `host`'s latest snapshot by capture time among those captured at or before
    /// `not_after_ms`; `None` when it has none (or is unknown).
    ///
    /// # Errors
    /// Storage errors.
    pub fn latest_of(
        &self,
        host: &str,
        not_after_ms: i64,
    ) -> Result<Option<StoredSnapshot>, Error> {
        let txn = self.db()?.begin_read()?;
        let Some(id) = txn.open_table(HOST_IDS)?.get(host)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let records = txn.open_table(RECORDS)?;
        let by_time = txn.open_table(BY_TIME)?;
        latest_of_host(&records, &by_time, id, not_after_ms)?
            .map(|(header, json)| StoredSnapshot::decoded(&header, json))
            .transpose()
    }

    /// Number of stored snapshots.
    ///
    /// # Errors
    /// Storage errors.
    pub fn snapshot_count(&self) -> Result<u64, Error> {
        let txn = self.db()?.begin_read()?;
        Ok(txn.open_table(RECORDS)?.len()?)
    }
}

/// How the file's space is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Bytes of pages in use (allocated), whatever the file's size.
    pub allocated_bytes: u64,
    /// Bytes of keys and values stored.
    pub stored_bytes: u64,
    /// Bytes of index keys and other metadata.
    pub metadata_bytes: u64,
    /// Bytes lost to fragmentation inside allocated pages.
    pub fragmented_bytes: u64,
    /// Size of the file (it grows in large steps ahead of use).
    pub file_bytes: u64,
}

impl Store {
    /// Space accounting. Waits for the writer's current transaction.
    ///
    /// # Errors
    /// Storage errors.
    pub fn stats(&self) -> Result<StoreStats, Error> {
        let txn = self.db()?.begin_write()?;
        let stats = txn.stats()?;
        txn.abort()?;
        Ok(StoreStats {
            allocated_bytes: stats.allocated_pages() * stats.page_size() as u64,
            stored_bytes: stats.stored_bytes(),
            metadata_bytes: stats.metadata_bytes(),
            fragmented_bytes: stats.fragmented_bytes(),
            file_bytes: self.file_size(),
        })
    }
}

impl Store {
    /// Every host that has ever stored a snapshot, sorted.
    ///
    /// # Errors
    /// Storage errors.
    pub fn host_names(&self) -> Result<Vec<String>, Error> {
        let txn = self.db()?.begin_read()?;
        let names = txn.open_table(HOST_NAMES)?;
        let mut out = names
            .iter()?
            .map(|e| e.map(|(_, v)| v.value().to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_unstable();
        Ok(out)
    }
}
