//! Alerts: rules (`[[alerts]]`) evaluated on the ingest path and by a timer, each alert's life
//! (pending, firing, resolved) kept per rule and subject, stored, shown and notified.
//!
//! The ingest path only hands each accepted snapshot's parsed fields (already shared, an `Arc`)
//! to one task over a bounded queue, never waiting: when the queue is full the observation is
//! dropped and counted, which costs nothing lasting because conditions are states, not edges —
//! the host's next snapshot, or the timer, sees the same condition again. That task owns every
//! rule's state ([`evaluate`]), writes alerts to the store, tells dashboards (`alert`) and queues
//! notifications ([`notify`]), whose delivery runs on tasks of its own.
//!
//! - [`lifecycle`]: the state machine every kind shares.
//! - [`evaluate`]: which conditions hold, per rule.
//! - [`record`]: an alert as stored and shown, and its one-line summary.
//! - [`run`]: the task.
//! - [`notify`]: webhooks and e-mail.
//! - [`untold`]: in a cluster, the changes a server that does not lead keeps until told.
//! - [`shared`]: in a cluster on a shared store, one record per alert across changes of lead.

pub mod evaluate;
pub mod lifecycle;
pub mod notify;
pub mod record;
pub mod run;
pub mod shared;
pub mod untold;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

use self::evaluate::Evaluator;
use self::notify::Notifiers;
use crate::config::Config;
use crate::registry::Latest;
use idlewatch_protocol::api::Alert;

/// Observations queued for the alerts task before the ingest path drops them.
pub const QUEUE: usize = 8192;

/// The shortest and longest period of the alerts timer (a quarter of the shortest `for`, in
/// between).
pub const TICK_MIN: Duration = Duration::from_secs(1);
/// See [`TICK_MIN`].
pub const TICK_MAX: Duration = Duration::from_secs(10);

/// How long after the server starts a host not heard from yet is given to reconnect before
/// anything is concluded about it: agents retry within 30 s (plus jitter) of losing the server,
/// so a restart neither resolves the alerts of hosts whose agents have not reconnected yet nor
/// calls them offline.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(60);

/// One accepted snapshot, as the alerts task sees it.
pub struct Observation {
    /// Its host.
    pub host: String,
    /// Its fields (shared with the live state).
    pub latest: Arc<Latest>,
    /// When it was accepted, epoch ms.
    pub at_ms: i64,
}

/// Where the task's inputs wait until it starts.
struct Pending {
    evaluator: Evaluator,
    observations: mpsc::Receiver<Observation>,
    told: mpsc::Receiver<Alert>,
}

/// The alert rules, their queue from the ingest path and their notifiers.
pub struct Alerts {
    observations: Option<mpsc::Sender<Observation>>,
    told: Option<mpsc::Sender<Alert>>,
    pending: Mutex<Option<Pending>>,
    notifiers: Option<Arc<Notifiers>>,
    setup_error: Option<String>,
    tick: Duration,
    dropped: Counter,
}

impl Alerts {
    /// The rules of `config`; `dropped` counts observations the full queue refused.
    #[must_use]
    pub fn new(config: &Config, counters: notify::Counters, dropped: Counter) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (told_tx, told) = mpsc::channel(QUEUE);
        let rules = config.alerts.clone();
        let tick = rules
            .iter()
            .map(|r| r.hold / 4)
            .min()
            .unwrap_or(TICK_MAX)
            .clamp(TICK_MIN, TICK_MAX);
        let (notifiers, setup_error) = match Notifiers::new(config, counters) {
            Ok(n) => (Some(Arc::new(n)), None),
            Err(e) => (None, Some(e)),
        };
        let report = config.report.rules();
        let any = !rules.is_empty();
        Self {
            observations: any.then_some(tx),
            told: any.then_some(told_tx),
            pending: Mutex::new(Some(Pending {
                evaluator: Evaluator::new(rules, report.open, report.time_zone),
                observations: rx,
                told,
            })),
            notifiers,
            setup_error,
            tick,
            dropped,
        }
    }

    /// Why the notifiers cannot work (an unreadable secret or password file), if they cannot.
    #[must_use]
    pub fn setup_error(&self) -> Option<&str> {
        self.setup_error.as_deref()
    }

    /// Hands an accepted snapshot, now the host's latest, to the alerts task; never waits.
    pub fn observe(&self, host: &str, latest: &Arc<Latest>, at_ms: i64) {
        let Some(tx) = &self.observations else {
            return;
        };
        let observation = Observation {
            host: host.to_owned(),
            latest: latest.clone(),
            at_ms,
        };
        if tx.try_send(observation).is_err() {
            self.dropped.inc();
        }
    }

    /// Cluster mode: the leader told `alert` (this server need not, should it lead next).
    pub fn told_elsewhere(&self, alert: &Alert) {
        if let Some(tx) = &self.told {
            // Dropped when full: at worst this server tells the change again once it leads.
            let _ = tx.try_send(alert.clone());
        }
    }

    /// The timer's period.
    #[must_use]
    pub fn tick(&self) -> Duration {
        self.tick
    }
}
