//! Summary hours ([`idlewatch_format::summary_hours`]) in the redb file: built on the writer
//! thread a few hours at a time once each hour has settled, removed in the same transaction
//! as any record of their hour is added or deleted, and read in place of the records where
//! present — so a host-day's summaries cost 24 reads of one row instead of 17,280 record
//! lookups, and every reader gets exactly the rows the records would give.

use idlewatch_format::minutes::HOUR_MS;
use idlewatch_format::summary_hours::{SummaryRow, decode_hour, encode_hour};
use idlewatch_format::{
    BY_TIME, DETAIL_FROM, HOST_NAMES, HostChain, RECORDS, SUMMARY_HOURS, SUMMARY_HOURS_TO,
    read_header,
};
use redb::{Database, Durability, ReadTransaction, ReadableTable, Table, WriteTransaction};

use crate::{Error, Summary};

/// How long after its end an hour is left to settle before its summaries are gathered:
/// snapshots an agent spooled through a short outage arrive within it and cost no rebuild.
pub const HOUR_SETTLE_MS: i64 = 15 * 60_000;

/// Records read per building transaction (two hours of a PC at a 5 s interval: a few ms).
const STEP_RECORDS: usize = 1_440;

/// The start of the UTC hour holding `ms` (kept clear of the ends of `i64`).
fn hour_of(ms: i64) -> i64 {
    ms.clamp(i64::MIN / 2, i64::MAX / 2).div_euclid(HOUR_MS) * HOUR_MS
}

/// The summary of record `seq` (summarized from its JSON when written before summaries were).
pub(crate) fn summary_of<T>(records: &T, chain: &mut HostChain, seq: u64) -> Result<Summary, Error>
where
    T: ReadableTable<u64, &'static [u8]>,
{
    let bytes = records
        .get(seq)?
        .ok_or_else(|| Error::Corrupt(format!("record {seq} is indexed but missing")))?;
    if let Some(summary) = idlewatch_format::read_summary(seq, bytes.value())? {
        return Ok(summary);
    }
    drop(bytes);
    let (_, json) = chain.get(records, seq)?;
    Ok(std::str::from_utf8(&json)
        .ok()
        .and_then(|text| idlewatch_protocol::SnapshotFields::parse(text).ok())
        .map(|fields| Summary::of(&fields))
        .unwrap_or_default())
}

/// Record `seq`'s times and summary, from one lookup (records written before summaries
/// were are summarized from their JSON).
pub(crate) fn summary_row<T>(
    records: &T,
    chain: &mut HostChain,
    seq: u64,
) -> Result<SummaryRow, Error>
where
    T: ReadableTable<u64, &'static [u8]>,
{
    let (header, summary) = {
        let bytes = records
            .get(seq)?
            .ok_or_else(|| Error::Corrupt(format!("record {seq} is indexed but missing")))?;
        (
            read_header(seq, bytes.value())?,
            idlewatch_format::read_summary(seq, bytes.value())?,
        )
    };
    let summary = match summary {
        Some(summary) => summary,
        None => summary_of(records, chain, seq)?,
    };
    Ok(SummaryRow {
        seq,
        received_ms: header.received_ms,
        captured_ms: header.captured_ms,
        summary,
    })
}

/// The summary hours a write transaction changes: open once per transaction.
pub(crate) struct Changes<'t> {
    hours: Table<'t, (u32, i64), &'static [u8]>,
    resume: Table<'t, u32, i64>,
}

impl<'t> Changes<'t> {
    pub(crate) fn open(txn: &'t WriteTransaction) -> Result<Self, Error> {
        Ok(Self {
            hours: txn.open_table(SUMMARY_HOURS)?,
            resume: txn.open_table(SUMMARY_HOURS_TO)?,
        })
    }

