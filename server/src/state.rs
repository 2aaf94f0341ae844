//! `AppState`: the one shared state handed to HTTP routes and Socket.IO handlers.

use std::sync::Arc;
use std::time::Instant;

use idlewatch_store::Store;

use crate::agent_tokens::AgentTokens;
use crate::auth::Auth;
use crate::config::Config;
use crate::limits::{DiskFloor, PendingHandshakes, PerHost, PerIp, PerToken};
use crate::metrics::Metrics;
use crate::registry::HostRegistry;
use crate::sheets::Sheets;
use crate::socket::flow::Relay;

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
    /// The durable journal.
    pub store: Store,
    /// Set when the list of hosts with a connected agent may have changed.
    pub agent_list_dirty: tokio::sync::Notify,
    /// When the server started.
    pub started: Instant,
    /// The Google Sheets uploader.
    pub sheets: Sheets,
    /// Per-host agent tokens.
    pub agent_tokens: AgentTokens,
    /// Each host's snapshot rate and daily byte budget.
    pub host_limits: PerHost,
    /// Open connections per per-host agent token.
    pub token_connections: PerToken,
    /// The storage floor (free space of the data dir's file system).
    pub disk_floor: Arc<DiskFloor>,
    /// New connections (Engine.IO sessions) per IP address.
    pub connect_limits: PerIp,
    /// Engine.IO sessions waiting for their Socket.IO connect.
    pub pending_handshakes: PendingHandshakes,
    /// Flow control of the relay to dashboards.
    pub relay: Relay,
}

impl AppState {
    /// Fresh state for a server starting now.
    #[must_use]
    pub fn new(config: Config, auth: Auth, store: Store) -> Self {
        let sheets = Sheets::new(&config);
        let agent_tokens = AgentTokens::load(&store).unwrap_or_else(|e| {
            tracing::error!("cannot read the agent tokens from the store ({e}); none accepted");
            AgentTokens::default()
        });
        let limits = &config.limits;
        let host_limits = PerHost::new(limits.host_rate(), limits.host_bytes_per_day.as_u64());
        let token_connections = PerToken::new(limits.connections_per_token);
        let disk_floor = Arc::new(DiskFloor::new(
            config.data_dir.clone(),
            limits.min_free_disk.as_u64(),
        ));
        let registry = HostRegistry::new(limits.max_clock_skew);
        let connect_limits = PerIp::new(limits.connect_rate, limits.connect_burst);
        // A session the Socket.IO library has not closed yet after its connect timeout still
        // counts, with a second of slack.
        let pending_handshakes = PendingHandshakes::new(
            limits.pending_handshakes,
            limits.handshake_timeout + std::time::Duration::from_secs(1),
        );
        let relay = Relay::new(limits.dashboard_buffer.as_u64());
        Self(Arc::new(Inner {
            connect_limits,
            pending_handshakes,
            relay,
            host_limits,
            token_connections,
            disk_floor,
            agent_tokens,
            sheets,
            config,
            auth,
            registry,
            metrics: Metrics::default(),
            store,
            agent_list_dirty: tokio::sync::Notify::new(),
            started: Instant::now(),
        }))
    }
}

impl AppState {
    /// Marks the agent list as changed; dashboards get it shortly.
    pub fn agent_list_changed(&self) {
        self.agent_list_dirty.notify_one();
    }

    /// The role of a presented token: one of the three role tokens, or a per-host agent token
    /// (the agent role, bound to its host).
    ///
    /// # Errors
    /// No token, or one that matches nothing.
    pub fn role_of(
        &self,
        presented: Option<&str>,
    ) -> Result<(crate::auth::Role, Option<crate::agent_tokens::Bound>), crate::auth::Refusal> {
        match self.auth.role_for(presented) {
            Err(crate::auth::Refusal::Invalid) => presented
                .and_then(|t| self.agent_tokens.lookup(t.trim()))
                .map(|bound| (crate::auth::Role::Agent, Some(bound)))
                .ok_or(crate::auth::Refusal::Invalid),
            other => other.map(|role| (role, None)),
        }
    }

    /// A host's group: the first `[report.groups]` entry listing it, else its own `group`.
    #[must_use]
    pub fn host_group(&self, host: &str) -> Option<String> {
        self.config
            .report
            .groups
            .iter()
            .find(|(_, hosts)| hosts.iter().any(|h| h == host))
            .map(|(g, _)| g.clone())
            .or_else(|| self.registry.group_of(host))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
