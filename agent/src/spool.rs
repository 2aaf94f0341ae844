//! The on-disk spool: every snapshot is written here before it is sent and deleted only when
//! the server acks it, so snapshots taken while the server is unreachable — or while the agent
//! restarts — are sent later, in order, with their original `captured_at` and `seq`.
//!
//! One file per snapshot, `<seq>-<captured_ms>.json`, written to a temporary name, synced and
//! renamed. Bounded by age and size: beyond either, the oldest are dropped and counted in the
//! log.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::warn;

/// What the spool could not do, naming the file or directory.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool directory cannot be created.
    #[error("cannot create spool dir {}: {source}; choose another with --spool-dir", path.display())]
    Create {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The spool directory cannot be listed.
    #[error("cannot list spool dir {}: {source}", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A snapshot's file cannot be written (a full disk, say): that snapshot is lost.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No snapshot with that sequence number is spooled.
    #[error("snapshot {0} is not spooled")]
    Missing(u64),
    /// A spooled snapshot's file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl SpoolError {
    /// Whether the disk (or the user's quota) is full.
    #[must_use]
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Write { source, .. } | Self::Create { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ),
            _ => false,
        }
    }
}

/// A snapshot file written by [`Spool::write`], to be added with [`Spool::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    seq: u64,
    captured_ms: i64,
    bytes: u64,
}

/// A spooled snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    captured_ms: i64,
    bytes: u64,
}

/// The spool directory's contents.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    entries: BTreeMap<u64, Entry>,
    bytes: u64,
    max_bytes: u64,
    max_age: Duration,
    dropped: u64,
}

/// Writes `data` to `path` through a temporary file and a rename, so that a crash leaves either
/// the old or the new content; with `durable`, the data is on disk before the rename.
///
/// # Errors
/// I/O errors.
pub fn replace_file(path: &Path, data: &[u8], durable: bool) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(data)?;
        if durable {
            file.sync_all()?;
        }
    }
    std::fs::rename(&tmp, path)
}

fn file_name(seq: u64, captured_ms: i64) -> String {
    format!("{seq:020}-{captured_ms}.json")
}

fn parse_name(name: &str) -> Option<(u64, i64)> {
    let stem = name.strip_suffix(".json")?;
    let (seq, captured) = stem.split_once('-')?;
    Some((seq.parse().ok()?, captured.parse().ok()?))
}

