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
    /// A read or write failed.
    #[error("store error: {0}")]
    Storage(String),
    /// The write queue is full; the snapshot was not stored. Retry later.
    #[error("the store is busy: its write queue is full; retry later")]
    Busy,
    /// The requested host has no stored snapshots.
    #[error("no host named {0:?} is known")]
    UnknownHost(String),
}

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Storage(e.to_string())
            }
        }
    )*};
}

from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
