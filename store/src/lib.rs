//! Idlewatch's durable journal: every accepted snapshot stored in a redb file in the data dir.
//!
//! One writer: [`Store`] is a clonable handle sending work over a bounded channel to a single
//! thread that owns every write transaction and commits in groups (everything queued, up to a
//! bound, per transaction, durability `Immediate`). Each append's completion callback runs only
//! after the commit that holds it, so an ack sent from it means "on disk". Reads open their own
//! read transactions (`begin_read`) concurrently with the writer; call them off the async
//! runtime. The on-disk format is `idlewatch_format`.

mod age;
mod alerts;
mod backend;
mod delete;
mod error;
mod host_days;
mod journal;
mod licence_polls;
mod offline;
mod open;
mod prune;
mod query;
mod records;
mod slot;
mod summary_hours;
pub mod tier_walk;
mod tiers;
mod tokens;
mod trim;

pub use backend::{Snapshots, TierSizes, TokenStore};
pub use delete::DeleteQuery;
pub use error::Error;
pub use host_days::{SETTLE_MS, first_kept_day, settled};
pub use idlewatch_format::days::QUARTER_MS;
pub use idlewatch_format::minutes::{HOUR_MS, Level, MINUTE_MS, Minute};
pub use idlewatch_format::{DAY_MS, DeltaKind, HostDay, SessionSummary, Summary, day_of};
pub use journal::{Aged, AppendDone, Appended, Writer};
pub use licence_polls::PoolPoint;
pub use offline::{CheckReport, Offline};
pub use open::{OpenOptions, STORE_FILE, create_private_dir};
pub use query::{
    HistoryPage, HistoryQuery, LatestOfHost, StoreStats, StoredSnapshot, SummaryPage, SummaryRow,
};
pub use records::RecordStore;
pub use tiers::MinuteRow;
pub use tokens::{Holder, StoredToken};

use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};

use idlewatch_format::PackedJson;
use idlewatch_protocol::Snapshot;

use crate::journal::Command;

/// A handle on the store; clones share the writer thread and the database.
#[derive(Clone)]
pub struct Store {
    db: Arc<slot::DbSlot>,
    commands: SyncSender<Command>,
    path: std::path::PathBuf,
}

/// The append queue is full: the writer is behind. The caller should answer `busy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store's write queue is full")]
pub struct Busy;

impl Store {
    /// Queues `snapshot`, received at `received_ms`, for the next group commit; `done` runs on
    /// the writer thread after that commit (or failure).
    ///
    /// # Errors
    /// [`Busy`] when the queue is full or the writer has stopped: the snapshot is not stored,
    /// and `done` has already run, here, with [`Error::Busy`].
    pub fn try_append(
        &self,
        snapshot: Arc<Snapshot>,
        received_ms: i64,
        done: AppendDone,
    ) -> Result<(), Busy> {
        self.try_append_packed(snapshot, None, received_ms, done)
    }

    /// As [`Store::try_append`], with the snapshot's JSON already packed by the caller (the
    /// writer keeps it as the host's next delta base instead of packing it again).
    ///
    /// # Errors
    /// As [`Store::try_append`].
    pub fn try_append_packed(
        &self,
        snapshot: Arc<Snapshot>,
        packed: Option<Arc<PackedJson>>,
        received_ms: i64,
        done: AppendDone,
    ) -> Result<(), Busy> {
        let command = Command::Append {
            snapshot,
            packed,
            received_ms,
            done,
        };
        match self.commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(command) | TrySendError::Disconnected(command)) => {
                if let Command::Append { done, .. } = command {
                    done(Err(Error::Busy));
                }
                Err(Busy)
            }
        }
    }

    /// Asks the writer to delete snapshots received before `cutoff_ms`, a little at a time
    /// between group commits.
    pub fn prune_before(&self, cutoff_ms: i64) {
        // A full queue means the writer is busy with ingest; pruning can wait for the next round.
        let _ = self.commands.try_send(Command::Prune { cutoff_ms });
    }

    /// Deletes the snapshots of `query.host` captured in its range (all when it has none), a
    /// chunk at a time between group commits; blocks until done (call it off the async
    /// runtime). Returns how many were deleted.
    ///
    /// # Errors
    /// [`Error::UnknownHost`] when nothing of the host is stored; storage errors; the writer
    /// stopping first.
    pub fn delete(&self, query: DeleteQuery) -> Result<u64, Error> {
        let (tx, rx) = std::sync::mpsc::channel();
        let done: journal::DeleteDone = Box::new(move |r| {
            let _ = tx.send(r);
        });
        self.commands
            .send(Command::Delete { query, done })
            .map_err(|_| Error::Closed)?;
        rx.recv().map_err(|_| Error::Stopping)?
    }

    /// Folds every host's records captured before `before_ms` (rounded down to the hour) into
    /// minute rows, each snapshot covering at most `cover_ms`, then deletes the folded
    /// records no kept record needs; a few hours of a host per transaction between group
    /// commits. Blocks until done (call it off the async runtime).
    ///
    /// # Errors
    /// Storage errors; [`Error::Superseded`] when a newer round replaced this one; the
    /// writer stopping first.
    pub fn age(&self, before_ms: i64, cover_ms: i64) -> Result<Aged, Error> {
        self.age_tiers(before_ms, cover_ms, None)
    }

    /// As [`Store::age`], then deletes the minute rows of the whole UTC days before
    /// `minutes_before_ms` (when given) that every host has folded: their day rows answer for
    /// them.
    ///
    /// # Errors
    /// As [`Store::age`].
    pub fn age_tiers(
        &self,
        before_ms: i64,
        cover_ms: i64,
        minutes_before_ms: Option<i64>,
    ) -> Result<Aged, Error> {
        let (tx, rx) = std::sync::mpsc::channel();
        let done: journal::AgeDone = Box::new(move |r| {
            let _ = tx.send(r);
        });
        self.commands
            .send(Command::Age {
                before_ms,
                cover_ms,
                minutes_before_ms,
                done,
            })
            .map_err(|_| Error::Closed)?;
        rx.recv().map_err(|_| Error::Stopping)?
    }

    /// Gathers now the summaries of every host's hours settled at `now_ms` that have no
    /// summary hour yet (the writer does it in the background every minute); blocks until done.
    /// Returns the host-hours gathered.
    ///
    /// # Errors
    /// Storage errors; the writer stopping first.
    pub fn gather_summary_hours(&self, now_ms: i64) -> Result<u64, Error> {
        let (done, rx) = std::sync::mpsc::channel();
        self.commands
            .send(Command::Hours { now_ms, done })
            .map_err(|_| Error::Closed)?;
        rx.recv().map_err(|_| Error::Stopping)?
    }

    /// Waits until everything queued so far is committed.
    pub fn flush(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.commands.send(Command::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Size of the database file in bytes.
    #[must_use]
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }
}
