//! Opening the store file: exclusive lock with a clear "in use" error naming the holder,
//! migration to the current schema, and the writer thread's start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use idlewatch_format::DeltaKind;
use idlewatch_migrations::{Outcome, migrate};
use redb::{Database, DatabaseError};

use crate::journal::{self, Writer};
use crate::slot::{DbGuard, DbSlot};
use crate::{Error, Store};

/// The database file's name inside the data dir.
pub const STORE_FILE: &str = "idlewatch.redb";
/// File recording the pid of the server holding the store.
const PID_FILE: &str = "server.pid";

/// Tuning of the store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Appends queued before `try_append` answers busy.
    pub queue: usize,
    /// Most appends committed in one transaction.
    pub max_batch: usize,
    /// redb page cache, bytes.
    pub cache_bytes: usize,
    /// How deltas are written (zstd; structural only to measure it).
    pub deltas: DeltaKind,
    /// Gather settled hours' summaries in the background, every minute (the default); off
    /// only to measure reads without them ([`Store::gather_summary_hours`] still does).
    pub summary_hours: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            queue: 4096,
            max_batch: 2048,
            cache_bytes: 16 << 20,
            deltas: DeltaKind::default(),
            summary_hours: true,
        }
    }
}

impl Store {
    /// Opens (creating it and `data_dir` if needed) the store in `data_dir`, upgrades it to the current schema and
    /// starts the writer thread.
    ///
    /// # Errors
    /// [`Error::InUse`] when another process holds it, [`Error::Format`] for a file of a newer
    /// schema, [`Error::Open`] otherwise.
    pub fn open(data_dir: &Path, options: &OpenOptions) -> Result<(Self, Writer, Outcome), Error> {
        create_private_dir(data_dir).map_err(|e| Error::Open {
            path: data_dir.to_owned(),
            reason: format!("cannot create the data dir: {e}"),
        })?;
        let path = data_dir.join(STORE_FILE);
        let db = Database::builder()
            .set_cache_size(options.cache_bytes)
            .create(&path)
            .map_err(|e| match e {
                DatabaseError::DatabaseAlreadyOpen => Error::InUse {
                    dir: data_dir.to_owned(),
                    pid: read_pid(data_dir),
                },
                other => Error::Open {
                    path: path.clone(),
                    reason: other.to_string(),
                },
            })?;
        // Snapshots are personal data (users' activity, process lists): owner only, as the
        // token file. redb creates the file with the process umask.
        restrict_to_owner(&path).map_err(|e| Error::Open {
            path: path.clone(),
            reason: format!("cannot make the store readable by its owner only: {e}"),
        })?;
        let outcome = migrate(&db)?;
        write_pid(data_dir);
        let db = Arc::new(DbSlot::new(db, Some((path.clone(), options.cache_bytes))));
        let (commands, writer) = journal::start(db.clone(), options);
        Ok((Self { db, commands, path }, writer, outcome))
    }

    /// Opens a store in memory (tests).
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn in_memory(options: &OpenOptions) -> Result<(Self, Writer), Error> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| Error::Open {
                path: PathBuf::from(":memory:"),
                reason: e.to_string(),
            })?;
        migrate(&db)?;
        let db = Arc::new(DbSlot::new(db, None));
        let (commands, writer) = journal::start(db.clone(), options);
        Ok((
            Self {
                db,
                commands,
                path: PathBuf::new(),
            },
            writer,
        ))
    }

    /// The open database.
    pub(crate) fn db(&self) -> Result<DbGuard<'_>, Error> {
        self.db.get()
    }
}

/// Creates the data dir `dir` (and its parents) if missing, the last one with mode 0700 on
/// Unix; an existing directory that others may read is left as it is, with a warning.
///
/// # Errors
/// When the directory cannot be created or read.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "data dir {} has mode {mode:03o}: other users may list it; `chmod 700` it",
                dir.display()
            );
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Mode 0600 on Unix (nothing elsewhere: the data dir's ACL applies).
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

pub(crate) fn read_pid(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join(PID_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn write_pid(data_dir: &Path) {
    // Only informative (it names the holder in the "in use" error); failing to write it is fine.
    let _ = std::fs::write(data_dir.join(PID_FILE), format!("{}\n", std::process::id()));
}
