//! Errors of the store format and of migrations.

/// A store that cannot be read, written or upgraded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file was written by a newer Idlewatch.
    #[error(
        "the store has schema version {found}, newer than this idlewatch (which knows up to \
         {supported}); run a newer idlewatch-server, or restore a backup made by this version"
    )]
    TooNew {
        /// Version found in the file.
        found: u64,
        /// Newest version this build knows.
        supported: u64,
    },
    /// A record does not decode.
    #[error("corrupt record {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What was wrong with it.
        reason: String,
    },
    /// redb failed.
    #[error("store error: {0}")]
    Storage(#[from] redb::Error),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Storage(e.into())
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
