//! Where alerts are told: each `[notifiers.NAME]` becomes a webhook and/or a list of e-mail
//! addresses, each with its own queue and delivery task, so a slow or failing receiver holds up
//! neither the others nor anything else in the server. Within one receiver notifications go out
//! in order (an alert's `resolved` never overtakes its `firing`), each retried with exponential
//! backoff before it is given up and logged.
//!
//! - [`webhook`]: the HTTP POST, its body and signature.
//! - [`email`]: the SMTP conversation.

pub mod email;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use idlewatch_protocol::api::{AlertNotification, AlertState};
use lettre::message::Mailbox;
use tokio::sync::mpsc;

use crate::config::Config;

/// Notifications queued per receiver before new ones are dropped (and logged).
pub const QUEUE: usize = 1024;
/// The first pause before another attempt; each further one doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest pause (before jitter).
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// Attempts at one notification before it is given up.
pub const MAX_ATTEMPTS: usize = 8;

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Delivered.
    Done,
    /// Failed in a way worth another attempt (network, 429, 5xx, a temporary SMTP refusal).
    Retry(String),
    /// Failed for good (a 4xx, a refused address).
    Fail(String),
}

/// The one line a person reads about `n` (chat messages, e-mail bodies).
#[must_use]
pub fn text_of(n: &AlertNotification) -> String {
    let state = match (n.state, n.repeat) {
        (AlertState::Firing, false) => "FIRING",
        (AlertState::Firing, true) => "STILL FIRING",
        (AlertState::Resolved, _) => "RESOLVED",
    };
    format!("{state} {}: {}", n.alert, n.summary)
}

enum Target {
    Webhook(webhook::Webhook),
    Email {
        /// Boxed: a transport is much larger than a webhook.
        mailer: Box<email::Mailer>,
        to: Vec<Mailbox>,
    },
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Self::Webhook(_) => "webhook".to_owned(),
            Self::Email { to, .. } => format!("e-mail to {} addresses", to.len()),
        }
    }

    async fn attempt(&self, n: &AlertNotification, body: &[u8]) -> Attempt {
        match self {
            Self::Webhook(w) => w.post(body).await,
            Self::Email { mailer, to } => mailer.send(to, n).await,
        }
    }

    fn body(&self, n: &AlertNotification) -> Vec<u8> {
        match self {
            Self::Webhook(w) => w.body(n),
            Self::Email { .. } => Vec::new(),
        }
    }
}

struct Queue {
    notifier: String,
    target: Target,
    rx: mpsc::Receiver<AlertNotification>,
}

/// Delivery counters, shared with `/metrics`.
pub use crate::metrics::NotificationCounters as Counters;

/// Every notifier's queues, and their receiving ends until the delivery tasks start.
pub struct Notifiers {
    senders: HashMap<String, Vec<mpsc::Sender<AlertNotification>>>,
    queues: Mutex<Vec<Queue>>,
    counters: Counters,
}

fn read_secret(path: &std::path::Path, notifier: &str) -> Result<Vec<u8>, String> {
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "notifier {notifier:?}: cannot read secret_file {}: {e}; create it (mode 0600) with \
             the secret the receiver checks signatures with",
            path.display()
        )
    })?;
    let secret = text.trim_ascii_end().to_vec();
    if secret.is_empty() {
        return Err(format!(
            "notifier {notifier:?}: secret_file {} is empty; put the shared secret in it",
            path.display()
        ));
    }
    Ok(secret)
}

