//! Reads, each in one read-only transaction on a pooled connection: a host's history (records
//! decoded along their delta chains, a chain fetched in one recursive query) and summaries (the
//! typed columns, no record read), latest snapshots, counts and host names. Results and paging
//! are those of the redb store's reads.

use std::collections::HashMap;

use idlewatch_format::{
    DAY_MS, HostChain, RecordHeader, RecordSource, SessionSummary, Summary, read_header,
    state_of_byte,
};
use idlewatch_store::{
    Error, HistoryPage, HistoryQuery, LatestOfHost, StoredSnapshot, SummaryPage, SummaryRow,
};
use postgres::{IsolationLevel, Row, Transaction};

use crate::columns::{signed, unsigned};
use crate::error::{corrupt, pg};
use crate::partitions::day_index;

/// Rows fetched per round trip when paging through history.
const FETCH: i32 = 64;

/// The record `seq` and the records its delta chain needs, fetched in one query.
const CHAIN: &str = "WITH RECURSIVE chain(seq, base_seq, record) AS ( \
     SELECT seq, base_seq, record FROM snapshots \
      WHERE host_id = $1 AND captured_ms >= $2 AND captured_ms < $3 AND seq = $4 \
     UNION ALL \
     SELECT s.seq, s.base_seq, s.record FROM chain c JOIN snapshots s ON s.seq = c.base_seq \
      WHERE s.host_id = $1 AND s.captured_ms >= $2 AND s.captured_ms < $3) \
     SELECT seq, record FROM chain";

/// Records at hand, by sequence number.
#[derive(Default)]
struct Fetched(HashMap<u64, Vec<u8>>);

impl RecordSource for Fetched {
    fn record(&self, seq: u64) -> Result<Option<Vec<u8>>, idlewatch_format::Error> {
        Ok(self.0.get(&seq).cloned())
    }
}

/// Decodes one host's records in order, fetching a chain only when a record's base is not the
/// record decoded just before.
pub(crate) struct Decoding {
    host: i32,
    chain: HostChain,
    last: Option<u64>,
}

impl Decoding {
    pub(crate) fn new(host: i32) -> Self {
        Self {
            host,
            chain: HostChain::new(),
            last: None,
        }
    }

    pub(crate) fn decode(
        &mut self,
        tx: &mut Transaction<'_>,
        seq: u64,
        captured_ms: i64,
        record: Vec<u8>,
    ) -> Result<(RecordHeader, Vec<u8>), Error> {
        let header = read_header(seq, &record)?;
        let mut source = Fetched::default();
        source.0.insert(seq, record);
        if let Some(base) = header.base
            && self.last != Some(base)
        {
            // Deltas never cross a UTC day: the chain is in this record's partition.
            let day = day_index(captured_ms);
            let rows = tx
                .query(
                    CHAIN,
                    &[
                        &self.host,
                        &day.saturating_mul(DAY_MS),
                        &day.saturating_add(1).saturating_mul(DAY_MS),
                        &signed(base),
                    ],
                )
                .map_err(|e| pg("reading a record's delta chain", &e))?;
            for row in rows {
                source.0.insert(unsigned(row.get(0)), row.get(1));
            }
        }
        let decoded = self.chain.get(&source, seq)?;
        self.last = Some(seq);
        Ok(decoded)
    }
}

/// A read-only transaction that sees one state of the database throughout.
pub(crate) fn begin(client: &mut postgres::Client) -> Result<Transaction<'_>, Error> {
    client
        .build_transaction()
        .read_only(true)
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .map_err(|e| pg("starting a read", &e))
}

pub(crate) fn host_id(tx: &mut Transaction<'_>, host: &str) -> Result<Option<i32>, Error> {
    Ok(tx
        .query_opt("SELECT id FROM hosts WHERE name = $1", &[&host])
        .map_err(|e| pg("reading a host's id", &e))?
        .map(|r| r.get(0)))
}

/// Where a query's rows start, inclusive: `(captured_ms, seq)`.
fn start(query: &HistoryQuery) -> (i64, i64) {
    match query.after {
        Some((t, n)) => (t, signed(n).saturating_add(1)),
        None => (query.from_ms.unwrap_or(i64::MIN), i64::MIN),
    }
}

