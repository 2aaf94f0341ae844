//! Which hosts have an agent on which other server. Each server keeps its list under its own
//! key in Redis, leased for `[cluster] lease` and rewritten several times per lease, and
//! publishes it when it changes; the others read every list on the same period. A server that
//! dies stops rewriting its key, which Redis deletes when its lease runs out: its hosts then
//! count as disconnected everywhere (their agents are back within seconds on another server).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// The other servers' agent lists, by server id.
#[derive(Debug, Default)]
pub struct Peers {
    lists: Mutex<BTreeMap<String, Vec<String>>>,
}

impl Peers {
    /// Server `id` now has agents for `hosts`.
    pub fn update(&self, id: &str, hosts: Vec<String>) {
        self.lock().insert(id.to_owned(), hosts);
    }

    /// Every live server's list (read from Redis): servers not in it are gone.
    pub fn replace(&self, lists: BTreeMap<String, Vec<String>>) {
        *self.lock() = lists;
    }

    /// Agents per host over every other server.
    #[must_use]
    pub fn counts(&self) -> HashMap<String, u32> {
        let mut counts = HashMap::new();
        for hosts in self.lock().values() {
            for host in hosts {
                *counts.entry(host.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// How many other servers are live.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no other server is live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<String>>> {
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_counts_once_per_server_and_a_gone_server_counts_no_more() {
        let peers = Peers::default();
        peers.update("a", vec!["lab-01".into(), "lab-02".into()]);
        peers.update("b", vec!["lab-02".into()]);
        let counts = peers.counts();
        assert_eq!(counts.get("lab-01"), Some(&1));
        assert_eq!(counts.get("lab-02"), Some(&2));
        peers.replace(BTreeMap::from([(
            "b".to_owned(),
            vec!["lab-02".to_owned()],
        )]));
        let counts = peers.counts();
        assert_eq!(counts.get("lab-01"), None);
        assert_eq!(counts.get("lab-02"), Some(&1));
        assert_eq!(peers.len(), 1);
    }
}
