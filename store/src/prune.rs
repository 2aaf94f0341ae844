//! Retention: deleting snapshots received before a cutoff, host by host, in small
//! transactions so that ingest is never held up for long.
//!
//! A delta needs the records back to its keyframe, so for each host only records before the
//! keyframe that starts the oldest kept record's chain are removed (at most
//! `KEYFRAME_INTERVAL - 1` extra old records stay).

use idlewatch_migrations::format::{
    BY_TIME, DEDUP_SEQ, FrameKind, HOST_NAMES, RECORDS, read_header,
};
use redb::{Database, ReadableTable};

use crate::Error;

/// Most records deleted per transaction.
const CHUNK: usize = 500;

/// Progress of one pruning round.
pub(crate) struct Pruner {
    cutoff_ms: i64,
    next_host: u32,
    removed: u64,
}

impl Pruner {
    pub(crate) fn new(cutoff_ms: i64) -> Self {
        Self {
            cutoff_ms,
            next_host: 0,
            removed: 0,
        }
    }

    pub(crate) fn removed(&self) -> u64 {
        self.removed
    }

    /// Deletes up to [`CHUNK`] records of the current host in one transaction. Returns whether
    /// work remains.
    pub(crate) fn step(&mut self, db: &Database) -> Result<bool, Error> {
        let txn = db.begin_write()?;
        let more = {
            let names = txn.open_table(HOST_NAMES)?;
            let Some(host) = names
                .range(self.next_host..)?
                .next()
                .transpose()?
                .map(|(k, _)| k.value())
            else {
                return Ok(false);
            };
            let mut records = txn.open_table(RECORDS)?;
            let mut by_time = txn.open_table(BY_TIME)?;
            let mut dedup = txn.open_table(DEDUP_SEQ)?;
            // Walk the host's oldest records: everything before the last keyframe seen while
            // still under the cutoff can go.
            let mut scanned = Vec::new();
            let mut delete_below = None;
            let mut reached_kept = false;
            for entry in records.range((host, 0)..=(host, u64::MAX))? {
                let (key, value) = entry?;
                let n = key.value().1;
                let header = read_header(value.value())?;
                if header.kind == FrameKind::Key {
                    delete_below = Some(n);
                }
                if header.received_ms >= self.cutoff_ms {
                    reached_kept = true;
                    break;
                }
                scanned.push((n, header));
                if scanned.len() > CHUNK {
                    break;
                }
            }
            // All old: the whole host goes. Otherwise stop at the keyframe the kept ones need.
            let all_old = !reached_kept && scanned.len() <= CHUNK;
            let limit = if all_old {
                u64::MAX
            } else {
                delete_below.unwrap_or(0)
            };
            let doomed: Vec<_> = scanned
                .into_iter()
                .filter(|(n, _)| *n < limit)
                .take(CHUNK)
                .collect();
            for (n, header) in &doomed {
                records.remove((host, *n))?;
                by_time.remove((host, header.captured_ms, *n))?;
                if let Some(agent_seq) = header.agent_seq
                    && dedup.get((host, agent_seq))?.map(|v| v.value()) == Some(*n)
                {
                    dedup.remove((host, agent_seq))?;
                }
            }
            self.removed += doomed.len() as u64;
            // A scan cut short by CHUNK resumes on the same host next step (a keyframe comes
            // every KEYFRAME_INTERVAL < CHUNK records, so each step removes something).
            if reached_kept || all_old {
                self.next_host = host.saturating_add(1);
                if host == u32::MAX {
                    return Ok(false);
                }
            }
            true
        };
        txn.commit()?;
        Ok(more)
    }
}
