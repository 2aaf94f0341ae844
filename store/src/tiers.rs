//! Reading the minute and day tiers of the redb file: a host's minutes (or the hours of its
//! day rows) over a range, where its full records start to count, and the record just before a
//! time (whose coverage may run past it), so that reports read minutes up to `detail_from` and
//! records from there and count every moment once. Which rows answer is decided in
//! [`crate::tier_walk`], for this file and the cluster's PostgreSQL store alike.

use idlewatch_format::minutes::Minute;
#[cfg(doc)]
use idlewatch_format::minutes::{HOUR_MS, MINUTE_MS};
use idlewatch_format::{
    BY_TIME, DAYS, DETAIL_FROM, HOST_IDS, HostChain, MINUTES, RECORDS, read_header,
};
use redb::{ReadTransaction, ReadableDatabase, ReadableTable};

use crate::summary_hours::summary_of;
use crate::tier_walk::{self, TierSource};
use crate::{Error, Store, SummaryRow};

/// One host-minute read back, or one host-hour from a day row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteRow {
    /// The minute's (or hour's) start, epoch ms.
    pub at_ms: i64,
    /// Its length: [`MINUTE_MS`], or [`HOUR_MS`] for an hour of a day row.
    pub span_ms: i64,
    /// What it held.
    pub minute: Minute,
    /// For an hour of a day row, its active ms per quarter hour.
    pub active_quarters: Option<[u32; 4]>,
}

/// The rows of a table of `(host_id, time)` keys, and the bytes of their values.
fn sizes(
    store: &Store,
    table: redb::TableDefinition<(u32, i64), &[u8]>,
) -> Result<(u64, u64), Error> {
    let txn = store.db()?.begin_read()?;
    let (mut rows, mut bytes) = (0u64, 0u64);
    for entry in txn.open_table(table)?.iter()? {
        rows += 1;
        bytes += entry?.1.value().len() as u64;
    }
    Ok((rows, bytes))
}

/// A read transaction and `host`'s id in it (`None`: the store does not know the host).
fn read_host(store: &Store, host: &str) -> Result<(ReadTransaction, Option<u32>), Error> {
    let txn = store.db()?.begin_read()?;
    let id = txn.open_table(HOST_IDS)?.get(host)?.map(|v| v.value());
    Ok((txn, id))
}

/// Up to `limit` rows of host `id` in a table of `(host_id, time)` keys, from `from` to
/// before `to`.
fn rows(
    txn: &ReadTransaction,
    table: redb::TableDefinition<(u32, i64), &[u8]>,
    id: u32,
    from: i64,
    to: i64,
    limit: usize,
) -> Result<Vec<(i64, Vec<u8>)>, Error> {
    if from >= to {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in txn
        .open_table(table)?
        .range((id, from)..(id, to))?
        .take(limit)
    {
        let (key, value) = entry?;
        out.push((key.value().1, value.value().to_vec()));
    }
    Ok(out)
}

/// One host's tiers in a redb read transaction.
struct RedbTiers {
    txn: ReadTransaction,
    id: u32,
}

impl TierSource for RedbTiers {
    fn detail_from(&mut self) -> Result<Option<i64>, Error> {
        Ok(self
            .txn
            .open_table(DETAIL_FROM)?
            .get(self.id)?
            .map(|v| v.value()))
    }

    fn days(
        &mut self,
        from_day: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        rows(&self.txn, DAYS, self.id, from_day, to_ms, limit)
    }

    fn hour(&mut self, hour: i64) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .txn
            .open_table(MINUTES)?
            .get((self.id, hour))?
            .map(|v| v.value().to_vec()))
    }

    fn hours(
        &mut self,
        from_hour: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        rows(&self.txn, MINUTES, self.id, from_hour, to_ms, limit)
    }
}

impl Store {
    /// `host`'s tiers, `None` when the store does not know the host.
    fn tiers_of(&self, host: &str) -> Result<Option<RedbTiers>, Error> {
        let (txn, id) = read_host(self, host)?;
        Ok(id.map(|id| RedbTiers { txn, id }))
    }

