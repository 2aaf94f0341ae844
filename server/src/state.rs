//! `AppState`: the one shared state handed to HTTP routes and Socket.IO handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::auth::Auth;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::registry::HostRegistry;

/// Cheap to clone; everything inside is shared.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared parts.
pub struct Inner {
    /// The effective configuration.
    pub config: Config,
    /// Who may do what.
    pub auth: Auth,
    /// Latest state per host.
    pub registry: HostRegistry,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// When the server started.
    pub started: Instant,
    next_seq: AtomicU64,
}

impl AppState {
    /// Fresh state for a server starting now.
    #[must_use]
    pub fn new(config: Config, auth: Auth) -> Self {
        Self(Arc::new(Inner {
            config,
            auth,
            registry: HostRegistry::new(),
            metrics: Metrics::default(),
            started: Instant::now(),
            next_seq: AtomicU64::new(1),
        }))
    }

    /// The next server sequence number for an accepted snapshot (starts at 1).
    pub fn next_seq(&self) -> u64 {
        self.0.next_seq.fetch_add(1, Ordering::Relaxed)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