    /// Host `id`'s records captured from `from_ms` to `last_ms` (inclusive) changed: their
    /// hours' rows go, and building resumes from the first of them.
    pub(crate) fn records(&mut self, id: u32, from_ms: i64, last_ms: i64) -> Result<(), Error> {
        let (from, last) = (hour_of(from_ms), hour_of(last_ms));
        if from == last {
            // One hour (an append): a lookup, and a change only when there is a row.
            if self.hours.get((id, from))?.is_some() {
                self.hours.remove((id, from))?;
            }
        } else {
            self.hours
                .retain_in((id, from)..=(id, last), |_, _| false)?;
        }
        let resume = self.resume.get(id)?.map(|v| v.value());
        if resume.is_some_and(|at| at > from) {
            self.resume.insert(id, from)?;
        }
        Ok(())
    }

    /// Host `id` is gone: all its rows go.
    pub(crate) fn host_removed(&mut self, id: u32) -> Result<(), Error> {
        self.hours
            .retain_in((id, i64::MIN)..=(id, i64::MAX), |_, _| false)?;
        self.resume.remove(id)?;
        Ok(())
    }
}

/// One building round: every host's settled hours without a row, oldest first.
pub(crate) struct HourBuilder {
    /// Hours starting before this have settled.
    until_ms: i64,
    /// Hosts still to build, the next last; read at the first step.
    hosts: Option<Vec<u32>>,
    built: u64,
}

impl HourBuilder {
    /// A round over the hours settled at `now_ms`.
    pub(crate) fn new(now_ms: i64) -> Self {
        Self {
            until_ms: hour_of(now_ms.saturating_sub(HOUR_SETTLE_MS)),
            hosts: None,
            built: 0,
        }
    }

    /// Host-hours built so far.
    pub(crate) fn built(&self) -> u64 {
        self.built
    }

    /// Builds hours until about [`STEP_RECORDS`] records are read, in one transaction that
    /// needs no fsync of its own (the next group commit makes it durable; lost, the hours are
    /// built again). Returns whether work remains.
    pub(crate) fn step(&mut self, db: &Database) -> Result<bool, Error> {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::None)?;
        if self.hosts.is_none() {
            let mut ids = txn
                .open_table(HOST_NAMES)?
                .iter()?
                .map(|e| e.map(|(k, _)| k.value()))
                .collect::<Result<Vec<_>, _>>()?;
            ids.reverse();
            self.hosts = Some(ids);
        }
        let hosts = self.hosts.get_or_insert_with(Vec::new);
        let mut read = 0;
        while read < STEP_RECORDS {
            let Some(&id) = hosts.last() else { break };
            match build_next(&txn, id, self.until_ms)? {
                Some(rows) => {
                    read += rows.max(1);
                    self.built += u64::from(rows > 0);
                }
                None => {
                    hosts.pop();
                }
            }
        }
        let more = !hosts.is_empty();
        txn.commit()?;
        Ok(more)
    }
}

/// Builds host `id`'s next settled hour without a row: `Some(rows read)` (0 when the hour
/// had its row already), or `None` when none is left before `until_ms`.
fn build_next(txn: &WriteTransaction, id: u32, until_ms: i64) -> Result<Option<usize>, Error> {
    let mut resume = txn.open_table(SUMMARY_HOURS_TO)?;
    let at = resume.get(id)?.map_or(i64::MIN, |v| v.value());
    let detail_from = txn
        .open_table(DETAIL_FROM)?
        .get(id)?
        .map_or(i64::MIN, |v| v.value());
    // Hours before the records count from are read from minutes, never from here.
    let from = at.max(hour_of(detail_from));
    let by_time = txn.open_table(BY_TIME)?;
    let first = if from < until_ms {
        by_time
            .range((id, from, 0)..(id, until_ms, 0))?
            .next()
            .transpose()?
            .map(|(key, _)| key.value().1)
    } else {
        None
    };
    let Some(captured_ms) = first else {
        if at < until_ms {
            resume.insert(id, until_ms)?;
        }
        return Ok(None);
    };
    let hour = hour_of(captured_ms);
    let mut hours = txn.open_table(SUMMARY_HOURS)?;
    let mut read = 0;
    if hours.get((id, hour))?.is_none() {
        let records = txn.open_table(RECORDS)?;
        let mut chain = HostChain::new();
        let mut rows = Vec::new();
        for entry in by_time.range((id, hour, 0)..(id, hour + HOUR_MS, 0))? {
            let (_, _, seq) = entry?.0.value();
            rows.push(summary_row(&records, &mut chain, seq)?);
        }
        read = rows.len();
        let value = encode_hour(&rows).map_err(|e| Error::Corrupt(e.to_owned()))?;
        hours.insert((id, hour), value.as_slice())?;
    }
    resume.insert(id, hour + HOUR_MS)?;
    Ok(Some(read))
}