    /// Where `host`'s full records start to count: what was captured before is in its minute
    /// rows. `None` when nothing of the host has aged (or the host is unknown).
    ///
    /// # Errors
    /// Storage errors.
    pub fn detail_from(&self, host: &str) -> Result<Option<i64>, Error> {
        match self.tiers_of(host)? {
            Some(mut tiers) => tiers.detail_from(),
            None => Ok(None),
        }
    }

    /// `host`'s minutes starting in `[from_ms, to_ms)` that hold anything (a minute without a
    /// row was offline), in order.
    ///
    /// # Errors
    /// Storage errors; a minute row that does not decode.
    pub fn minutes(&self, host: &str, from_ms: i64, to_ms: i64) -> Result<Vec<MinuteRow>, Error> {
        let mut out = Vec::new();
        if let Some(mut tiers) = self.tiers_of(host)? {
            tier_walk::each_minute(&mut tiers, host, from_ms, to_ms, &mut |row| {
                out.push(row);
                Ok::<bool, Error>(true)
            })?;
        }
        Ok(out)
    }

    /// Calls `each` with `host`'s usage rows over `[from_ms, to_ms)`, in order, until it
    /// answers false (see [`tier_walk::each_tier_row`]).
    ///
    /// # Errors
    /// Storage errors; a row that does not decode; the first error `each` returns.
    pub fn each_tier_row<E: From<Error>>(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        fine: impl Fn(i64) -> bool,
        each: impl FnMut(MinuteRow) -> Result<bool, E>,
    ) -> Result<(), E> {
        match self.tiers_of(host)? {
            Some(mut tiers) => {
                tier_walk::each_tier_row(&mut tiers, host, from_ms, to_ms, fine, each)
            }
            None => Ok(()),
        }
    }

    /// Host-days of day rows stored, and the bytes of their values.
    ///
    /// # Errors
    /// Storage errors.
    pub fn day_sizes(&self) -> Result<(u64, u64), Error> {
        sizes(self, DAYS)
    }

    /// Host-hours of minute rows stored, and the bytes of their values.
    ///
    /// # Errors
    /// Storage errors.
    pub fn minute_sizes(&self) -> Result<(u64, u64), Error> {
        sizes(self, MINUTES)
    }

    /// `host`'s first minute with anything in it (see [`tier_walk::first_minute`]).
    ///
    /// # Errors
    /// Storage errors; a row that does not decode.
    pub fn first_minute(&self, host: &str) -> Result<Option<i64>, Error> {
        match self.tiers_of(host)? {
            Some(mut tiers) => tier_walk::first_minute(&mut tiers, host),
            None => Ok(None),
        }
    }

    /// `host`'s last record captured before `at_ms` and at or after `not_before_ms`, aged or
    /// not: its coverage may run past `at_ms`.
    ///
    /// # Errors
    /// Storage errors.
    pub fn record_before(
        &self,
        host: &str,
        not_before_ms: i64,
        at_ms: i64,
    ) -> Result<Option<SummaryRow>, Error> {
        let (txn, Some(id)) = read_host(self, host)? else {
            return Ok(None);
        };
        let by_time = txn.open_table(BY_TIME)?;
        let Some(entry) = by_time
            .range((id, not_before_ms, 0)..(id, at_ms, 0))?
            .next_back()
        else {
            return Ok(None);
        };
        let (_, captured_ms, seq) = entry?.0.value();
        let records = txn.open_table(RECORDS)?;
        let received_ms = {
            let bytes = records
                .get(seq)?
                .ok_or_else(|| Error::Corrupt(format!("record {seq} is indexed but missing")))?;
            read_header(seq, bytes.value())?.received_ms
        };
        let summary = summary_of(&records, &mut HostChain::new(), seq)?;
        Ok(Some(SummaryRow {
            seq,
            received_ms,
            captured_ms,
            summary,
        }))
    }
}