impl Notifiers {
    /// The notifiers of `config` (secrets and the mail password read now).
    ///
    /// # Errors
    /// A sentence saying which notifier cannot work and what to fix.
    pub fn new(config: &Config, counters: Counters) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("idlewatch-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start the HTTP client for webhooks: {e}"))?;
        let mailer = match &config.smtp {
            Some(smtp) if !smtp.host.trim().is_empty() => Some(email::Mailer::new(smtp)?),
            _ => None,
        };
        let mut senders: HashMap<String, Vec<mpsc::Sender<AlertNotification>>> = HashMap::new();
        let mut queues = Vec::new();
        for (name, n) in &config.notifiers {
            let mut targets = Vec::new();
            if let Some(url) = &n.webhook {
                let secret = n
                    .secret_file
                    .as_deref()
                    .map(|p| read_secret(p, name))
                    .transpose()?;
                targets.push(Target::Webhook(webhook::Webhook::new(
                    url.clone(),
                    n.format,
                    secret.as_deref(),
                    http.clone(),
                )));
            }
            if !n.email.is_empty() {
                let to = n
                    .email
                    .iter()
                    .map(|a| email::mailbox(a).map_err(|e| format!("notifier {name:?}: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                let mailer = mailer.clone().ok_or_else(|| {
                    format!("notifier {name:?}: `email` needs [smtp] with host and from")
                })?;
                targets.push(Target::Email {
                    mailer: Box::new(mailer),
                    to,
                });
            }
            for target in targets {
                let (tx, rx) = mpsc::channel(QUEUE);
                senders.entry(name.clone()).or_default().push(tx);
                queues.push(Queue {
                    notifier: name.clone(),
                    target,
                    rx,
                });
            }
        }
        Ok(Self {
            senders,
            queues: Mutex::new(queues),
            counters,
        })
    }

    /// Queues `n` for the notifiers named `names`; never waits (a full queue drops it, logged).
    pub fn send(&self, names: &[String], n: &AlertNotification) {
        for name in names {
            for tx in self.senders.get(name).into_iter().flatten() {
                if tx.try_send(n.clone()).is_err() {
                    self.counters.failed.inc();
                    tracing::error!(
                        notifier = %name,
                        alert = %n.alert,
                        "notification dropped: {QUEUE} are already waiting for this notifier"
                    );
                }
            }
        }
    }

    /// Delivers queued notifications until aborted (call once; later calls return at once).
    pub async fn deliver_forever(self: Arc<Self>) {
        let queues = std::mem::take(
            &mut *self
                .queues
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for queue in queues {
            let counters = self.counters.clone();
            tasks.spawn(deliver(queue, counters));
        }
        while let Some(ended) = tasks.join_next().await {
            if let Err(e) = ended {
                tracing::error!("a notifier's delivery task failed: {e}; restart the server");
            }
        }
    }
}

/// The pauses between attempts: from [`FIRST_DELAY`] doubling to [`MAX_DELAY`], each stretched
/// by a random 0–100 %.
fn policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(MAX_ATTEMPTS - 1)
}

async fn deliver(mut queue: Queue, counters: Counters) {
    let what = queue.target.describe();
    while let Some(n) = queue.rx.recv().await {
        let body = queue.target.body(&n);
        let target = &queue.target;
        let outcome = (|| async {
            match target.attempt(&n, &body).await {
                Attempt::Done => Ok(()),
                other => Err(other),
            }
        })
        .retry(policy())
        .sleep(tokio::time::sleep)
        .when(|a| matches!(a, Attempt::Retry(_)))
        .notify(|a, pause| {
            if let Attempt::Retry(reason) = a {
                tracing::warn!(
                    notifier = %queue.notifier,
                    alert = %n.alert,
                    "{reason}; trying the {what} again in {pause:.1?}"
                );
            }
        })
        .await;
        match outcome {
            Ok(()) => {
                counters.sent.inc();
                tracing::info!(
                    notifier = %queue.notifier,
                    alert = %n.alert,
                    state = n.state.as_str(),
                    "alert notified by {what}"
                );
            }
            Err(Attempt::Retry(reason) | Attempt::Fail(reason)) => {
                counters.failed.inc();
                tracing::error!(
                    notifier = %queue.notifier,
                    alert = %n.alert,
                    "alert not notified by {what}, given up: {reason}"
                );
            }
            Err(Attempt::Done) => {}
        }
    }
}
