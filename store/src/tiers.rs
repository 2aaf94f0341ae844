//! Reading the minute and day tiers: a host's minutes (or the hours of its day rows) over a range, where its full records start to
//! count, and the record just before a time (whose coverage may run past it), so that reports
//! read minutes up to `detail_from` and records from there and count every moment once.

use idlewatch_format::days::DayBlock;
use idlewatch_format::minutes::{HOUR_MS, HourBlock, MINUTE_MS, Minute};
use idlewatch_format::{
    BY_TIME, DAYS, DETAIL_FROM, HOST_IDS, HostChain, MINUTES, RECORDS, day_of, read_header,
};
use redb::{ReadTransaction, ReadableDatabase, ReadableTable};

use crate::age::summary_of;
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

/// The minute block of `host`'s hour starting at `hour`.
fn hour_block(host: &str, hour: i64, bytes: &[u8]) -> Result<HourBlock, Error> {
    HourBlock::decode(bytes)
        .map_err(|e| Error::Corrupt(format!("minutes of {host} at {hour}: {e}")))
}

/// The rows of `block` (the hour starting at `hour`) that start in `[from_ms, to_ms)`.
fn rows_of(
    block: HourBlock,
    hour: i64,
    from_ms: i64,
    to_ms: i64,
) -> impl Iterator<Item = MinuteRow> {
    block.minutes.into_iter().filter_map(move |(m, minute)| {
        let at_ms = hour + i64::from(m) * MINUTE_MS;
        (from_ms..to_ms).contains(&at_ms).then_some(MinuteRow {
            at_ms,
            span_ms: MINUTE_MS,
            minute,
            active_quarters: None,
        })
    })
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

impl Store {
    /// Where `host`'s full records start to count: what was captured before is in its minute
    /// rows. `None` when nothing of the host has aged (or the host is unknown).
    ///
    /// # Errors
    /// Storage errors.
    pub fn detail_from(&self, host: &str) -> Result<Option<i64>, Error> {
        let (txn, Some(id)) = read_host(self, host)? else {
            return Ok(None);
        };
        Ok(txn.open_table(DETAIL_FROM)?.get(id)?.map(|v| v.value()))
    }

    /// `host`'s minutes starting in `[from_ms, to_ms)` that hold anything (a minute without a
    /// row was offline), in order.
    ///
    /// # Errors
    /// Storage errors; a minute row that does not decode.
    pub fn minutes(&self, host: &str, from_ms: i64, to_ms: i64) -> Result<Vec<MinuteRow>, Error> {
        let mut out = Vec::new();
        self.each_minute(host, from_ms, to_ms, |row| {
            out.push(row);
            Ok::<bool, Error>(true)
        })?;
        Ok(out)
    }

    /// Calls `each` with `host`'s minutes starting in `[from_ms, to_ms)`, in order, one hour
    /// decoded at a time, until it answers false.
    ///
    /// # Errors
    /// As [`Store::minutes`], or the first error `each` returns.
    pub fn each_minute<E: From<Error>>(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        mut each: impl FnMut(MinuteRow) -> Result<bool, E>,
    ) -> Result<(), E> {
        let (txn, Some(id)) = read_host(self, host)? else {
            return Ok(());
        };
        if from_ms >= to_ms {
            return Ok(());
        }
        let table = txn.open_table(MINUTES).map_err(Error::from)?;
        let first_hour = from_ms.div_euclid(HOUR_MS) * HOUR_MS;
        for entry in table
            .range((id, first_hour)..(id, to_ms))
            .map_err(Error::from)?
        {
            let (key, value) = entry.map_err(Error::from)?;
            let hour = key.value().1;
            for row in rows_of(hour_block(host, hour, value.value())?, hour, from_ms, to_ms) {
                if !each(row)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// `host`'s usage rows over `[from_ms, to_ms)`, in order: each whole hour of a day it
    /// folded whole from its day row, unless `fine` asks for that hour's minutes (an hour that
    /// a local day, or opening hours off the quarter hour, cut); minute rows for the rest — and
    /// for an hour whose minutes were deleted by `[retention] minutes`, its hour row when it
    /// starts in the range.
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

    /// Calls `each` with the rows [`Store::tier_rows`] gives, in order, one hour block or day
    /// row decoded at a time, until it answers false.
    ///
    /// # Errors
    /// As [`Store::tier_rows`], or the first error `each` returns.
    pub fn each_tier_row<E: From<Error>>(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        fine: impl Fn(i64) -> bool,
        mut each: impl FnMut(MinuteRow) -> Result<bool, E>,
    ) -> Result<(), E> {
        let (txn, Some(id)) = read_host(self, host)? else {
            return Ok(());
        };
        if from_ms >= to_ms {
            return Ok(());
        }
        let whole_days_end = txn
            .open_table(DETAIL_FROM)
            .map_err(Error::from)?
            .get(id)
            .map_err(Error::from)?
            .map_or(i64::MIN, |v| day_of(v.value()));
        let hours_end = to_ms.min(whole_days_end);
        let minutes = txn.open_table(MINUTES).map_err(Error::from)?;
        // The minutes of `hour`, `None` when they are gone.
        let minutes_of = |hour: i64| -> Result<Option<HourBlock>, Error> {
            match minutes.get((id, hour))? {
                Some(bytes) => Ok(Some(hour_block(host, hour, bytes.value())?)),
                None => Ok(None),
            }
        };
        if from_ms < hours_end {
            let days = txn.open_table(DAYS).map_err(Error::from)?;
            for entry in days
                .range((id, day_of(from_ms))..(id, hours_end))
                .map_err(Error::from)?
            {
                let (key, value) = entry.map_err(Error::from)?;
                let day = key.value().1;
                let block = DayBlock::decode(value.value())
                    .map_err(|e| Error::Corrupt(format!("day row of {host} at {day}: {e}")))?;
                for h in block.hours {
                    let at_ms = day + i64::from(h.hour) * HOUR_MS;
                    if at_ms + HOUR_MS <= from_ms || at_ms >= hours_end {
                        continue;
                    }
                    let whole = at_ms >= from_ms && at_ms + HOUR_MS <= to_ms;
                    let block = if whole && !fine(at_ms) {
                        None
                    } else {
                        minutes_of(at_ms)?
                    };
                    match block {
                        Some(block) => {
                            for row in rows_of(block, at_ms, from_ms, to_ms) {
                                if !each(row)? {
                                    return Ok(());
                                }
                            }
                        }
                        // An hour whose minutes are gone counts where it starts in the range.
                        None if at_ms >= from_ms => {
                            let row = MinuteRow {
                                at_ms,
                                span_ms: HOUR_MS,
                                minute: h.sum,
                                active_quarters: Some(h.active_quarters),
                            };
                            if !each(row)? {
                                return Ok(());
                            }
                        }
                        None => {}
                    }
                }
            }
        }
        let rest = from_ms.max(hours_end);
        if rest < to_ms {
            for entry in minutes
                .range((id, rest.div_euclid(HOUR_MS) * HOUR_MS)..(id, to_ms))
                .map_err(Error::from)?
            {
                let (key, value) = entry.map_err(Error::from)?;
                let hour = key.value().1;
                for row in rows_of(hour_block(host, hour, value.value())?, hour, from_ms, to_ms) {
                    if !each(row)? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
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

    /// `host`'s first minute with anything in it, epoch ms (the start of its first hour with
    /// anything in it, once that hour's minutes were deleted and only its day row is left).
    ///
    /// # Errors
    /// As [`Store::minutes`].
    pub fn first_minute(&self, host: &str) -> Result<Option<i64>, Error> {
        let (txn, Some(id)) = read_host(self, host)? else {
            return Ok(None);
        };
        let first_hour = match txn
            .open_table(DAYS)?
            .range((id, i64::MIN)..=(id, i64::MAX))?
            .next()
        {
            Some(entry) => {
                let (key, value) = entry?;
                let day = key.value().1;
                let block = DayBlock::decode(value.value())
                    .map_err(|e| Error::Corrupt(format!("day row of {host} at {day}: {e}")))?;
                block
                    .hours
                    .first()
                    .map(|h| day + i64::from(h.hour) * HOUR_MS)
            }
            None => None,
        };
        let table = txn.open_table(MINUTES)?;
        let Some(first) = table.range((id, i64::MIN)..=(id, i64::MAX))?.next() else {
            return Ok(first_hour);
        };
        let (key, value) = first?;
        let hour = key.value().1;
        if first_hour.is_some_and(|h| h < hour) {
            return Ok(first_hour);
        }
        Ok(hour_block(host, hour, value.value())?
            .minutes
            .first()
            .map(|(m, _)| hour + i64::from(*m) * MINUTE_MS))
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
