//! Per-host agent tokens, stored as SHA-256 hashes (the token itself is shown once, when
//! issued, and never stored). Issued and revoked in their own small write transactions.

use idlewatch_migrations::format::{AGENT_TOKENS, META, NEXT_TOKEN_ID_KEY};
use redb::{ReadableDatabase, ReadableTable};

use crate::{Error, Store};

/// A stored agent token (its hash, not the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The token's id.
    pub id: u64,
    /// The one host it may report for.
    pub host: String,
    /// SHA-256 of the token.
    pub hash: Vec<u8>,
    /// When it was issued, epoch ms.
    pub created_ms: i64,
}

impl Store {
    /// Every agent token, by id.
    ///
    /// # Errors
    /// Storage errors.
    pub fn agent_tokens(&self) -> Result<Vec<StoredToken>, Error> {
        let txn = self.db()?.begin_read()?;
        let table = txn.open_table(AGENT_TOKENS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (id, value) = entry?;
            let (host, hash, created_ms) = value.value();
            out.push(StoredToken {
                id: id.value(),
                host: host.to_owned(),
                hash: hash.to_vec(),
                created_ms,
            });
        }
        Ok(out)
    }

    /// Stores a new token's hash for `host`; returns its id.
    ///
    /// # Errors
    /// Storage errors.
    pub fn add_agent_token(&self, host: &str, hash: &[u8], created_ms: i64) -> Result<u64, Error> {
        let txn = self.db()?.begin_write()?;
        let id = {
            let mut meta = txn.open_table(META)?;
            let id = meta.get(NEXT_TOKEN_ID_KEY)?.map_or(1, |v| v.value());
            meta.insert(NEXT_TOKEN_ID_KEY, id + 1)?;
            txn.open_table(AGENT_TOKENS)?
                .insert(id, (host, hash, created_ms))?;
            id
        };
        txn.commit()?;
        Ok(id)
    }

    /// Deletes token `id`; whether it existed.
    ///
    /// # Errors
    /// Storage errors.
    pub fn remove_agent_token(&self, id: u64) -> Result<bool, Error> {
        let txn = self.db()?.begin_write()?;
        let existed = txn.open_table(AGENT_TOKENS)?.remove(id)?.is_some();
        txn.commit()?;
        Ok(existed)
    }
}
