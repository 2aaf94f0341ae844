//! Tokens an admin issues: per-host agent tokens (each lets a single host register and report,
//! and nothing else) and viewer tokens scoped to groups (each reads only those labs). The store
//! keeps only their SHA-256 hashes; this module keeps those in memory (hash → what the token
//! grants) so checking a connection's token costs one hash and one map lookup. A revoked token
//! stops working at once, also on connections already open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use base64::Engine;
use idlewatch_store::{Holder, TokenStore};

use super::scope::Scope;

/// An agent token's id and its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The token's id (for `tokens revoke`).
    pub id: u64,
    /// The only host it may report for.
    pub host: Arc<str>,
}

/// What an issued token grants.
#[derive(Debug, Clone)]
pub enum Grant {
    /// Reporting as one host.
    Host(Bound),
    /// Reading these labs.
    Labs(Arc<Scope>),
}

impl Grant {
    fn id(&self) -> u64 {
        match self {
            Self::Host(bound) => bound.id,
            Self::Labs(scope) => scope.id,
        }
    }

    fn of(id: u64, holder: &Holder) -> Self {
        match holder {
            Holder::Host(host) => Self::Host(Bound {
                id,
                host: Arc::from(host.as_str()),
            }),
            Holder::Groups(groups) => Self::Labs(Arc::new(Scope::new(id, groups.clone()))),
        }
    }
}

/// A newly issued token: the only time the token itself is known.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its id.
    pub id: u64,
    /// Who it is for.
    pub holder: Holder,
    /// The token, to give the agent or the viewer.
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

/// The live issued tokens.
#[derive(Default)]
pub struct IssuedTokens {
    by_hash: RwLock<HashMap<[u8; 32], Grant>>,
    /// Held while the store and the map change together (issuing, revoking, reloading), so a
    /// reload never brings back a token revoked meanwhile nor drops one just issued.
    changes: Mutex<()>,
    /// Woken when a viewer token is revoked, so its open connections are closed at once.
    scope_revoked: tokio::sync::Notify,
}

/// What each of the store's tokens grants, by hash.
fn grants(store: &dyn TokenStore) -> Result<HashMap<[u8; 32], Grant>, idlewatch_store::Error> {
    let mut by_hash = HashMap::new();
    for t in store.tokens()? {
        if let Ok(h) = <[u8; 32]>::try_from(t.hash.as_slice()) {
            by_hash.insert(h, Grant::of(t.id, &t.holder));
        }
    }
    Ok(by_hash)
}

