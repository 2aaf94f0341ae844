//! Process-wide counters and gauges, exposed by `GET /metrics` in the Prometheus text format
//! (0.0.4) through prometheus-client. Counters are atomics, incremented on the ingest path
//! without locks (the per-label ones are taken out of their families once, at start); the
//! gauges read at render time (hosts, store size, free disk, uptime) are set just before
//! encoding.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use idlewatch_protocol::ErrorCode;
use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The `Content-Type` of what [`Metrics::render`] writes.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Error codes counted separately in `idlewatch_snapshots_rejected_total`.
const REJECT_CODES: [ErrorCode; 8] = [
    ErrorCode::InvalidJson,
    ErrorCode::InvalidPayload,
    ErrorCode::InvalidField,
    ErrorCode::TooLarge,
    ErrorCode::TooManyProcesses,
    ErrorCode::Forbidden,
    ErrorCode::Busy,
    ErrorCode::Storage,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

/// The counters and gauges, and the registries that expose them.
#[derive(Debug)]
pub struct Metrics {
    /// Snapshots accepted.
    pub snapshots_accepted: Counter,
    /// Bytes of accepted snapshot JSON.
    pub snapshot_bytes: Counter,
    /// Refused snapshots and registrations, one counter per code of [`REJECT_CODES`].
    rejected: Vec<Counter>,
    /// Snapshots committed to the store.
    pub snapshots_stored: Counter,
    /// Replays of snapshots already stored (acked, not stored again).
    pub snapshots_duplicate: Counter,
    /// Snapshots stored that arrived after their time was folded into minute rows.
    pub snapshots_uncounted: Counter,
    /// Snapshots relayed as `telemetry` (once per broadcast, not per dashboard).
    pub telemetry_broadcasts: Counter,
    /// `seats` events sent (once per round of changes, not per socket).
    pub seat_events: Counter,
    /// Socket.IO sockets connected to the seat view right now.
    pub seat_viewers_connected: Gauge,
    /// Replayed snapshots older than the host's latest (not relayed).
    pub snapshots_older: Counter,
    /// `agent_register` events accepted.
    pub registrations: Counter,
    /// Socket.IO connections refused for lack of a valid token.
    pub connects_refused: Counter,
    /// Socket.IO sockets connected as dashboards right now.
    pub dashboards_connected: Gauge,
    /// Socket.IO sockets registered as agents right now.
    pub agents_connected: Gauge,
    /// Events and acks not sent because a socket's buffer was full.
    pub events_dropped: Counter,
    /// HTTP requests refused with 401 or 403.
    pub http_refused: Counter,
    /// Connections refused by an abuse limit (connection count, per-token count or per-IP rate).
    pub connects_limited: Counter,
    /// Snapshots answered `busy` for exceeding their connection's or host's rate.
    pub snapshots_rate_limited: Counter,
    /// Snapshots answered `busy` because their host spent its daily byte budget.
    pub snapshots_over_budget: Counter,
    /// Connections closed at once because their address had too many without a request.
    pub connections_shed: Counter,
    /// Engine.IO handshakes refused: too many waiting for their Socket.IO connect.
    pub handshakes_refused: Counter,
    /// Connections closed because a message could not be parsed (not JSON, e.g. `NaN`).
    pub sockets_closed_unparsable: Counter,
    /// TLS handshakes that failed or did not finish in time (the TLS listener holds a clone).
    pub tls_handshakes_failed: Counter,
    /// Alerts firing now.
    pub alerts_firing: Gauge,
    /// Host-day rollups built and stored.
    pub host_days_built: Counter,
    /// Snapshots the alerts task could not take (its queue was full).
    pub alert_observations_dropped: Counter,
    /// Alert notifications delivered and given up.
    pub notifications: NotificationCounters,
    /// Cluster mode: events published to the other servers.
    pub cluster_sent: Counter,
    /// Cluster mode: events received from the other servers.
    pub cluster_received: Counter,
    /// Cluster mode: events not published (Redis unreachable, or too many waiting) or not taken
    /// in (this server too far behind).
    pub cluster_lost: Counter,
    /// Cluster mode: 1 while this server holds the lead.
    pub cluster_lead: Gauge,
    /// Socket.IO sockets open now, every role: the admission count (not exposed).
    sockets_open: AtomicU64,
    hosts_online: Gauge,
    hosts_offline: Gauge,
    store_bytes: Gauge,
    disk_free_bytes: Gauge,
    uptime_seconds: Gauge<f64, AtomicU64>,
    /// Everything always exposed.
    registry: Registry,
    /// The free disk space, exposed only when known.
    disk_registry: Registry,
}

/// Alert notifications delivered and given up (`idlewatch_alert_notifications_total`).
#[derive(Debug, Clone, Default)]
pub struct NotificationCounters {
    /// Notifications delivered.
    pub sent: Counter,
    /// Notifications given up (after retries, or refused for good) or dropped.
    pub failed: Counter,
}

/// Host counts at render time.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostCounts {
    /// Online hosts.
    pub online: usize,
    /// Known but offline hosts.
    pub offline: usize,
}

