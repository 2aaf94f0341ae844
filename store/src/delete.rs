//! Deleting one host's snapshots (all of them, or those captured in a range), in small
//! transactions on the writer thread between group commits, so ingest is never held up long.
//!
//! A record is a delta on its host's previous record by arrival, so a kept record whose base
//! is deleted is first rewritten as a keyframe (same header and summary, compressed alone).
//! Every transaction leaves the store readable: a chunk's successors are rewritten in the same
//! transaction that deletes their bases. When nothing of the host is left, its name goes too.

use idlewatch_format::{
    BY_TIME, DAYS, DEDUP_SEQ, DETAIL_FROM, Encoder, HOST_IDS, HOST_LAST, HOST_NAMES, HostChain,
    MINUTES, RECORDS, RecordHeader, read_header, read_summary,
};
use redb::{Database, ReadableDatabase, ReadableTable};

use idlewatch_format::minutes::HOUR_MS;

use crate::Error;
use crate::host_days;
use crate::summary_hours;
use crate::trim::remove_day_hours;

/// Records deleted per transaction.
const CHUNK: usize = 1000;

/// What to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteQuery {
    /// The host.
    pub host: String,
    /// Captured from (inclusive), epoch ms; `None`: from the first.
    pub from_ms: Option<i64>,
    /// Captured before (exclusive), epoch ms; `None`: to the last.
    pub to_ms: Option<i64>,
}

/// A deletion in progress.
pub(crate) struct Deleter {
    query: DeleteQuery,
    plan: Option<Plan>,
    removed: u64,
    encoder: Encoder,
    /// Deleting what aging folded into minutes: rollups and minute rows stay.
    aging: bool,
}

/// The host's records, read once at the first step.
struct Plan {
    id: u32,
    /// Every record of the host by arrival (seq order), with its capture time.
    all: Vec<(u64, i64)>,
    /// The seqs to delete, in order; `next` is the first not yet deleted.
    doomed: Vec<u64>,
    next: usize,
}

impl Deleter {
    pub(crate) fn new(query: DeleteQuery) -> Self {
        Self {
            query,
            plan: None,
            removed: 0,
            encoder: Encoder::default(),
            aging: false,
        }
    }

    /// Deleting records aging has folded into minutes (the rollups and minutes stay).
    pub(crate) fn aging(query: DeleteQuery) -> Self {
        Self {
            aging: true,
            ..Self::new(query)
        }
    }

    pub(crate) fn removed(&self) -> u64 {
        self.removed
    }

