//! The database behind every handle, closable once: when the writer stops, the database is
//! taken out and dropped, which makes redb record its allocator state — a clean close, so the
//! next open needs no repair and offline tools can open the file read-only — even if some
//! store handle outlives the shutdown. Reads after that get "the store is closed".

use std::ops::Deref;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use redb::Database;

use crate::Error;

/// The shared, closable database.
pub(crate) struct DbSlot(RwLock<Option<Database>>);

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
    pub(crate) fn new(db: Database) -> Self {
        Self(RwLock::new(Some(db)))
    }

    /// The open database.
    pub(crate) fn get(&self) -> Result<DbGuard<'_>, Error> {
        let guard = self.0.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            return Err(Error::Storage("the store is closed".to_owned()));
        }
        Ok(DbGuard(guard))
    }

    /// Closes the database (after the guards in use are dropped).
    pub(crate) fn close(&self) {
        let db = self
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(db);
    }
}
