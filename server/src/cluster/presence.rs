//! Which hosts have an agent on which other server. Each server keeps its list under its own
//! key in Redis, leased for `[cluster] lease` and rewritten several times per lease, and
//! publishes it when it changes; the others read every list on the same period. A server that
//! dies stops rewriting its key, which Redis deletes when its lease runs out: its hosts then
//! count as disconnected everywhere (their agents are back within seconds on another server).
//!
//! Each list carries its server's sequence number: a list read from Redis just before the same
//! server published a newer one does not replace the newer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One server's hosts with an agent connected to it, sorted, and the list's number (higher:
/// newer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentList {
    /// Counts the server's lists.
    pub seq: u64,
    /// The hosts.
    pub hosts: Vec<String>,
}

/// The other servers' agent lists, by server id.
#[derive(Debug, Default)]
pub struct Peers {
    lists: Mutex<BTreeMap<String, AgentList>>,
}

impl Peers {
    /// Server `id` published `list` (kept unless a newer one is known).
    pub fn update(&self, id: &str, list: AgentList) {
        let mut lists = self.lock();
        if lists.get(id).is_none_or(|known| known.seq < list.seq) {
            lists.insert(id.to_owned(), list);
        }
    }

    /// Every live server's list (read from Redis): servers not in it are gone; a list known
    /// already in a newer version stays.
    pub fn replace(&self, mut read: BTreeMap<String, AgentList>) {
        let mut lists = self.lock();
        for (id, list) in &mut read {
            if let Some(known) = lists.get(id)
                && known.seq > list.seq
            {
                *list = known.clone();
            }
        }
        *lists = read;
    }

    /// Agents per host over every other server.
    #[must_use]
    pub fn counts(&self) -> HashMap<String, u32> {
        let mut counts = HashMap::new();
        for list in self.lock().values() {
            for host in &list.hosts {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, AgentList>> {
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(seq: u64, hosts: &[&str]) -> AgentList {
        AgentList {
            seq,
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    #[test]
    fn a_host_counts_once_per_server_and_a_gone_server_counts_no_more() {
        let peers = Peers::default();
        peers.update("a", list(1, &["lab-01", "lab-02"]));
        peers.update("b", list(1, &["lab-02"]));
        let counts = peers.counts();
        assert_eq!(counts.get("lab-01"), Some(&1));
        assert_eq!(counts.get("lab-02"), Some(&2));
        peers.replace(BTreeMap::from([("b".to_owned(), list(2, &["lab-02"]))]));
        let counts = peers.counts();
        assert_eq!(counts.get("lab-01"), None);
        assert_eq!(counts.get("lab-02"), Some(&1));
        assert_eq!(peers.len(), 1);
    }

    #[test]
    fn an_older_list_never_replaces_a_newer_one() {
        let peers = Peers::default();
        peers.update("a", list(5, &["lab-01", "lab-02"]));
        peers.update("a", list(4, &["lab-01"]));
        assert_eq!(peers.counts().get("lab-02"), Some(&1), "published late");
        // Read from Redis just before "a" published its list 5.
        peers.replace(BTreeMap::from([("a".to_owned(), list(4, &["lab-01"]))]));
        assert_eq!(peers.counts().get("lab-02"), Some(&1), "read before");
        peers.replace(BTreeMap::from([("a".to_owned(), list(6, &[]))]));
        assert!(peers.counts().is_empty());
    }
}