/// Where a page of summaries continues: `(captured_ms, seq)` of its last row.
pub(crate) type Cursor = Option<(i64, u64)>;

/// Up to `limit` of host `id`'s summary rows with `(captured_ms, seq)` from `start` to before
/// `end`, in that order, read from its summary hours where they are and from its records
/// elsewhere; and where the next page starts when more remain.
pub(crate) fn read_summaries(
    txn: &ReadTransaction,
    id: u32,
    start: (i64, u64),
    end: (i64, u64),
    limit: usize,
) -> Result<(Vec<SummaryRow>, Cursor), Error> {
    let hours = match txn.open_table(SUMMARY_HOURS) {
        Ok(table) => Some(table),
        // A file not yet migrated to schema 13 (read-only tools): the records answer.
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let by_time = txn.open_table(BY_TIME)?;
    let records = txn.open_table(RECORDS)?;
    let mut chain = HostChain::new();
    let mut out: Vec<SummaryRow> = Vec::with_capacity(limit.min(4096));
    let cursor = |out: &[SummaryRow]| out.last().map(|r| (r.captured_ms, r.seq));
    let mut at = start;
    while at < end {
        let hour = hour_of(at.0);
        let value = match &hours {
            Some(hours) => hours.get((id, hour))?,
            None => None,
        };
        if let Some(value) = value {
            let mut more = false;
            decode_hour(value.value(), |row: SummaryRow| {
                let key = (row.captured_ms, row.seq);
                if !more && key >= at && key < end {
                    if out.len() == limit {
                        more = true;
                    } else {
                        out.push(row);
                    }
                }
                Ok::<(), DecodeError>(())
            })
            .map_err(|e| Error::Corrupt(format!("summary hour {hour} of host {id}: {}", e.0)))?;
            if more {
                let next = cursor(&out);
                return Ok((out, next));
            }
            at = (hour + HOUR_MS, 0);
            continue;
        }
        // No row for this hour: its records, up to the first record of a later hour.
        let mut later = None;
        for entry in by_time.range((id, at.0, at.1)..(id, end.0, end.1))? {
            let (_, captured_ms, seq) = entry?.0.value();
            if hour_of(captured_ms) != hour {
                later = Some(hour_of(captured_ms));
                break;
            }
            if out.len() == limit {
                let next = cursor(&out);
                return Ok((out, next));
            }
            out.push(summary_row(&records, &mut chain, seq)?);
        }
        match later {
            Some(hour) => at = (hour, 0),
            None => break,
        }
    }
    Ok((out, None))
}

/// How host `id`'s row of `hour` differs from its records (for `db check`), `None` when it
/// holds exactly their summaries.
pub(crate) fn differs(
    txn: &ReadTransaction,
    id: u32,
    hour: i64,
    value: &[u8],
) -> Result<Option<String>, Error> {
    let mut rows = Vec::new();
    if let Err(e) = decode_hour(value, |row: SummaryRow| {
        rows.push(row);
        Ok::<(), DecodeError>(())
    }) {
        return Ok(Some(e.0.to_owned()));
    }
    let by_time = txn.open_table(BY_TIME)?;
    let records = txn.open_table(RECORDS)?;
    let mut chain = HostChain::new();
    let mut expected = Vec::with_capacity(rows.len());
    for entry in by_time.range((id, hour, 0)..(id, hour + HOUR_MS, 0))? {
        let (_, _, seq) = entry?.0.value();
        // A damaged record is a problem of its own, reported with its host.
        match summary_row(&records, &mut chain, seq) {
            Ok(row) => expected.push(row),
            Err(e) => return Ok(Some(format!("not compared: record {seq}: {e}"))),
        }
    }
    Ok((rows != expected).then(|| {
        format!(
            "holds {} summaries that differ from its {} records' (reads of that hour would \
             differ from its snapshots; deleting the host's snapshots of the hour removes it)",
            rows.len(),
            expected.len()
        )
    }))
}

/// A decoding failure's reason.
struct DecodeError(&'static str);

impl From<&'static str> for DecodeError {
    fn from(reason: &'static str) -> Self {
        Self(reason)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::mpsc;

    use idlewatch_format::HOST_IDS;
    use idlewatch_protocol::Snapshot;
    use redb::{ReadableDatabase, ReadableTableMetadata};

    use super::*;
    use crate::{HistoryQuery, OpenOptions, Store};

    /// 2100-01-01 00:00 UTC: no round in the background reaches it.
    const T0: i64 = 4_102_444_800_000;

    fn append(store: &Store, at: i64, cpu: u32) {
        let (tx, rx) = mpsc::channel();
        let json = format!(r#"{{"host":"pc","captured_at":{at},"cpu_percent":{cpu}}}"#);
        store
            .try_append(
                Arc::new(Snapshot::parse(&json).unwrap()),
                at + 10,
                Box::new(move |r| tx.send(r.is_ok()).unwrap()),
            )
            .unwrap();
        assert!(rx.recv().unwrap());
    }

    fn cpus(store: &Store) -> Vec<Option<f64>> {
        let page = store
            .summaries(&HistoryQuery {
                host: "pc".to_owned(),
                from_ms: None,
                to_ms: None,
                limit: 100,
                after: None,
            })
            .unwrap();
        page.rows.iter().map(|r| r.summary.cpu_percent).collect()
    }

    #[test]
    fn reads_take_the_gathered_hour_and_an_append_to_it_sends_them_back_to_the_records() {
        let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        append(&store, T0 + 1_000, 10);
        append(&store, T0 + 2_000, 20);
        assert_eq!(store.gather_summary_hours(T0 + 2 * HOUR_MS).unwrap(), 1);
        // The hour's row as read: replace it with one that says otherwise.
        let db = store.db().unwrap();
        let txn = db.begin_write().unwrap();
        {
            let id = txn
                .open_table(HOST_IDS)
                .unwrap()
                .get("pc")
                .unwrap()
                .unwrap()
                .value();
            let mut hours = txn.open_table(SUMMARY_HOURS).unwrap();
            let mut rows = Vec::new();
            decode_hour::<DecodeError>(hours.get((id, T0)).unwrap().unwrap().value(), |row| {
                rows.push(row);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}", e.0));
            assert_eq!(rows.len(), 2);
            rows[0].summary.cpu_percent = Some(99.0);
            hours
                .insert((id, T0), encode_hour(&rows).unwrap().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
        drop(db);
        assert_eq!(cpus(&store), [Some(99.0), Some(20.0)]);
        // A record added to that hour removes its row: the records answer again.
        append(&store, T0 + 3_000, 30);
        assert_eq!(cpus(&store), [Some(10.0), Some(20.0), Some(30.0)]);
        let txn = store.db().unwrap().begin_read().unwrap();
        assert!(txn.open_table(SUMMARY_HOURS).unwrap().is_empty().unwrap());
    }
}
