//! What makes this agent itself across restarts: a stable `agent_id` (a UUID) and the next
//! snapshot `seq`, kept in `agent.json` in the spool dir.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file inside the spool dir.
pub const IDENTITY_FILE: &str = "agent.json";

#[derive(Serialize, Deserialize)]
struct Stored {
    agent_id: String,
    next_seq: u64,
}

/// The agent's id and sequence counter.
#[derive(Debug)]
pub struct Identity {
    /// Stable across restarts and reinstalls of the binary (not of the spool dir).
    pub agent_id: String,
    next_seq: u64,
    path: PathBuf,
}

/// The identity file cannot be used, naming it.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// It cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// It is not an identity this agent wrote.
    #[error("{} is not a valid agent identity ({source}); delete it to start a new one", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What did not parse.
        source: serde_json::Error,
    },
    /// It cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Identity {
    /// Loads `agent.json` from `dir`, or creates it with a new UUID. `at_least` raises the
    /// counter (the highest `seq` found in the spool, plus one).
    ///
    /// # Errors
    /// When the file cannot be read or written, naming it.
    pub fn load_or_create(dir: &Path, at_least: u64) -> Result<Self, IdentityError> {
        let path = dir.join(IDENTITY_FILE);
        let stored = match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<Stored>(&text) {
                Ok(stored) => stored,
                Err(source) => return Err(IdentityError::Invalid { path, source }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored {
                agent_id: uuid::Uuid::new_v4().to_string(),
                next_seq: 1,
            },
            Err(source) => return Err(IdentityError::Read { path, source }),
        };
        let mut me = Self {
            agent_id: stored.agent_id,
            next_seq: stored.next_seq.max(at_least).max(1),
            path,
        };
        me.save()?;
        Ok(me)
    }

    /// Takes the next sequence number, persisting the counter first so it never repeats.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn take_seq(&mut self) -> Result<u64, IdentityError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.save()?;
        Ok(seq)
    }

    /// Written by rename without fsync: after a power cut the counter may step back a little,
    /// which is harmless (the server tells snapshots apart by `captured_at` as well as `seq`),
    /// and it spares a disk flush every interval.
    fn save(&mut self) -> Result<(), IdentityError> {
        let stored = Stored {
            agent_id: self.agent_id.clone(),
            next_seq: self.next_seq,
        };
        serde_json::to_vec(&stored)
            .map_err(std::io::Error::other)
            .and_then(|text| crate::spool::replace_file(&self.path, &text, false))
            .map_err(|source| IdentityError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_and_counter_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Identity::load_or_create(dir.path(), 0).unwrap();
        assert_eq!(a.take_seq().unwrap(), 1);
        assert_eq!(a.take_seq().unwrap(), 2);
        let id = a.agent_id.clone();
        drop(a);
        let mut b = Identity::load_or_create(dir.path(), 0).unwrap();
        assert_eq!(b.agent_id, id);
        assert_eq!(b.take_seq().unwrap(), 3);
        let mut c = Identity::load_or_create(dir.path(), 10).unwrap();
        assert_eq!(
            c.take_seq().unwrap(),
            10,
            "raised past the spool's highest seq"
        );
    }
}