impl Spool {
    /// Opens (creating) the spool in `dir` and indexes what a previous run left.
    ///
    /// # Errors
    /// When the directory cannot be created or listed, naming it.
    pub fn open(dir: &Path, max_bytes: u64, max_age: Duration) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(|source| SpoolError::Create {
            path: dir.to_owned(),
            source,
        })?;
        let mut entries = BTreeMap::new();
        let mut bytes = 0;
        let listing = std::fs::read_dir(dir).map_err(|source| SpoolError::List {
            path: dir.to_owned(),
            source,
        })?;
        for item in listing.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            if let Some((seq, captured_ms)) = parse_name(&name) {
                let size = item.metadata().map_or(0, |m| m.len());
                bytes += size;
                entries.insert(
                    seq,
                    Entry {
                        captured_ms,
                        bytes: size,
                    },
                );
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            entries,
            bytes,
            max_bytes,
            max_age,
            dropped: 0,
        })
    }

    /// Adds a snapshot, then drops the oldest beyond the bounds (`now_ms` is the current time).
    ///
    /// # Errors
    /// When the file cannot be written (e.g. a full disk): the snapshot is lost, say so.
    pub fn push(
        &mut self,
        seq: u64,
        captured_ms: i64,
        json: &str,
        now_ms: i64,
    ) -> Result<(), SpoolError> {
        let written = Self::write(&self.dir, seq, captured_ms, json)?;
        self.record(written, now_ms);
        Ok(())
    }

    /// Writes a snapshot's file durably (fsync'd), without the spool: the slow half of a push,
    /// done before taking the lock the sender also takes, so the sender never waits on a
    /// disk flush. [`Self::record`] then adds it.
    ///
    /// # Errors
    /// When the file cannot be written (e.g. a full disk): the snapshot is lost, say so.
    pub fn write(
        dir: &Path,
        seq: u64,
        captured_ms: i64,
        json: &str,
    ) -> Result<Written, SpoolError> {
        let path = dir.join(file_name(seq, captured_ms));
        // Durable: a spooled snapshot must survive a power cut as well as a crash.
        if let Err(source) = replace_file(&path, json.as_bytes(), true) {
            return Err(SpoolError::Write { path, source });
        }
        Ok(Written {
            seq,
            captured_ms,
            bytes: json.len() as u64,
        })
    }

    /// Adds a written snapshot, then drops the oldest beyond the bounds.
    pub fn record(&mut self, written: Written, now_ms: i64) {
        self.entries.insert(
            written.seq,
            Entry {
                captured_ms: written.captured_ms,
                bytes: written.bytes,
            },
        );
        self.bytes += written.bytes;
        self.enforce_bounds(now_ms);
    }

    /// The spool's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn enforce_bounds(&mut self, now_ms: i64) {
        let oldest_allowed = now_ms - i64::try_from(self.max_age.as_millis()).unwrap_or(i64::MAX);
        let mut dropped = 0;
        while let Some((&seq, entry)) = self.entries.first_key_value() {
            let too_old = entry.captured_ms < oldest_allowed;
            let too_big = self.bytes > self.max_bytes && self.entries.len() > 1;
            if !too_old && !too_big {
                break;
            }
            self.remove(seq);
            dropped += 1;
        }
        if dropped > 0 {
            self.dropped += dropped;
            warn!(
                dropped,
                total_dropped = self.dropped,
                "spool full (over {} or {} MB): dropped the oldest unsent snapshots",
                humanize(self.max_age),
                self.max_bytes >> 20
            );
        }
    }

    /// The oldest spooled sequence numbers, up to `n`, after `after` (exclusive) when given.
    #[must_use]
    pub fn oldest(&self, n: usize, after: Option<u64>) -> Vec<u64> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        self.entries
            .range(start..)
            .take(n)
            .map(|(s, _)| *s)
            .collect()
    }

    /// The JSON of spooled snapshot `seq`.
    ///
    /// # Errors
    /// When it is gone or unreadable.
    pub fn read(&self, seq: u64) -> Result<String, SpoolError> {
        let entry = self.entries.get(&seq).ok_or(SpoolError::Missing(seq))?;
        let path = self.dir.join(file_name(seq, entry.captured_ms));
        std::fs::read_to_string(&path).map_err(|source| SpoolError::Read { path, source })
    }

    /// Deletes spooled snapshot `seq` (acked, or dropped).
    pub fn remove(&mut self, seq: u64) {
        if let Some(entry) = self.entries.remove(&seq) {
            self.bytes = self.bytes.saturating_sub(entry.bytes);
            let _ = std::fs::remove_file(self.dir.join(file_name(seq, entry.captured_ms)));
        }
    }

    /// Snapshots waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The highest spooled sequence number.
    #[must_use]
    pub fn highest_seq(&self) -> Option<u64> {
        self.entries.last_key_value().map(|(s, _)| *s)
    }

    /// Snapshots dropped by the bounds since start.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

fn humanize(d: Duration) -> String {
    let h = d.as_secs() / 3600;
    if h > 0 {
        format!("{h} h")
    } else {
        format!("{} s", d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20, Duration::from_secs(3600)).unwrap();
        for seq in [3, 1, 2] {
            spool
                .push(seq, 1000 + seq as i64, &format!("{{\"seq\":{seq}}}"), 2000)
                .unwrap();
        }
        drop(spool);
        let mut spool = Spool::open(dir.path(), 1 << 20, Duration::from_secs(3600)).unwrap();
        assert_eq!(spool.oldest(10, None), [1, 2, 3]);
        assert_eq!(spool.oldest(10, Some(1)), [2, 3]);
        assert_eq!(spool.read(2).unwrap(), "{\"seq\":2}");
        spool.remove(1);
        assert_eq!(spool.oldest(1, None), [2]);
        assert_eq!(spool.highest_seq(), Some(3));
    }

    #[test]
    fn the_oldest_go_first_past_the_size_or_age_bound() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 25, Duration::from_secs(10)).unwrap();
        for seq in 1..=4u64 {
            spool
                .push(seq, seq as i64 * 1000, "0123456789", 4000)
                .unwrap();
        }
        assert_eq!(spool.oldest(10, None), [3, 4], "25 bytes hold two");
        assert_eq!(spool.dropped(), 2);
        spool.push(5, 20_000, "x", 20_000).unwrap();
        assert_eq!(spool.oldest(10, None), [5], "older than 10 s");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