pub(crate) fn history_bounded(
    tx: &mut Transaction<'_>,
    query: &HistoryQuery,
    max_bytes: usize,
) -> Result<HistoryPage, Error> {
    let id = host_id(tx, &query.host)?.ok_or_else(|| Error::UnknownHost(query.host.clone()))?;
    let (from, from_seq) = start(query);
    let to = query.to_ms.unwrap_or(i64::MAX);
    let portal = tx
        .bind(
            "SELECT seq, captured_ms, record FROM snapshots WHERE host_id = $1 \
             AND captured_ms >= $2 AND (captured_ms, seq) >= ($2, $3) AND captured_ms < $4 \
             ORDER BY captured_ms, seq",
            &[&id, &from, &from_seq, &to],
        )
        .map_err(|e| pg("reading history", &e))?;
    let mut decoding = Decoding::new(id);
    let mut snapshots = Vec::new();
    let (mut last, mut next, mut bytes, mut stop) = (None, None, 0usize, false);
    'pages: loop {
        let rows = tx
            .query_portal(&portal, FETCH)
            .map_err(|e| pg("reading history", &e))?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if snapshots.len() == query.limit || stop {
                next = last;
                break 'pages;
            }
            let seq = unsigned(row.get(0));
            let captured_ms: i64 = row.get(1);
            let (header, json) = decoding.decode(tx, seq, captured_ms, row.get(2))?;
            let snapshot = StoredSnapshot::decoded(&header, json)?;
            bytes = bytes.saturating_add(snapshot.json.len());
            stop = bytes >= max_bytes;
            snapshots.push(snapshot);
            last = Some((captured_ms, seq));
        }
    }
    Ok(HistoryPage { snapshots, next })
}