/// Gauges read at render time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Readings {
    /// Host counts.
    pub hosts: HostCounts,
    /// Size of the store file.
    pub store_bytes: u64,
    /// Free space of the data dir's file system (`u64::MAX`: unknown).
    pub disk_free_bytes: u64,
    /// Seconds since start.
    pub uptime_secs: f64,
}

fn gauge_value(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("idlewatch");
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let r = &mut registry;
        let snapshots_accepted = counter(r, "snapshots_accepted", "Snapshots accepted from agents");
        let snapshots_stored = counter(r, "snapshots_stored", "Snapshots committed to the store");
        let snapshots_duplicate = counter(
            r,
            "snapshots_duplicate",
            "Replayed snapshots already stored, acked without storing them again",
        );
        let snapshots_uncounted = counter(
            r,
            "snapshots_uncounted",
            "Snapshots stored after their time was folded into minute rows, so not counted",
        );
        let snapshot_bytes = counter(r, "snapshot_bytes", "Bytes of accepted snapshot JSON");
        let telemetry_broadcasts = counter(
            r,
            "telemetry_broadcasts",
            "Snapshots relayed to dashboards as telemetry",
        );
        let seat_events = counter(
            r,
            "seat_events",
            "Rounds of seat changes sent to the seat view and dashboards",
        );
        let snapshots_older = counter(
            r,
            "snapshots_older",
            "Replayed snapshots older than the host's latest, stored but not relayed",
        );
        let registrations = counter(r, "registrations", "agent_register events accepted");
        let connects_refused = counter(
            r,
            "connects_refused",
            "Socket.IO connections refused for a missing or invalid token",
        );
        let connects_limited = counter(
            r,
            "connects_limited",
            "Connections refused by limits.max_connections, connections_per_token or connect_rate",
        );
        let snapshots_rate_limited = counter(
            r,
            "snapshots_rate_limited",
            "Snapshots answered busy for exceeding limits.snapshot_rate (per host or connection)",
        );
        let snapshots_over_budget = counter(
            r,
            "snapshots_over_budget",
            "Snapshots answered busy because their host spent limits.host_bytes_per_day",
        );
        let connections_shed = counter(
            r,
            "connections_shed",
            "Connections closed at once: their address had limits.idle_connections_per_ip waiting",
        );
        let handshakes_refused = counter(
            r,
            "handshakes_refused",
            "Engine.IO handshakes answered 503: limits.pending_handshakes sessions were waiting",
        );
        let sockets_closed_unparsable = counter(
            r,
            "sockets_closed_unparsable",
            "Connections closed because a message was not valid JSON (e.g. NaN from Python)",
        );
        let http_refused = counter(r, "http_refused", "HTTP requests answered 401 or 403");
        let tls_handshakes_failed = counter(
            r,
            "tls_handshakes_failed",
            "TLS handshakes that failed (plain HTTP to the TLS port, untrusted certificate) or \
             timed out",
        );
        let events_dropped = counter(
            r,
            "events_dropped",
            "Events and acks not sent because a client's socket buffer was full",
        );
        let host_days_built = counter(
            r,
            "host_days_built",
            "Host-day rollups built (each PC's watched apps over a settled day)",
        );
        let alerts_firing = Gauge::default();
        r.register("alerts_firing", "Alerts firing now", alerts_firing.clone());
        let alert_observations_dropped = counter(
            r,
            "alert_observations_dropped",
            "Snapshots not evaluated by the alert rules because their queue was full",
        );
        let cluster_sent = counter(
            r,
            "cluster_events_sent",
            "Cluster mode: events (snapshots, alerts, agent lists) published to the other servers",
        );
        let cluster_received = counter(
            r,
            "cluster_events_received",
            "Cluster mode: events received from the other servers",
        );
        let cluster_lost = counter(
            r,
            "cluster_events_lost",
            "Cluster mode: events lost: not published (Redis unreachable, or too many waiting) or \
             not taken in (this server too far behind the others)",
        );
        let cluster_lead = Gauge::default();
        r.register(
            "cluster_lead",
            "Cluster mode: 1 while this server leads (sends alerts, uploads to Google Sheets)",
            cluster_lead.clone(),
        );
        let outcomes = Family::<OutcomeLabel, Counter>::default();
        // One statement each: a series' guard holds the family's lock until the statement ends.
        let sent = outcomes
            .get_or_create(&OutcomeLabel { outcome: "sent" })
            .clone();
        let failed = outcomes
            .get_or_create(&OutcomeLabel { outcome: "failed" })
            .clone();
        let notifications = NotificationCounters { sent, failed };
        r.register(
            "alert_notifications",
            "Alert notifications (webhook posts and e-mails), by outcome: sent, or failed \
             after retries",
            outcomes,
        );
        // Each labelled series is taken out of its family once: a clone shares the family's
        // value, so the ingest path never looks a label up.
        let rejected_family = Family::<CodeLabel, Counter>::default();
        let rejected = REJECT_CODES
            .iter()
            .map(|code| {
                rejected_family
                    .get_or_create(&CodeLabel {
                        code: code.to_string(),
                    })
                    .clone()
            })
            .collect();
        r.register(
            "snapshots_rejected",
            "Snapshots and registrations refused, by error code",
            rejected_family,
        );
        let sockets = Family::<KindLabel, Gauge>::default();
        let agents_connected = sockets.get_or_create(&KindLabel { kind: "agent" }).clone();
        let dashboards_connected = sockets
            .get_or_create(&KindLabel { kind: "dashboard" })
            .clone();
        let seat_viewers_connected = sockets
            .get_or_create(&KindLabel { kind: "seat_view" })
            .clone();
        r.register(
            "sockets",
            "Socket.IO sockets connected now, by kind",
            sockets,
        );
        let hosts = Family::<StateLabel, Gauge>::default();
        let hosts_online = hosts.get_or_create(&StateLabel { state: "online" }).clone();
        let hosts_offline = hosts
            .get_or_create(&StateLabel { state: "offline" })
            .clone();
        r.register("hosts", "Known hosts, by state", hosts);
        let store_bytes = Gauge::default();
        r.register("store_bytes", "Size of the store file", store_bytes.clone());
        let uptime_seconds = Gauge::<f64, AtomicU64>::default();
        r.register(
            "uptime_seconds",
            "Seconds since the server started",
            uptime_seconds.clone(),
        );
        r.register(
            "build",
            "Server version",
            Info::new(VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        let mut disk_registry = Registry::with_prefix("idlewatch");
        let disk_free_bytes = Gauge::default();
        disk_registry.register(
            "disk_free_bytes",
            "Free space of the data dir's file system",
            disk_free_bytes.clone(),
        );
        Self {
            snapshots_accepted,
            snapshot_bytes,
            rejected,
            snapshots_stored,
            snapshots_duplicate,
            snapshots_uncounted,
            telemetry_broadcasts,
            seat_events,
            seat_viewers_connected,
            snapshots_older,
            registrations,
            connects_refused,
            dashboards_connected,
            agents_connected,
            events_dropped,
            http_refused,
            connects_limited,
            snapshots_rate_limited,
            snapshots_over_budget,
            connections_shed,
            handshakes_refused,
            sockets_closed_unparsable,
            tls_handshakes_failed,
            alerts_firing,
            host_days_built,
            alert_observations_dropped,
            notifications,
            cluster_sent,
            cluster_received,
            cluster_lost,
            cluster_lead,
            sockets_open: AtomicU64::new(0),
            hosts_online,
            hosts_offline,
            store_bytes,
            disk_free_bytes,
            uptime_seconds,
            registry,
            disk_registry,
        }
    }
}

impl Metrics {
    /// Counts one more open socket if fewer than `slots` are open (0: no limit), in one atomic
    /// step: two connections racing for the last slot cannot both have it.
    pub fn try_open_socket(&self, slots: u64) -> bool {
        self.sockets_open
            .fetch_update(Relaxed, Relaxed, |open| {
                (slots == 0 || open < slots).then_some(open + 1)
            })
            .is_ok()
    }

    /// One socket fewer open.
    pub fn socket_closed(&self) {
        self.sockets_open.fetch_sub(1, Relaxed);
    }

    /// Counts a refused snapshot or register under its code.
    pub fn reject(&self, code: ErrorCode) {
        if let Some(i) = REJECT_CODES.iter().position(|c| *c == code) {
            self.rejected[i].inc();
        }
    }

    /// Refused snapshots with `code`.
    #[must_use]
    pub fn rejected(&self, code: ErrorCode) -> u64 {
        REJECT_CODES
            .iter()
            .position(|c| *c == code)
            .map_or(0, |i| self.rejected[i].get())
    }

    /// Renders the Prometheus text exposition ([`CONTENT_TYPE`]) with `readings` as the gauges
    /// of this moment.
    #[must_use]
    pub fn render(&self, readings: Readings) -> String {
        let Readings {
            hosts,
            store_bytes,
            disk_free_bytes,
            uptime_secs,
        } = readings;
        self.hosts_online.set(gauge_value(hosts.online));
        self.hosts_offline.set(gauge_value(hosts.offline));
        self.store_bytes.set(gauge_value(store_bytes));
        self.uptime_seconds.set(uptime_secs);
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        if disk_free_bytes != u64::MAX {
            self.disk_free_bytes.set(gauge_value(disk_free_bytes));
            let _ = prometheus_text::encode(&mut out, &self.disk_registry);
        }
        out
    }
}

#[cfg(test)]
mod tests;