fn hash(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl IssuedTokens {
    /// The tokens in the store.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn load(store: &dyn TokenStore) -> Result<Self, idlewatch_store::Error> {
        Ok(Self {
            by_hash: RwLock::new(grants(store)?),
            changes: Mutex::new(()),
            scope_revoked: tokio::sync::Notify::new(),
        })
    }

    /// Takes the store's tokens again (in a cluster on PostgreSQL, where other servers issue
    /// and revoke them): the ones gone stop working at once, also on connections already open.
    ///
    /// # Errors
    /// When the store cannot be read (the tokens known stay as they were).
    pub fn reload(&self, store: &dyn TokenStore) -> Result<(), idlewatch_store::Error> {
        let _serial = self.lock_changes();
        let fresh = grants(store)?;
        let mut scoped = false;
        {
            let mut by_hash = self
                .by_hash
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (h, grant) in by_hash.iter() {
                if let Grant::Labs(scope) = grant
                    && !fresh.contains_key(h)
                {
                    scope.revoke();
                    scoped = true;
                }
            }
            // The grants kept are the same objects: open connections hold their scopes.
            by_hash.retain(|h, _| fresh.contains_key(h));
            for (h, grant) in fresh {
                by_hash.entry(h).or_insert(grant);
            }
        }
        if scoped {
            self.scope_revoked.notify_one();
        }
        Ok(())
    }

    /// What `token` grants, if it is a live issued token.
    #[must_use]
    pub fn lookup(&self, token: &str) -> Option<Grant> {
        // Comparing hashes of a 256-bit random token: timing reveals nothing usable.
        self.read().get(&hash(token)).cloned()
    }

    /// Whether token `id` is still live.
    #[must_use]
    pub fn is_live(&self, id: u64) -> bool {
        self.read().values().any(|g| g.id() == id)
    }

    fn lock_changes(&self) -> MutexGuard<'_, ()> {
        self.changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<[u8; 32], Grant>> {
        self.by_hash
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Issues a token for `holder` (`iwh_…` for an agent, `iwv_…` for a viewer), stores its
    /// hash and returns it.
    ///
    /// # Errors
    /// When no random bytes can be had or the store cannot be written.
    pub fn issue(
        &self,
        store: &dyn TokenStore,
        holder: Holder,
        now_ms: i64,
    ) -> Result<Issued, IssueError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(IssueError::Random)?;
        let prefix = match holder {
            Holder::Host(_) => "iwh",
            Holder::Groups(_) => "iwv",
        };
        let token = format!(
            "{prefix}_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let h = hash(&token);
        let _serial = self.lock_changes();
        let id = store.add_token(&holder, &h, now_ms)?;
        self.by_hash
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(h, Grant::of(id, &holder));
        Ok(Issued {
            id,
            holder,
            token,
            created_ms: now_ms,
        })
    }

    /// Waits until a viewer token scoped to labs is revoked (one revoked since the last wait
    /// counts).
    pub async fn scope_revoked(&self) {
        self.scope_revoked.notified().await;
    }

    /// Revokes token `id`; whether it existed.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub fn revoke(&self, store: &dyn TokenStore, id: u64) -> Result<bool, idlewatch_store::Error> {
        let _serial = self.lock_changes();
        let existed = store.remove_token(id)?;
        let mut scoped = false;
        self.by_hash
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, g| {
                if g.id() != id {
                    return true;
                }
                if let Grant::Labs(scope) = g {
                    scope.revoke();
                    scoped = true;
                }
                false
            });
        if scoped {
            self.scope_revoked.notify_one();
        }
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idlewatch_store::{OpenOptions, Store};

    fn host(grant: Option<Grant>) -> Option<Bound> {
        match grant {
            Some(Grant::Host(bound)) => Some(bound),
            _ => None,
        }
    }

    #[test]
    fn issued_tokens_are_stored_hashed_bound_to_one_host_and_revocable() {
        let (store, writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let tokens = IssuedTokens::default();
        let issued = tokens
            .issue(&store, Holder::Host("pc-07".to_owned()), 1)
            .unwrap();
        assert!(issued.token.starts_with("iwh_") && issued.token.len() > 40);
        let bound = host(tokens.lookup(&issued.token)).unwrap();
        assert_eq!((bound.id, &*bound.host), (issued.id, "pc-07"));
        assert!(tokens.lookup("iwh_something-else").is_none());
        // Only the hash is stored.
        let stored = store.tokens().unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].hash, hash(&issued.token));
        assert!(
            !stored[0]
                .hash
                .windows(8)
                .any(|w| issued.token.as_bytes().windows(8).any(|t| t == w))
        );
        // A restart finds it again.
        let reloaded = IssuedTokens::load(&store).unwrap();
        assert_eq!(host(reloaded.lookup(&issued.token)).unwrap().id, issued.id);
        assert!(tokens.revoke(&store, issued.id).unwrap());
        assert!(tokens.lookup(&issued.token).is_none() && !tokens.is_live(issued.id));
        assert!(!tokens.revoke(&store, issued.id).unwrap());
        writer.stop();
    }

    #[test]
    fn viewer_tokens_carry_their_groups_across_a_restart_and_share_the_ids() {
        let (store, writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let tokens = IssuedTokens::default();
        let agent = tokens
            .issue(&store, Holder::Host("pc-1".to_owned()), 1)
            .unwrap();
        let groups = vec!["Lab CTI".to_owned(), "Library".to_owned()];
        let viewer = tokens
            .issue(&store, Holder::Groups(groups.clone()), 2)
            .unwrap();
        assert!(viewer.token.starts_with("iwv_"));
        assert_ne!(agent.id, viewer.id);
        let reloaded = IssuedTokens::load(&store).unwrap();
        let Some(Grant::Labs(scope)) = reloaded.lookup(&viewer.token) else {
            panic!("the viewer token grants no labs");
        };
        assert_eq!((scope.id, &scope.groups), (viewer.id, &groups));
        assert!(scope.admits(Some("lab cti")) && !scope.admits(Some("Lab B")));
        assert_eq!(
            store
                .tokens()
                .unwrap()
                .iter()
                .map(|t| (t.id, t.holder.clone()))
                .collect::<Vec<_>>(),
            [
                (agent.id, Holder::Host("pc-1".to_owned())),
                (viewer.id, Holder::Groups(groups))
            ]
        );
        assert!(!scope.is_revoked());
        assert!(reloaded.revoke(&store, viewer.id).unwrap());
        assert!(reloaded.lookup(&viewer.token).is_none() && !reloaded.is_live(viewer.id));
        // Open connections holding the scope see it revoked.
        assert!(scope.is_revoked());
        assert!(reloaded.is_live(agent.id));
        writer.stop();
    }

    #[test]
    fn a_reload_follows_tokens_another_server_issued_and_revoked() {
        let (store, writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        // Two servers sharing one store: `a` issues and revokes, `b` reloads.
        let (a, b) = (IssuedTokens::default(), IssuedTokens::default());
        let viewer = a
            .issue(&store, Holder::Groups(vec!["Lab CTI".to_owned()]), 1)
            .unwrap();
        let agent = a.issue(&store, Holder::Host("pc-1".to_owned()), 2).unwrap();
        assert!(b.lookup(&viewer.token).is_none());
        b.reload(&store).unwrap();
        let Some(Grant::Labs(held)) = b.lookup(&viewer.token) else {
            panic!("b does not know a's viewer token");
        };
        assert!(b.is_live(agent.id));
        // A reload keeps the scope a connection holds: revoking reaches it.
        b.reload(&store).unwrap();
        assert!(a.revoke(&store, viewer.id).unwrap());
        assert!(a.revoke(&store, agent.id).unwrap());
        assert!(!held.is_revoked() && b.is_live(agent.id));
        b.reload(&store).unwrap();
        assert!(held.is_revoked(), "b's open viewer connection is told");
        assert!(!b.is_live(agent.id) && b.lookup(&viewer.token).is_none());
        writer.stop();
    }
}
