//! Trimming the minute tier (`[retention] minutes`): once a host's minute rows are older than
//! the cutoff, they are deleted a week of one host per transaction — only from days the
//! host has folded whole, whose day rows ([`idlewatch_format::days`]) were built in the same
//! transaction that folded them and now answer for those hours.

use idlewatch_format::days::DayBlock;
use idlewatch_format::minutes::HOUR_MS;
use idlewatch_format::{DAY_MS, DAYS, DETAIL_FROM, HOST_NAMES, MINUTES, day_of};
use redb::{Database, ReadableDatabase, ReadableTable};

use crate::Error;

/// Most host-hours of minute rows removed per transaction (a week).
const CHUNK: usize = 168;

/// Progress of one trimming round.
pub(crate) struct Trimmer {
    /// Minute rows of days starting before this go.
    before_day_ms: i64,
    /// Hosts still to trim, the next last; read at the first step.
    hosts: Option<Vec<u32>>,
    removed_hours: u64,
}

impl Trimmer {
    /// Removes the minute rows of the whole UTC days before the one holding `before_ms`.
    pub(crate) fn new(before_ms: i64) -> Self {
        Self {
            before_day_ms: day_of(before_ms),
            hosts: None,
            removed_hours: 0,
        }
    }

    /// Host-hours of minute rows removed so far.
    pub(crate) fn removed_hours(&self) -> u64 {
        self.removed_hours
    }

    /// One transaction of work. Returns whether work remains.
    pub(crate) fn step(&mut self, db: &Database) -> Result<bool, Error> {
        if self.hosts.is_none() {
            let txn = db.begin_read()?;
            let mut hosts = Vec::new();
            for entry in txn.open_table(HOST_NAMES)?.iter()? {
                hosts.push(entry?.0.value());
            }
            hosts.reverse();
            self.hosts = Some(hosts);
        }
        let Some(&id) = self.hosts.as_ref().and_then(|h| h.last()) else {
            return Ok(false);
        };
        let txn = db.begin_write()?;
        let removed = {
            // Only days folded whole have their day row.
            let folded_days_end = txn
                .open_table(DETAIL_FROM)?
                .get(id)?
                .map_or(i64::MIN, |v| day_of(v.value()));
            let end = self.before_day_ms.min(folded_days_end);
            let mut minutes = txn.open_table(MINUTES)?;
            let doomed: Vec<i64> = minutes
                .range((id, i64::MIN)..(id, end))?
                .take(CHUNK)
                .map(|e| e.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            for hour in &doomed {
                minutes.remove((id, *hour))?;
            }
            doomed.len()
        };
        txn.commit()?;
        self.removed_hours += removed as u64;
        if removed < CHUNK
            && let Some(hosts) = self.hosts.as_mut()
        {
            hosts.pop();
        }
        Ok(true)
    }
}

/// Whether the day starting at `day_ms` has been folded whole when a host's records count
/// from `detail_from`.
#[must_use]
pub(crate) fn folded_whole(day_ms: i64, detail_from: i64) -> bool {
    day_ms.saturating_add(DAY_MS) <= detail_from
}

/// Removes the hours starting in `[from, to)` from host `id`'s day rows (a row left with none
/// goes): what a deletion or retention removed must not be answered from a day row.
pub(crate) fn remove_day_hours(
    txn: &redb::WriteTransaction,
    id: u32,
    from: i64,
    to: i64,
) -> Result<(), Error> {
    let mut days = txn.open_table(DAYS)?;
    let touched: Vec<(i64, Vec<u8>)> = days
        .range((id, day_of(from.max(i64::MIN / 2)))..(id, to))?
        .map(|e| e.map(|(k, v)| (k.value().1, v.value().to_vec())))
        .collect::<Result<_, _>>()?;
    for (day, bytes) in touched {
        let kept = DayBlock::decode(&bytes)
            .map_err(|e| Error::Corrupt(format!("day row of host {id} at {day}: {e}")))?
            .without(|h| (from..to).contains(&(day + i64::from(h) * HOUR_MS)));
        if kept.hours.is_empty() {
            days.remove((id, day))?;
        } else {
            let bytes = kept
                .encode()
                .map_err(|e| Error::Corrupt(format!("cannot encode a day row: {e}")))?;
            days.insert((id, day), bytes.as_slice())?;
        }
    }
    Ok(())
}