    /// Deletes up to [`CHUNK`] records in one transaction. Returns whether work remains.
    ///
    /// # Errors
    /// [`Error::UnknownHost`] when nothing of the host is stored; storage errors.
    pub(crate) fn step(&mut self, db: &Database) -> Result<bool, Error> {
        if self.plan.is_none() {
            self.plan = Some(self.plan(db)?);
        }
        let Some(plan) = self.plan.as_mut() else {
            return Ok(false);
        };
        // Both lists are in seq order: membership is a binary search.
        let chunk = &plan.doomed[plan.next..plan.doomed.len().min(plan.next + CHUNK)];
        let in_chunk = |seq: &u64| chunk.binary_search(seq).is_ok();
        let doomed = |seq: &u64| plan.doomed.binary_search(seq).is_ok();
        let txn = db.begin_write()?;
        {
            let mut records = txn.open_table(RECORDS)?;
            let mut by_time = txn.open_table(BY_TIME)?;
            let mut dedup = txn.open_table(DEDUP_SEQ)?;
            // Successors of this chunk's records that stay (or go only in a later chunk) and
            // are deltas on them: keyframes first, while their bases can still be read.
            let mut rewrite = Vec::new();
            for seq in chunk {
                let pos = plan.all.partition_point(|(s, _)| s <= seq);
                if let Some((next, _)) = plan.all.get(pos) {
                    if !in_chunk(next)
                        && let Some(bytes) = records.get(*next)?
                        && read_header(*next, bytes.value())?.base == Some(*seq)
                    {
                        rewrite.push(*next);
                    }
                } else {
                    // The host's newest record when the plan was made: a record that arrived
                    // since may be a delta on it.
                    for entry in records.range(seq + 1..)? {
                        let (key, value) = entry?;
                        let header = read_header(key.value(), value.value())?;
                        if header.host == plan.id && header.base == Some(*seq) {
                            rewrite.push(key.value());
                        }
                    }
                }
            }
            let mut chain = HostChain::new();
            for seq in rewrite {
                let (header, json, summary) = {
                    let bytes = records
                        .get(seq)?
                        .ok_or_else(|| Error::Corrupt(format!("record {seq} vanished")))?;
                    let summary = read_summary(seq, bytes.value())?;
                    drop(bytes);
                    let (header, json) = chain.get(&records, seq)?;
                    (header, json, summary)
                };
                let keyframe = RecordHeader {
                    base: None,
                    ..header
                };
                let encoded = self
                    .encoder
                    .encode(&keyframe, summary.as_ref(), &json, None)?;
                records.insert(seq, encoded.as_slice())?;
            }
            let mut changes = summary_hours::Changes::open(&txn)?;
            for seq in chunk {
                let Some(bytes) = records.remove(*seq)? else {
                    continue;
                };
                let header = read_header(*seq, bytes.value())?;
                drop(bytes);
                by_time.remove((header.host, header.captured_ms, header.seq))?;
                changes.records(header.host, header.captured_ms, header.captured_ms)?;
                if let Some(agent_seq) = header.agent_seq
                    && dedup.get((header.host, agent_seq))?.map(|v| v.value()) == Some(header.seq)
                {
                    dedup.remove((header.host, agent_seq))?;
                }
                self.removed += 1;
            }
            // Rollups of the days this range touches are built again from what is left.
            if !self.aging {
                host_days::invalidate(
                    &txn,
                    &self.query.host,
                    self.query.from_ms.unwrap_or(i64::MIN),
                    self.query.to_ms.map_or(i64::MAX, |to| to.saturating_sub(1)),
                )?;
            }
            plan.next += chunk.len();
            let minutes_left = if plan.next == plan.doomed.len() && !self.aging {
                remove_minutes(&txn, plan.id, self.query.from_ms, self.query.to_ms)?
            } else {
                true
            };
            if plan.next == plan.doomed.len() {
                // The host's last record by arrival is the next delta's base. One that arrived
                // while this ran, or was kept, stays; else the last kept.
                let mut host_last = txn.open_table(HOST_LAST)?;
                let current = host_last.get(plan.id)?.map(|v| v.value());
                match plan.all.iter().rev().find(|(s, _)| !doomed(s)) {
                    _ if current.is_some_and(|c| !doomed(&c)) => {}
                    Some((last, _)) => {
                        host_last.insert(plan.id, *last)?;
                    }
                    None => {
                        host_last.remove(plan.id)?;
                        if !minutes_left {
                            changes.host_removed(plan.id)?;
                            txn.open_table(DETAIL_FROM)?.remove(plan.id)?;
                            txn.open_table(HOST_IDS)?.remove(self.query.host.as_str())?;
                            txn.open_table(HOST_NAMES)?.remove(plan.id)?;
                        }
                    }
                }
            }
        }
        txn.commit()?;
        Ok(plan.next < plan.doomed.len())
    }

    fn plan(&self, db: &Database) -> Result<Plan, Error> {
        let txn = db.begin_read()?;
        let Some(id) = txn
            .open_table(HOST_IDS)?
            .get(self.query.host.as_str())?
            .map(|v| v.value())
        else {
            return Err(Error::UnknownHost(self.query.host.clone()));
        };
        let by_time = txn.open_table(BY_TIME)?;
        let mut all = Vec::new();
        for entry in by_time.range((id, i64::MIN, 0)..=(id, i64::MAX, u64::MAX))? {
            let (key, _) = entry?;
            let (_, captured, seq) = key.value();
            all.push((seq, captured));
        }
        all.sort_unstable();
        let from = self.query.from_ms.unwrap_or(i64::MIN);
        let to = self.query.to_ms.unwrap_or(i64::MAX);
        let doomed = all
            .iter()
            .filter(|(_, captured)| (from..to).contains(captured))
            .map(|(seq, _)| *seq)
            .collect();
        Ok(Plan {
            id,
            all,
            doomed,
            next: 0,
        })
    }
}

/// Removes host `id`'s minute rows of the hours starting in `[from, to)` (the hour holding
/// `from` included), and those hours from its day rows; returns whether any of its minute or
/// day rows remain.
fn remove_minutes(
    txn: &redb::WriteTransaction,
    id: u32,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<bool, Error> {
    let mut minutes = txn.open_table(MINUTES)?;
    let from = from.map_or(i64::MIN, |f| f.div_euclid(HOUR_MS) * HOUR_MS);
    let to = to.unwrap_or(i64::MAX);
    let doomed: Vec<i64> = minutes
        .range((id, from)..(id, to))?
        .map(|e| e.map(|(k, _)| k.value().1))
        .collect::<Result<_, _>>()?;
    for hour in doomed {
        minutes.remove((id, hour))?;
    }
    remove_day_hours(txn, id, from, to)?;
    let days = txn.open_table(DAYS)?;
    Ok(minutes
        .range((id, i64::MIN)..=(id, i64::MAX))?
        .next()
        .is_some()
        || days
            .range((id, i64::MIN)..=(id, i64::MAX))?
            .next()
            .is_some())
}