fn summary_of(row: &Row) -> Result<Summary, Error> {
    let apps: String = row.get(11);
    let apps: Vec<(String, u8)> = serde_json::from_str(&apps)
        .map_err(|e| corrupt(format!("a snapshot's apps column: {e}")))?;
    let apps = apps
        .into_iter()
        .map(|(name, state)| {
            state_of_byte(state)
                .map(|s| (name, s))
                .map_err(|e| corrupt(format!("a snapshot's apps column: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let login_user: Option<String> = row.get(9);
    Ok(Summary {
        idle_seconds: row.get(3),
        user_active: row.get(4),
        cpu_percent: row.get(5),
        memory_percent: row.get(6),
        processes: row.get::<_, Option<i64>>(7).map(unsigned),
        foreground_process: row.get(8),
        apps,
        session: login_user.map(|user| SessionSummary {
            user,
            since_ms: row.get(10),
        }),
    })
}

/// The columns a [`SummaryRow`] is read from, in [`summary_row`]'s order.
pub(crate) const SUMMARY_COLUMNS: &str = "seq, received_ms, captured_ms, idle_seconds, user_active, \
     cpu_percent, memory_percent, processes, foreground, login_user, logon_ms, apps::text";

pub(crate) fn summary_row(row: &Row) -> Result<SummaryRow, Error> {
    Ok(SummaryRow {
        seq: unsigned(row.get(0)),
        received_ms: row.get(1),
        captured_ms: row.get(2),
        summary: summary_of(row)?,
    })
}

pub(crate) fn record_before(
    tx: &mut Transaction<'_>,
    host: &str,
    not_before_ms: i64,
    at_ms: i64,
) -> Result<Option<SummaryRow>, Error> {
    let Some(id) = host_id(tx, host)? else {
        return Ok(None);
    };
    tx.query_opt(
        &format!(
            "SELECT {SUMMARY_COLUMNS} FROM snapshots WHERE host_id = $1 AND captured_ms >= $2 \
             AND captured_ms < $3 ORDER BY captured_ms DESC, seq DESC LIMIT 1"
        ),
        &[&id, &not_before_ms, &at_ms],
    )
    .map_err(|e| pg("reading the snapshot before a range", &e))?
    .as_ref()
    .map(summary_row)
    .transpose()
}

pub(crate) fn summaries(
    tx: &mut Transaction<'_>,
    query: &HistoryQuery,
) -> Result<SummaryPage, Error> {
    let id = host_id(tx, &query.host)?.ok_or_else(|| Error::UnknownHost(query.host.clone()))?;
    let (from, from_seq) = start(query);
    let to = query.to_ms.unwrap_or(i64::MAX);
    let limit = i64::try_from(query.limit)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    let rows = tx
        .query(
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM snapshots WHERE host_id = $1 \
                 AND captured_ms >= $2 AND (captured_ms, seq) >= ($2, $3) AND captured_ms < $4 \
                 ORDER BY captured_ms, seq LIMIT $5"
            ),
            &[&id, &from, &from_seq, &to, &limit],
        )
        .map_err(|e| pg("reading summaries", &e))?;
    let more = rows.len() > query.limit;
    let rows = rows
        .iter()
        .take(query.limit)
        .map(summary_row)
        .collect::<Result<Vec<_>, Error>>()?;
    let next = more
        .then(|| rows.last().map(|r| (r.captured_ms, r.seq)))
        .flatten();
    Ok(SummaryPage { rows, next })
}

fn latest_of_id(
    tx: &mut Transaction<'_>,
    id: i32,
    not_after_ms: i64,
) -> Result<Option<StoredSnapshot>, Error> {
    let Some(row) = tx
        .query_opt(
            "SELECT seq, captured_ms, record FROM snapshots WHERE host_id = $1 \
             AND captured_ms <= $2 ORDER BY captured_ms DESC, seq DESC LIMIT 1",
            &[&id, &not_after_ms],
        )
        .map_err(|e| pg("reading a host's latest snapshot", &e))?
    else {
        return Ok(None);
    };
    let (header, json) =
        Decoding::new(id).decode(tx, unsigned(row.get(0)), row.get(1), row.get(2))?;
    StoredSnapshot::decoded(&header, json).map(Some)
}

pub(crate) fn latest_of(
    tx: &mut Transaction<'_>,
    host: &str,
    not_after_ms: i64,
) -> Result<Option<StoredSnapshot>, Error> {
    match host_id(tx, host)? {
        Some(id) => latest_of_id(tx, id, not_after_ms),
        None => Ok(None),
    }
}

/// Every host's latest record in one query (each host's found by its index); a record that is
/// a delta then fetches its chain.
pub(crate) fn latest_per_host(
    tx: &mut Transaction<'_>,
    not_after_ms: i64,
) -> Result<Vec<LatestOfHost>, Error> {
    let rows = tx
        .query(
            "SELECT h.id, h.name, l.seq, l.captured_ms, l.record FROM hosts h \
             CROSS JOIN LATERAL (SELECT seq, captured_ms, record FROM snapshots s \
               WHERE s.host_id = h.id AND s.captured_ms <= $1 \
               ORDER BY s.captured_ms DESC, s.seq DESC LIMIT 1) l",
            &[&not_after_ms],
        )
        .map_err(|e| pg("reading every host's latest snapshot", &e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (header, json) =
            Decoding::new(row.get(0)).decode(tx, unsigned(row.get(2)), row.get(3), row.get(4))?;
        out.push(LatestOfHost {
            host: row.get(1),
            snapshot: StoredSnapshot::decoded(&header, json)?,
        });
    }
    Ok(out)
}

pub(crate) fn snapshot_count(tx: &mut Transaction<'_>) -> Result<u64, Error> {
    crate::counts::total(tx)
}

pub(crate) fn host_names(tx: &mut Transaction<'_>) -> Result<Vec<String>, Error> {
    Ok(tx
        .query(
            "SELECT name FROM hosts h WHERE EXISTS (SELECT 1 FROM snapshots WHERE host_id = h.id) \
             OR EXISTS (SELECT 1 FROM minutes WHERE host_id = h.id) \
             OR EXISTS (SELECT 1 FROM days WHERE host_id = h.id) \
             ORDER BY name COLLATE \"C\"",
            &[],
        )
        .map_err(|e| pg("reading host names", &e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
