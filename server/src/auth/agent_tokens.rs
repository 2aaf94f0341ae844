//! Per-host agent tokens: each one lets a single host register and report, and nothing else.
//! The store keeps only their SHA-256 hashes; this module keeps those in memory (hash → id and
//! host) so checking a connection's token costs one hash and one map lookup. A revoked token
//! stops working at once, also on connections already open.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use idlewatch_store::Store;

/// A token's id and its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The token's id (for `tokens revoke`).
    pub id: u64,
    /// The only host it may report for.
    pub host: Arc<str>,
}

/// A newly issued token: the only time the token itself is known.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its id.
    pub id: u64,
    /// Its host.
    pub host: String,
    /// The token, to give the agent.
    pub token: String,
    /// When it was issued, epoch ms.
    pub created_ms: i64,
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The system gave no random bytes.
    #[error("no random bytes for a token: {0}")]
    Random(getrandom::Error),
    /// The store could not record it.
    #[error(transparent)]
    Store(#[from] idlewatch_store::Error),
}

/// The live tokens.
#[derive(Default)]
pub struct AgentTokens {
    by_hash: RwLock<HashMap<[u8; 32], Bound>>,
}

fn hash(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl AgentTokens {
    /// The tokens in the store.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn load(store: &Store) -> Result<Self, idlewatch_store::Error> {
        let mut by_hash = HashMap::new();
        for t in store.agent_tokens()? {
            if let Ok(h) = <[u8; 32]>::try_from(t.hash.as_slice()) {
                by_hash.insert(
                    h,
                    Bound {
                        id: t.id,
                        host: Arc::from(t.host.as_str()),
                    },
                );
            }
        }
        Ok(Self {
            by_hash: RwLock::new(by_hash),
        })
    }

    /// The host `token` is bound to, if it is a live agent token.
    #[must_use]
    pub fn lookup(&self, token: &str) -> Option<Bound> {
        // Comparing hashes of a 256-bit random token: timing reveals nothing usable.
        self.read().get(&hash(token)).cloned()
    }

    /// Whether token `id` is still live.
    #[must_use]
    pub fn is_live(&self, id: u64) -> bool {
        self.read().values().any(|b| b.id == id)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<[u8; 32], Bound>> {
        self.by_hash
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Issues a token for `host`, stores its hash and returns it.
    ///
    /// # Errors
    /// When no random bytes can be had or the store cannot be written.
    pub fn issue(&self, store: &Store, host: &str, now_ms: i64) -> Result<Issued, IssueError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(IssueError::Random)?;
        let token = format!(
            "iwh_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let h = hash(&token);
        let id = store.add_agent_token(host, &h, now_ms)?;
        self.by_hash
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                h,
                Bound {
                    id,
                    host: Arc::from(host),
                },
            );
        Ok(Issued {
            id,
            host: host.to_owned(),
            token,
            created_ms: now_ms,
        })
    }

    /// Revokes token `id`; whether it existed.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn revoke(&self, store: &Store, id: u64) -> Result<bool, idlewatch_store::Error> {
        let existed = store.remove_agent_token(id)?;
        self.by_hash
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, b| b.id != id);
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idlewatch_store::OpenOptions;

    #[test]
    fn issued_tokens_are_stored_hashed_bound_to_one_host_and_revocable() {
        let (store, writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let tokens = AgentTokens::default();
        let issued = tokens.issue(&store, "pc-07", 1).unwrap();
        assert!(issued.token.starts_with("iwh_") && issued.token.len() > 40);
        let bound = tokens.lookup(&issued.token).unwrap();
        assert_eq!((bound.id, &*bound.host), (issued.id, "pc-07"));
        assert!(tokens.lookup("iwh_something-else").is_none());
        // Only the hash is stored.
        let stored = store.agent_tokens().unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].hash, hash(&issued.token));
        assert!(
            !stored[0]
                .hash
                .windows(8)
                .any(|w| issued.token.as_bytes().windows(8).any(|t| t == w))
        );
        // A restart finds it again.
        let reloaded = AgentTokens::load(&store).unwrap();
        assert_eq!(reloaded.lookup(&issued.token).unwrap().id, issued.id);
        assert!(tokens.revoke(&store, issued.id).unwrap());
        assert!(tokens.lookup(&issued.token).is_none() && !tokens.is_live(issued.id));
        assert!(!tokens.revoke(&store, issued.id).unwrap());
        writer.stop();
    }
}
