//! The database behind every handle, closable once: when the writer stops, the database is
//! taken out and dropped, which makes redb record its allocator state — a clean close, so the
//! next open needs no repair and offline tools can open the file read-only — even if some
//! store handle outlives the shutdown. Reads after that get "the store is closed".

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use redb::Database;

use crate::Error;

/// The shared, closable database, and how to open it again.
pub(crate) struct DbSlot {
    db: RwLock<Option<Database>>,
    /// The file and page cache size (`None` for an in-memory store, which cannot be reopened).
    reopen: Option<(PathBuf, usize)>,
}

/// Access to the open database (closing waits until every guard is gone).
pub(crate) struct DbGuard<'a>(RwLockReadGuard<'a, Option<Database>>);

impl Deref for DbGuard<'_> {
    type Target = Database;

    fn deref(&self) -> &Database {
        match self.0.as_ref() {
            Some(db) => db,
            None => unreachable!("a guard is only made for an open database"),
        }
    }
}

impl DbSlot {
    pub(crate) fn new(db: Database, reopen: Option<(PathBuf, usize)>) -> Self {
        Self {
            db: RwLock::new(Some(db)),
            reopen,
        }
    }

    /// Closes the database and opens its file again: after a failed write (a full disk) redb
    /// refuses every further transaction until then. Opening repairs the file if needed.
    pub(crate) fn reopen(&self) -> Result<(), Error> {
        let Some((path, cache)) = &self.reopen else {
            return Err(Error::Closed);
        };
        let mut slot = self.db.write().unwrap_or_else(PoisonError::into_inner);
        drop(slot.take());
        let db = Database::builder().set_cache_size(*cache).create(path)?;
        *slot = Some(db);
        Ok(())
    }

    /// The open database.
    pub(crate) fn get(&self) -> Result<DbGuard<'_>, Error> {
        let guard = self.db.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            return Err(Error::Closed);
        }
        Ok(DbGuard(guard))
    }

    /// Closes the database (after the guards in use are dropped).
    pub(crate) fn close(&self) {
        let db = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(db);
    }
}
