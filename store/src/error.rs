//! Store errors, each saying what the user can do.

use std::path::PathBuf;

/// Why the store cannot be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process has the file open.
    #[error(
        "data dir {} is in use by another idlewatch-server{}; stop it or choose another --data-dir",
        dir.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    InUse {
        /// The data dir.
        dir: PathBuf,
        /// The pid recorded by the process holding it, when known.
        pid: Option<u32>,
    },
    /// The file cannot be opened for another reason.
    #[error("cannot open the store {}: {reason}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// Format or migration failure.
    #[error(transparent)]
    Format(#[from] idlewatch_migrations::Error),
    /// The store is closed: the server is stopping, or the file was never opened.
    #[error("the store is closed")]
    Closed,
    /// The server is stopping; the request was not carried out.
    #[error("the server is stopping")]
    Stopping,
    /// A newer aging round replaced this one before it finished (it goes on from where this
    /// one was).
    #[error("a newer aging round replaced this one")]
    Superseded,
    /// redb refused a read or a write.
    #[error("store error: {0}")]
    Database(#[from] redb::Error),
    /// Writes fail (nothing of the group was stored): a full disk, or a file redb refuses
    /// until it is reopened. Answered `storage` until a write succeeds again.
    #[error("the store cannot write ({reason}){}", if *disk_full { "; free disk space in the data dir" } else { "" })]
    Unwritable {
        /// What the first failed write said.
        reason: String,
        /// Whether that was the disk being full.
        disk_full: bool,
    },
    /// A record that should be there is missing or cannot be decoded.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The write queue is full; the snapshot was not stored. Retry later.
    #[error("the store is busy: its write queue is full; retry later")]
    Busy,
    /// The PostgreSQL store (cluster mode) refused a read or a write, or cannot be reached.
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// The requested host has no stored snapshots.
    #[error("no host named {0:?} is known")]
    UnknownHost(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Database(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::DatabaseError,
    redb::SetDurabilityError
);

impl Error {
    /// Whether the disk holding the store is full (somewhere in the error's causes).
    #[must_use]
    pub fn is_disk_full(&self) -> bool {
        if let Self::Unwritable { disk_full, .. } = self {
            return *disk_full;
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::StorageFull
            {
                return true;
            }
            cause = e.source();
        }
        false
    }

    /// Whether it is worth asking again later (the store is busy, stopping, or cannot write
    /// for now), as opposed to a request that cannot succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Busy
                | Self::Closed
                | Self::Stopping
                | Self::Superseded
                | Self::Unwritable { .. }
                | Self::Database(_)
                | Self::Postgres(_)
        )
    }
}
