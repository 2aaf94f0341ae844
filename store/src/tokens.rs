//! Tokens an admin issues — per-host agent tokens and viewer tokens scoped to groups — stored
//! as SHA-256 hashes (the token itself is shown once, when issued, and never stored). Both
//! kinds share one id sequence, so `tokens revoke ID` needs no kind. Issued and revoked in
//! their own small write transactions.

use idlewatch_format::{AGENT_TOKENS, META, NEXT_TOKEN_ID_KEY, VIEWER_TOKENS};
use redb::{ReadableDatabase, ReadableTable};

use crate::{Error, Store};

/// Who a token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// The agent of this one host.
    Host(String),
    /// A viewer of these groups only.
    Groups(Vec<String>),
}

/// A stored token (its hash, not the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The token's id.
    pub id: u64,
    /// Who it is for.
    pub holder: Holder,
    /// SHA-256 of the token.
    pub hash: Vec<u8>,
    /// When it was issued, epoch ms.
    pub created_ms: i64,
}

impl Store {
    /// Every token, by id.
    ///
    /// # Errors
    /// Storage errors.
    pub fn tokens(&self) -> Result<Vec<StoredToken>, Error> {
        let txn = self.db()?.begin_read()?;
        let mut out = Vec::new();
        for (table, viewer) in [(AGENT_TOKENS, false), (VIEWER_TOKENS, true)] {
            for entry in txn.open_table(table)?.iter()? {
                let (id, value) = entry?;
                let (held, hash, created_ms) = value.value();
                let holder = if viewer {
                    Holder::Groups(held.lines().map(str::to_owned).collect())
                } else {
                    Holder::Host(held.to_owned())
                };
                out.push(StoredToken {
                    id: id.value(),
                    holder,
                    hash: hash.to_vec(),
                    created_ms,
                });
            }
        }
        out.sort_by_key(|t| t.id);
        Ok(out)
    }

    /// Stores a new token's hash for `holder`; returns its id. Group names must not contain
    /// line breaks (they are stored one per line).
    ///
    /// # Errors
    /// Storage errors.
    pub fn add_token(&self, holder: &Holder, hash: &[u8], created_ms: i64) -> Result<u64, Error> {
        let txn = self.db()?.begin_write()?;
        let id = {
            let mut meta = txn.open_table(META)?;
            let id = meta.get(NEXT_TOKEN_ID_KEY)?.map_or(1, |v| v.value());
            meta.insert(NEXT_TOKEN_ID_KEY, id + 1)?;
            match holder {
                Holder::Host(host) => {
                    txn.open_table(AGENT_TOKENS)?
                        .insert(id, (host.as_str(), hash, created_ms))?;
                }
                Holder::Groups(groups) => {
                    txn.open_table(VIEWER_TOKENS)?
                        .insert(id, (groups.join("\n").as_str(), hash, created_ms))?;
                }
            }
            id
        };
        txn.commit()?;
        Ok(id)
    }

    /// Deletes token `id`, of either kind; whether it existed.
    ///
    /// # Errors
    /// Storage errors.
    pub fn remove_token(&self, id: u64) -> Result<bool, Error> {
        let txn = self.db()?.begin_write()?;
        let agent = txn.open_table(AGENT_TOKENS)?.remove(id)?.is_some();
        let viewer = txn.open_table(VIEWER_TOKENS)?.remove(id)?.is_some();
        txn.commit()?;
        Ok(agent || viewer)
    }
}
