//! The licence servers' view: each `[[licence_servers]]` entry is polled on its own task (its
//! command run with a timeout, never on the ingest path), its latest answer is kept in memory,
//! and `GET /api/v1/licences/servers` sets its seats beside what the agents report
//! ([`view`]); each successful poll's seats issued and in use are also stored, for the pool's
//! history (`GET /api/v1/licences/servers/{name}/history`). In a cluster one server polls,
//! the one holding the lead, and sends each poll to the others ([`Turn`]): a licence server
//! is asked once per interval however many servers there are.

mod poll;
pub mod view;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use idlewatch_licences::lmstat::Status;
use idlewatch_protocol::time::now_ms;
use idlewatch_store::RecordStore;

use crate::config::LicenceServerConfig;
use crate::stores::Stores;

/// One poll's result (sent as JSON to the other servers of a cluster).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Poll {
    /// When it ended, epoch ms.
    pub at_ms: i64,
    /// How long it took, ms.
    pub took_ms: u64,
    /// What the licence server said, or why the poll failed.
    pub outcome: Result<Status, String>,
}

struct Entry {
    config: LicenceServerConfig,
    // A std mutex: held only to swap or clone the result, never across an await.
    latest: Mutex<Option<Poll>>,
}

/// The configured licence servers and their latest answers.
pub struct LicenceServers {
    entries: Vec<Entry>,
    /// Where each successful poll's seats are kept (the pool's history).
    store: Option<Stores>,
    /// Counts the polls that ended, so the alerts task looks again after each.
    polls: tokio::sync::watch::Sender<u64>,
}

impl LicenceServers {
    /// The servers of `configs`, none polled yet; each successful poll's seats go to `store`.
    #[must_use]
    pub fn new(configs: &[LicenceServerConfig], store: Option<Stores>) -> Self {
        Self {
            entries: configs
                .iter()
                .map(|config| Entry {
                    config: config.clone(),
                    latest: Mutex::new(None),
                })
                .collect(),
            polls: tokio::sync::watch::Sender::new(0),
            store,
        }
    }

    /// Changes after every poll that ends.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.polls.subscribe()
    }

    /// Each server's configuration and latest poll, in configuration order.
    #[must_use]
    pub fn latest(&self) -> Vec<(LicenceServerConfig, Option<Poll>)> {
        self.entries
            .iter()
            .map(|e| {
                let latest = e
                    .latest
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                (e.config.clone(), latest)
            })
            .collect()
    }

    /// Polls every server at its interval until aborted (the server's shutdown aborts it; a
    /// command still running is killed). In a cluster only the server holding the lead polls
    /// (`turn.leads`) and tells the others (`turn.tell`); the others take its polls
    /// ([`Self::told_elsewhere`]) and poll themselves once they lead and a poll is due.
    pub async fn poll_forever(self: Arc<Self>, turn: Turn) {
        let turn = Arc::new(turn);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..self.entries.len() {
            let (servers, turn) = (self.clone(), turn.clone());
            tasks.spawn(async move { servers.poll_one_forever(i, &turn).await });
        }
        while let Some(ended) = tasks.join_next().await {
            // A poll loop only ends by panicking: say so, the others go on.
            if let Err(e) = ended {
                tracing::error!("a licence server's poll task failed: {e}; restart the server");
            }
        }
    }

    /// Another server of the cluster polled licence server `name`: its answer is the latest
    /// here too (unless one as recent is known), and its seats go to the pool's history when
    /// this server keeps its own store (on the shared store, the poller wrote them).
    pub async fn told_elsewhere(&self, name: &str, poll: Poll) {
        let Some(entry) = self.entries.iter().find(|e| e.config.name == name) else {
            return;
        };
        {
            let mut latest = entry
                .latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if latest.as_ref().is_some_and(|l| l.at_ms >= poll.at_ms) {
                return;
            }
            *latest = Some(poll.clone());
        }
        if !self.store.as_ref().is_some_and(Stores::shared) {
            self.keep(entry, &poll).await;
        }
        self.polls.send_modify(|n| *n += 1);
    }

    /// How long until `entry` is due a poll: its interval after the start of the latest (made
    /// here or told by another server), or now.
    fn until_due(entry: &Entry) -> Duration {
        let latest = entry
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|p| {
                p.at_ms
                    .saturating_sub(i64::try_from(p.took_ms).unwrap_or(i64::MAX))
            });
        latest.map_or(Duration::ZERO, |at_ms| {
            let due = at_ms.saturating_add(
                i64::try_from(entry.config.interval.as_millis()).unwrap_or(i64::MAX),
            );
            Duration::from_millis(u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0))
        })
    }

    async fn poll_one_forever(&self, i: usize, turn: &Turn) {
        let entry = &self.entries[i];
        let mut failing = false;
        loop {
            let wait = Self::until_due(entry);
            if !wait.is_zero() {
                // A poll told meanwhile moves the next one later: looked at again then.
                tokio::time::sleep(wait).await;
                continue;
            }
            if !(turn.leads)() {
                tokio::time::sleep(NOT_LEADING_CHECK).await;
                continue;
            }
            let poll = poll::once(&entry.config).await;
            match (&poll.outcome, failing) {
                (Err(e), false) => {
                    tracing::warn!(server = %entry.config.name, "licence server poll failed: {e}");
                    failing = true;
                }
                (Ok(_), true) => {
                    tracing::info!(server = %entry.config.name, "licence server answers again");
                    failing = false;
                }
                _ => {}
            }
            self.keep(entry, &poll).await;
            (turn.tell)(&entry.config.name, &poll, entry.config.interval);
            *entry
                .latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(poll);
            self.polls.send_modify(|n| *n += 1);
        }
    }

    /// Stores a successful poll's seats, for the pool's history.
    async fn keep(&self, entry: &Entry, poll: &Poll) {
        let (Ok(status), Some(store)) = (&poll.outcome, &self.store) else {
            return;
        };
        let (issued, in_use) = view::totals(&entry.config, status);
        let point = idlewatch_store::PoolPoint {
            at_ms: poll.at_ms,
            issued,
            in_use,
        };
        let (store, name) = (store.clone(), entry.config.name.clone());
        let kept = tokio::task::spawn_blocking(move || store.add_licence_poll(&name, point)).await;
        let error = match kept {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(server = %entry.config.name, "cannot keep the poll's seats: {error}");
    }
}

