//! `AppState`: the one shared state handed to HTTP routes and Socket.IO handlers.

use std::sync::Arc;
use std::time::Instant;

use crate::alerts::Alerts;
use crate::auth::Auth;
use crate::auth::issued::IssuedTokens;
use crate::config::Config;
use crate::groups::HostGroups;
use crate::licences::LicenceServers;
use crate::limits::{DiskFloor, PendingHandshakes, PerHost, PerIp, PerToken};
use crate::metrics::Metrics;
use crate::registry::HostRegistry;
use crate::relay::Relay;
use crate::sheets::{Sheets, Sources};
use crate::stores::Stores;

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
    pub registry: Arc<HostRegistry>,
    /// Each host's group.
    pub groups: HostGroups,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// The durable stores: the redb file, and the shared snapshot store of a cluster.
    pub store: Stores,
    /// Set when the list of hosts with a connected agent may have changed.
    pub agent_list_dirty: tokio::sync::Notify,
    /// When the server started.
    pub started: Instant,
    /// The Google Sheets uploader.
    pub sheets: Arc<Sheets>,
    /// The alert rules and their notifiers.
    pub alerts: Arc<Alerts>,
    /// The licence servers polled and their latest answers.
    pub licence_servers: Arc<LicenceServers>,
    /// Per-host agent tokens.
    pub tokens: IssuedTokens,
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
    /// The free-seat view: its board and what its task reads.
    pub seats: Arc<crate::seats::live::Sources>,
    /// The PCs that should report.
    pub directory: Arc<crate::directory::Directory>,
    /// This server's part in a cluster, once connected (`[cluster]`).
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
}

impl AppState {
    /// Fresh state for a server starting now.
    #[must_use]
    pub fn new(config: Config, auth: Auth, store: impl Into<Stores>) -> Self {
        let store: Stores = store.into();
        let tokens = IssuedTokens::load(&store).unwrap_or_else(|e| {
            tracing::error!("cannot read the agent tokens from the store ({e}); none accepted");
            IssuedTokens::default()
        });
        let limits = &config.limits;
        let host_limits = PerHost::new(limits.host_rate(), limits.host_bytes_per_day.as_u64());
        let token_connections = PerToken::new(limits.connections_per_token);
        let disk_floor = Arc::new(DiskFloor::new(
            config.data_dir.clone(),
            limits.min_free_disk.as_u64(),
        ));
        let registry = Arc::new(HostRegistry::new(limits.max_clock_skew));
        let directory = Arc::new(crate::directory::Directory::new(&config.directory));
        let groups = HostGroups::new(config.report.groups.clone(), registry.clone())
            .with_directory(directory.clone());
        let sheets = Arc::new(Sheets::new(
            &config,
            Sources {
                registry: registry.clone(),
                store: store.clone(),
                rules: config.report.rules(),
                groups: groups.clone(),
            },
        ));
        let licence_servers = Arc::new(LicenceServers::new(
            &config.licence_servers,
            Some(store.clone()),
        ));
        let connect_limits = PerIp::new(limits.connect_rate, limits.connect_burst);
        // A session the Socket.IO library has not closed yet after its connect timeout still
        // counts, with a second of slack.
        let pending_handshakes = PendingHandshakes::new(
            limits.pending_handshakes,
            limits.handshake_timeout + std::time::Duration::from_secs(1),
        );
        let relay = Relay::new(limits.dashboard_buffer.as_u64());
        let metrics = Metrics::default();
        let alerts = Arc::new(Alerts::new(
            &config,
            metrics.notifications.clone(),
            metrics.alert_observations_dropped.clone(),
        ));
        let seats = Arc::new(crate::seats::live::Sources {
            board: Arc::new(crate::seats::SeatBoard::new(&config.seats)),
            registry: registry.clone(),
            groups: groups.clone(),
            directory: directory.clone(),
            store: store.clone(),
            cover_ms: config.report.rules().interval_ms.saturating_mul(3),
            seat_events: metrics.seat_events.clone(),
            events_dropped: metrics.events_dropped.clone(),
        });
        Self(Arc::new(Inner {
            seats,
            directory,
            connect_limits,
            pending_handshakes,
            relay,
            host_limits,
            token_connections,
            disk_floor,
            tokens,
            sheets,
            licence_servers,
            config,
            auth,
            registry,
            groups,
            metrics,
            alerts,
            store,
            agent_list_dirty: tokio::sync::Notify::new(),
            started: Instant::now(),
            cluster: std::sync::OnceLock::new(),
        }))
    }
}

impl AppState {
    /// Marks the agent list as changed; dashboards get it shortly (and the other servers of a
    /// cluster this server's list).
    pub fn agent_list_changed(&self) {
        self.agent_list_dirty.notify_one();
        if let Some(cluster) = self.cluster() {
            cluster.agents_changed();
        }
    }

    /// This server's part in a cluster, if it is in one.
    #[must_use]
    pub fn cluster(&self) -> Option<&Arc<crate::cluster::Cluster>> {
        self.cluster.get()
    }

    /// Whether this server does the work that must happen once: always on its own; in a
    /// cluster, while it holds the lead.
    #[must_use]
    pub fn leads(&self) -> bool {
        self.cluster().is_none_or(|c| c.lead.held())
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
