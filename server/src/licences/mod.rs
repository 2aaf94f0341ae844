//! The licence servers' view: each `[[licence_servers]]` entry is polled on its own task (its
//! command run with a timeout, never on the ingest path), its latest answer is kept in memory,
//! and `GET /api/v1/licences/servers` sets its seats beside what the agents report
//! ([`view`]); each successful poll's seats issued and in use are also stored, for the pool's
//! history (`GET /api/v1/licences/servers/{name}/history`).

mod poll;
pub mod view;

use std::sync::{Arc, Mutex};

use idlewatch_licences::lmstat::Status;

use crate::config::LicenceServerConfig;

/// One poll's result.
#[derive(Debug, Clone)]
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
    store: Option<idlewatch_store::Store>,
    /// Counts the polls that ended, so the alerts task looks again after each.
    polls: tokio::sync::watch::Sender<u64>,
}

impl LicenceServers {
    /// The servers of `configs`, none polled yet; each successful poll's seats go to `store`.
    #[must_use]
    pub fn new(configs: &[LicenceServerConfig], store: Option<idlewatch_store::Store>) -> Self {
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
    /// command still running is killed).
    pub async fn poll_forever(self: Arc<Self>) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..self.entries.len() {
            let servers = self.clone();
            tasks.spawn(async move { servers.poll_one_forever(i).await });
        }
        while let Some(ended) = tasks.join_next().await {
            // A poll loop only ends by panicking: say so, the others go on.
            if let Err(e) = ended {
                tracing::error!("a licence server's poll task failed: {e}; restart the server");
            }
        }
    }

    async fn poll_one_forever(&self, i: usize) {
        let entry = &self.entries[i];
        let mut tick = tokio::time::interval(entry.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
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
            if let (Ok(status), Some(store)) = (&poll.outcome, &self.store) {
                let (issued, in_use) = view::totals(&entry.config, status);
                let point = idlewatch_store::PoolPoint {
                    at_ms: poll.at_ms,
                    issued,
                    in_use,
                };
                let (store, name) = (store.clone(), entry.config.name.clone());
                match tokio::task::spawn_blocking(move || store.add_licence_poll(&name, point))
                    .await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(server = %entry.config.name, "cannot keep the poll's seats: {e}");
                    }
                    Err(e) => {
                        tracing::warn!(server = %entry.config.name, "cannot keep the poll's seats: {e}");
                    }
                }
            }
            *entry
                .latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(poll);
            self.polls.send_modify(|n| *n += 1);
        }
    }
}