/// How often a server that does not hold the lead looks whether it does, when a poll is due:
/// it takes the polls over within this of leading.
const NOT_LEADING_CHECK: Duration = Duration::from_secs(1);

/// Tells the other servers of a cluster about a poll (licence server name, the poll, the
/// interval).
pub type Tell = Box<dyn Fn(&str, &Poll, Duration) + Send + Sync>;

/// Whose turn it is to poll, and how the others hear of it.
pub struct Turn {
    /// Whether this server polls (on its own it always does; in a cluster, while it holds the
    /// lead).
    pub leads: Box<dyn Fn() -> bool + Send + Sync>,
    /// Tells the other servers of a cluster about a poll made here (licence server name, the
    /// poll, the interval); nothing on a server on its own.
    pub tell: Tell,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LicenceServerConfig {
        toml::from_str("name = \"lic1\"\ncommand = [\"lmutil\"]\napp = \"ansys\"\n").unwrap()
    }

    fn poll(at_ms: i64, in_use: u32) -> Poll {
        let text = format!(
            "Users of aa_r:  (Total of 10 licenses issued;  Total of {in_use} licenses in use)\n"
        );
        Poll {
            at_ms,
            took_ms: 5,
            outcome: Ok(idlewatch_licences::lmstat::parse(&text)),
        }
    }

    /// In a cluster on Redis alone, each server keeps its own pool history: a poll the lead
    /// told is kept here too; one older than the latest known changes nothing.
    #[tokio::test]
    async fn a_poll_told_by_the_lead_becomes_the_latest_and_joins_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _writer, _) =
            idlewatch_store::Store::open(dir.path(), &idlewatch_store::OpenOptions::default())
                .unwrap();
        let servers = LicenceServers::new(&[config()], Some(Stores::from(store.clone())));
        let mut changed = servers.subscribe();
        servers.told_elsewhere("lic1", poll(2_000, 3)).await;
        assert!(
            changed.has_changed().unwrap(),
            "the alerts task looks again"
        );
        changed.mark_unchanged();
        servers.told_elsewhere("lic1", poll(1_000, 7)).await;
        servers
            .told_elsewhere("no-such-server", poll(3_000, 1))
            .await;
        assert!(!changed.has_changed().unwrap());
        let latest = servers.latest();
        assert_eq!(latest[0].1.as_ref().map(|p| p.at_ms), Some(2_000));
        let kept: Vec<(i64, u32)> = store
            .licence_polls("lic1", 0, 10_000)
            .unwrap()
            .iter()
            .map(|p| (p.at_ms, p.in_use))
            .collect();
        assert_eq!(kept, [(2_000, 3)]);
        // The next poll is due an interval after the latest, wherever it was made.
        assert!(LicenceServers::until_due(&servers.entries[0]).is_zero());
        servers.told_elsewhere("lic1", poll(now_ms(), 4)).await;
        let due = LicenceServers::until_due(&servers.entries[0]);
        assert!(
            due > Duration::from_secs(290) && due <= Duration::from_secs(300),
            "{due:?}"
        );
    }
}
