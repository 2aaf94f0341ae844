//! Retention: deleting snapshots received before a cutoff, oldest first, in small
//! transactions so that ingest is never held up for long.
//!
//! Records are keyed by sequence number, so the oldest are at the start of the table. A delta
//! needs its host's records back to the keyframe it starts from, so a host's old records are
//! deleted only up to its latest keyframe that is itself older than the cutoff: what comes
//! after it (fewer than `KEYFRAME_INTERVAL` records) stays until a later keyframe also ages out —
//! unless the host has sent nothing since: then all of it goes.

use std::collections::HashMap;

use idlewatch_format::minutes::HOUR_MS;
use idlewatch_format::{
    BY_TIME, DEDUP_SEQ, HOST_LAST, HOST_NAMES, MINUTES, RECORDS, RecordHeader, read_header,
};
use redb::{Database, ReadableTable};

use crate::Error;
use crate::host_days;
use crate::summary_hours;
use crate::trim::remove_day_hours;

/// Most records examined per transaction.
const CHUNK: usize = 1000;

/// Progress of one pruning round.
pub(crate) struct Pruner {
    cutoff_ms: i64,
    /// Where the next step starts reading.
    next_seq: u64,
    /// Per host, old records seen since its latest old keyframe (kept unless a later old
    /// keyframe of the host turns up).
    waiting: HashMap<u32, Vec<RecordHeader>>,
    removed: u64,
}

impl Pruner {
    pub(crate) fn new(cutoff_ms: i64) -> Self {
        Self {
            cutoff_ms,
            next_seq: 0,
            waiting: HashMap::new(),
            removed: 0,
        }
    }

    pub(crate) fn removed(&self) -> u64 {
        self.removed
    }

    /// Examines up to [`CHUNK`] old records in one transaction, deleting those no kept record
    /// needs. Returns whether work remains.
    pub(crate) fn step(&mut self, db: &Database) -> Result<bool, Error> {
        let txn = db.begin_write()?;
        let more = {
            let mut records = txn.open_table(RECORDS)?;
            let mut by_time = txn.open_table(BY_TIME)?;
            let mut dedup = txn.open_table(DEDUP_SEQ)?;
            let mut doomed = Vec::new();
            let mut examined = 0;
            let mut reached_new = false;
            for entry in records.range(self.next_seq..)? {
                let (key, value) = entry?;
                let header = read_header(key.value(), value.value())?;
                self.next_seq = header.seq + 1;
                if header.received_ms >= self.cutoff_ms {
                    reached_new = true;
                    break;
                }
                let waiting = self.waiting.entry(header.host).or_default();
                if header.base.is_none() {
                    // A keyframe: nothing after it needs what came before it.
                    doomed.append(waiting);
                }
                waiting.push(header);
                examined += 1;
                if examined == CHUNK {
                    break;
                }
            }
            let more = !reached_new && examined == CHUNK;
            if !more {
                // End of the round: hosts whose last record is old need none of it.
                let mut host_last = txn.open_table(HOST_LAST)?;
                for (host, waiting) in &mut self.waiting {
                    let last = host_last.get(*host)?.map(|v| v.value());
                    if waiting.last().map(|h| h.seq) == last {
                        host_last.remove(*host)?;
                        doomed.append(waiting);
                    }
                }
            }
            let mut changes = summary_hours::Changes::open(&txn)?;
            for header in &doomed {
                records.remove(header.seq)?;
                by_time.remove((header.host, header.captured_ms, header.seq))?;
                changes.records(header.host, header.captured_ms, header.captured_ms)?;
                if let Some(agent_seq) = header.agent_seq
                    && dedup.get((header.host, agent_seq))?.map(|v| v.value()) == Some(header.seq)
                {
                    dedup.remove((header.host, agent_seq))?;
                }
            }
            self.removed += doomed.len() as u64;
            if !more {
                host_days::prune(&txn, self.cutoff_ms)?;
                prune_minutes(&txn, self.cutoff_ms)?;
            }
            more
        };
        txn.commit()?;
        Ok(more)
    }
}

/// Removes the minute rows of hours that ended before `cutoff_ms`, and those hours from the day
/// rows.
fn prune_minutes(txn: &redb::WriteTransaction, cutoff_ms: i64) -> Result<(), Error> {
    let ids: Vec<u32> = txn
        .open_table(HOST_NAMES)?
        .iter()?
        .map(|e| e.map(|(k, _)| k.value()))
        .collect::<Result<_, _>>()?;
    let mut minutes = txn.open_table(MINUTES)?;
    let last_hour = cutoff_ms.saturating_sub(HOUR_MS);
    for &id in &ids {
        let doomed: Vec<i64> = minutes
            .range((id, i64::MIN)..=(id, last_hour))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for hour in doomed {
            minutes.remove((id, hour))?;
        }
    }
    for id in ids {
        remove_day_hours(txn, id, i64::MIN, last_hour + 1)?;
    }
    Ok(())
}
