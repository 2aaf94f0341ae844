//! Aging: folding each host's full records captured before a cutoff into minute rows
//! ([`idlewatch_format::minutes`]), one hour of one host per transaction on the writer thread
//! between group commits (720 records at a 5 s interval), so that ingest is never held up long.
//!
//! Per host, `detail_from` is where its full records start to count: folding the hours before
//! it moves it forward in the same transaction that stores their minute rows, so a reader sees
//! every moment once, as minutes or as snapshots. Records before it are then deleted a day at a
//! time through the deleter (which rewrites the first kept record as a keyframe), except the
//! last one: it may cover the first minutes after `detail_from`, and readers ask for it.
//!
//! The transaction that folds the last hour of a UTC day with anything in it also builds the
//! host's day row of that day from its minute rows ([`idlewatch_format::days`]); once every
//! host is folded, the round deletes minute rows older than `[retention] minutes`
//! ([`crate::trim`]).

use idlewatch_format::days::build_day;
use idlewatch_format::minutes::{FoldPoint, HOUR_MS, HourBlock};
use idlewatch_format::{
    BY_TIME, DAY_MS, DETAIL_FROM, HOST_NAMES, HostChain, MINUTES, RECORDS, day_of,
};
use redb::{Database, ReadableDatabase, ReadableTable};

use crate::Error;
use crate::delete::{DeleteQuery, Deleter};
use crate::summary_hours::summary_of;
use crate::trim::{Trimmer, folded_whole};

/// Progress of one aging round.
pub(crate) struct Ager {
    before_ms: i64,
    cover_ms: i64,
    /// Hosts still to fold, the next last; read at the first step.
    hosts: Option<Vec<(u32, String)>>,
    /// The folded host's old records being deleted.
    sweep: Option<Deleter>,
    folded_hours: u64,
    removed: u64,
    /// Trimming the minute tier, once every host is folded.
    trim: Option<Trimmer>,
}

impl Ager {
    /// Folds what was captured before `before_ms` (rounded down to the hour), each snapshot
    /// covering at most `cover_ms`.
    /// Then deletes the minute rows of the whole days before `minutes_before_ms`, if given.
    pub(crate) fn new(before_ms: i64, cover_ms: i64, minutes_before_ms: Option<i64>) -> Self {
        Self {
            before_ms: before_ms.div_euclid(HOUR_MS) * HOUR_MS,
            cover_ms,
            hosts: None,
            sweep: None,
            folded_hours: 0,
            removed: 0,
            trim: minutes_before_ms.map(Trimmer::new),
        }
    }

    /// Host-hours of minute rows deleted so far.
    pub(crate) fn trimmed_hours(&self) -> u64 {
        self.trim.as_ref().map_or(0, Trimmer::removed_hours)
    }

    /// Host-hours folded so far.
    pub(crate) fn folded_hours(&self) -> u64 {
        self.folded_hours
    }

    /// Records deleted so far.
    pub(crate) fn removed(&self) -> u64 {
        self.removed + self.sweep.as_ref().map_or(0, Deleter::removed)
    }

    /// One transaction of work. Returns whether work remains.
    pub(crate) fn step(&mut self, db: &Database) -> Result<bool, Error> {
        if let Some(sweep) = self.sweep.as_mut() {
            let more = match sweep.step(db) {
                Ok(more) => more,
                Err(Error::UnknownHost(_)) => false,
                Err(e) => return Err(e),
            };
            if !more {
                self.removed += sweep.removed();
                self.sweep = None;
            }
            return Ok(true);
        }
        if self.hosts.is_none() {
            let txn = db.begin_read()?;
            let names = txn.open_table(HOST_NAMES)?;
            let mut hosts = Vec::new();
            for entry in names.iter()? {
                let (id, name) = entry?;
                hosts.push((id.value(), name.value().to_owned()));
            }
            hosts.reverse();
            self.hosts = Some(hosts);
        }
        let Some((id, name)) = self.hosts.as_ref().and_then(|h| h.last()).cloned() else {
            return match self.trim.as_mut() {
                Some(trim) => trim.step(db),
                None => Ok(false),
            };
        };
        let more = match self.fold_step(db, id) {
            Ok(more) => more,
            Err(e) => {
                // One host's unreadable record must not stop the others from aging.
                tracing::error!(host = %name, "cannot fold old snapshots into minutes: {e}");
                if let Some(hosts) = self.hosts.as_mut() {
                    hosts.pop();
                }
                return Ok(true);
            }
        };
        if !more {
            if let Some(hosts) = self.hosts.as_mut() {
                hosts.pop();
            }
            self.sweep = sweep_of(db, id, &name)?;
        }
        Ok(true)
    }

