//! The storage floor: while the data dir's file system has less than `limits.min_free_disk`
//! free, snapshots are answered `storage` (agents keep them in their spool and resend) before
//! the disk is actually full, so the store, the log and the rest of the machine keep working.
//! The free space is read every [`CHECK_EVERY`] by [`DiskFloor::watch`], and at once whenever
//! [`CHECK_AFTER_BYTES`] more have been accepted, so a fast writer overshoots the floor by little;
//! crossing it either way is logged once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tracing::{error, info, warn};

/// How often the free space is read.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Accepted bytes between two readings at most.
pub const CHECK_AFTER_BYTES: u64 = 1 << 20;

/// The floor and the last reading.
pub struct DiskFloor {
    dir: PathBuf,
    floor: u64,
    since_check: AtomicU64,
    low: AtomicBool,
    free: AtomicU64,
    unreadable_logged: AtomicBool,
}

impl DiskFloor {
    /// A floor of `floor` bytes (0: none) for the file system holding `dir`, read once now.
    #[must_use]
    pub fn new(dir: PathBuf, floor: u64) -> Self {
        let me = Self {
            dir,
            floor,
            since_check: AtomicU64::new(0),
            low: AtomicBool::new(false),
            free: AtomicU64::new(u64::MAX),
            unreadable_logged: AtomicBool::new(false),
        };
        me.check();
        me
    }

    /// Whether snapshots must be refused now.
    #[must_use]
    pub fn is_low(&self) -> bool {
        self.low.load(Relaxed)
    }

    /// Free bytes at the last reading (`u64::MAX` when unknown).
    #[must_use]
    pub fn free_bytes(&self) -> u64 {
        self.free.load(Relaxed)
    }

    /// The floor, bytes.
    #[must_use]
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Counts `bytes` about to be stored; reads the free space when enough have been.
    pub fn note_written(&self, bytes: u64) {
        if self.floor > 0
            && self
                .since_check
                .fetch_add(bytes, Relaxed)
                .saturating_add(bytes)
                >= CHECK_AFTER_BYTES
        {
            self.check();
        }
    }

    /// Reads the free space and updates the state, logging a crossing.
    pub fn check(&self) {
        self.since_check.store(0, Relaxed);
        let free = match free_space(&self.dir) {
            Ok(free) => free,
            Err(e) => {
                if !self.unreadable_logged.swap(true, Relaxed) {
                    warn!(dir = %self.dir.display(), "cannot read the free disk space ({e}); the storage floor is not enforced");
                }
                return;
            }
        };
        self.free.store(free, Relaxed);
        if self.floor == 0 {
            return;
        }
        let low = free < self.floor;
        if low != self.low.swap(low, Relaxed) {
            let (free_mib, floor_mib) = (free >> 20, self.floor >> 20);
            if low {
                error!(
                    dir = %self.dir.display(),
                    "{free_mib} MiB free, below limits.min_free_disk ({floor_mib} MiB): snapshots \
                     are answered `storage` (agents keep them and resend) until space is freed; \
                     free disk space or lower the retention"
                );
            } else {
                info!("{free_mib} MiB free again (floor {floor_mib} MiB): snapshots are stored");
            }
        }
    }

    /// Reads the free space every [`CHECK_EVERY`]; runs until aborted.
    pub async fn watch(self: std::sync::Arc<Self>) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            self.check();
        }
    }
}

#[cfg(unix)]
fn free_space(dir: &std::path::Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(unix))]
fn free_space(_dir: &std::path::Path) -> std::io::Result<u64> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "free space is only read on Unix",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_above_the_free_space_is_low_and_zero_never_is() {
        let dir = tempfile::tempdir().unwrap();
        let none = DiskFloor::new(dir.path().to_owned(), 0);
        assert!(!none.is_low());
        assert!(none.free_bytes() > 0 && none.free_bytes() < u64::MAX);
        let huge = DiskFloor::new(dir.path().to_owned(), u64::MAX);
        assert!(huge.is_low());
        let small = DiskFloor::new(dir.path().to_owned(), 1);
        assert!(!small.is_low());
    }
}