    /// Folds the next hour of host `id` (and skips the hours after it that nothing covers);
    /// false when it had none left.
    fn fold_step(&mut self, db: &Database, id: u32) -> Result<bool, Error> {
        let txn = db.begin_write()?;
        {
            let mut detail = txn.open_table(DETAIL_FROM)?;
            let by_time = txn.open_table(BY_TIME)?;
            let records = txn.open_table(RECORDS)?;
            let first_at_or_after = |t: i64| -> Result<Option<i64>, Error> {
                match by_time.range((id, t, 0)..=(id, i64::MAX, u64::MAX))?.next() {
                    Some(entry) => Ok(Some(entry?.0.value().1)),
                    None => Ok(None),
                }
            };
            let hour = match detail.get(id)?.map(|v| v.value()) {
                Some(from) => from,
                None => match first_at_or_after(i64::MIN)? {
                    Some(first) => first.div_euclid(HOUR_MS) * HOUR_MS,
                    None => return Ok(false),
                },
            };
            if hour >= self.before_ms {
                return Ok(false);
            }
            let end = hour + HOUR_MS;
            let mut chain = HostChain::new();
            let mut summary = |seq: u64| summary_of(&records, &mut chain, seq);
            let before = match by_time.range((id, i64::MIN, 0)..(id, hour, 0))?.next_back() {
                Some(entry) => {
                    let (_, at, seq) = entry?.0.value();
                    Some((at, summary(seq)?))
                }
                None => None,
            };
            let mut inside = Vec::new();
            for entry in by_time.range((id, hour, 0)..(id, end, 0))? {
                let (_, at, seq) = entry?.0.value();
                inside.push((at, summary(seq)?));
            }
            let next = first_at_or_after(end)?;
            let points: Vec<FoldPoint<'_>> = inside
                .iter()
                .map(|(at, s)| FoldPoint {
                    at_ms: *at,
                    summary: s,
                })
                .collect();
            let previous = before.as_ref().map(|(at, s)| FoldPoint {
                at_ms: *at,
                summary: s,
            });
            let block = HourBlock::fold(hour, self.cover_ms, previous, &points, next);
            let mut detail_from = end;
            if block.minutes.is_empty() {
                // Nothing covered it, so nothing covers the hours before the next record either:
                // that record's hour is the next to fold.
                let resume = next.map_or(self.before_ms, |n| n.div_euclid(HOUR_MS) * HOUR_MS);
                detail_from = resume.min(self.before_ms);
            } else {
                let bytes = block.encode().map_err(|e| {
                    Error::Corrupt(format!("cannot encode the minutes of an hour: {e}"))
                })?;
                txn.open_table(MINUTES)?
                    .insert((id, hour), bytes.as_slice())?;
            }
            detail.insert(id, detail_from)?;
            // The hour ended its day's folding: the hours after it up to `detail_from` hold
            // nothing, so the day is whole and its day row is built now.
            let day = day_of(hour);
            if folded_whole(day, detail_from) {
                build_day(&txn, id, day)?;
            }
            self.folded_hours += u64::try_from((detail_from - hour) / HOUR_MS).unwrap_or(0);
        }
        txn.commit()?;
        Ok(true)
    }
}

/// The deletion of host `id`'s records older than its last one before `detail_from`, once
/// they span more than a day (one keyframe rewritten per day of a host, not per hour).
fn sweep_of(db: &Database, id: u32, name: &str) -> Result<Option<Deleter>, Error> {
    let txn = db.begin_read()?;
    let Some(detail_from) = txn.open_table(DETAIL_FROM)?.get(id)?.map(|v| v.value()) else {
        return Ok(None);
    };
    let by_time = txn.open_table(BY_TIME)?;
    let mut folded = by_time.range((id, i64::MIN, 0)..(id, detail_from, 0))?;
    let (Some(first), Some(lead)) = (folded.next(), folded.next_back()) else {
        return Ok(None);
    };
    let (first_ms, lead_ms) = (first?.0.value().1, lead?.0.value().1);
    if lead_ms - first_ms < DAY_MS {
        return Ok(None);
    }
    Ok(Some(Deleter::aging(DeleteQuery {
        host: name.to_owned(),
        from_ms: None,
        to_ms: Some(lead_ms),
    })))
}
