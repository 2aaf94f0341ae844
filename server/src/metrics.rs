//! Process-wide counters, rendered in the Prometheus text format by `GET /metrics`.
//!
//! Plain atomics: incremented on the ingest path without locks.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use idlewatch_protocol::ErrorCode;

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

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Snapshots accepted.
    pub snapshots_accepted: AtomicU64,
    /// Bytes of accepted snapshot JSON.
    pub snapshot_bytes: AtomicU64,
    rejected: [AtomicU64; REJECT_CODES.len()],
    /// Snapshots committed to the store.
    pub snapshots_stored: AtomicU64,
    /// Replays of snapshots already stored (acked, not stored again).
    pub snapshots_duplicate: AtomicU64,
    /// Snapshots relayed as `telemetry` (once per broadcast, not per dashboard).
    pub telemetry_broadcasts: AtomicU64,
    /// Replayed snapshots older than the host's latest (not relayed).
    pub snapshots_older: AtomicU64,
    /// `agent_register` events accepted.
    pub registrations: AtomicU64,
    /// Socket.IO connections refused for lack of a valid token.
    pub connects_refused: AtomicU64,
    /// Socket.IO sockets connected as dashboards right now.
    pub dashboards_connected: AtomicU64,
    /// Socket.IO sockets registered as agents right now.
    pub agents_connected: AtomicU64,
    /// Events and acks not sent because a socket's buffer was full.
    pub events_dropped: AtomicU64,
    /// HTTP requests refused with 401 or 403.
    pub http_refused: AtomicU64,
    /// Connections refused by an abuse limit (connection count, per-token count or per-IP rate).
    pub connects_limited: AtomicU64,
    /// Snapshots answered `busy` for exceeding their connection's or host's rate.
    pub snapshots_rate_limited: AtomicU64,
    /// Snapshots answered `busy` because their host spent its daily byte budget.
    pub snapshots_over_budget: AtomicU64,
    /// Connections closed at once because their address had too many without a request.
    pub connections_shed: AtomicU64,
    /// Engine.IO handshakes refused: too many waiting for their Socket.IO connect.
    pub handshakes_refused: AtomicU64,
    /// Connections closed because a message could not be parsed (not JSON, e.g. `NaN`).
    pub sockets_closed_unparsable: AtomicU64,
    /// Socket.IO sockets open now (every role).
    pub sockets_open: AtomicU64,
    /// TLS handshakes that failed or did not finish in time.
    pub tls_handshakes_failed: Arc<AtomicU64>,
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
            self.rejected[i].fetch_add(1, Relaxed);
        }
    }

    /// Refused snapshots with `code`.
    #[must_use]
    pub fn rejected(&self, code: ErrorCode) -> u64 {
        REJECT_CODES
            .iter()
            .position(|c| *c == code)
            .map_or(0, |i| self.rejected[i].load(Relaxed))
    }

    /// Renders the Prometheus text exposition.
    #[must_use]
    pub fn render(&self, readings: Readings) -> String {
        let Readings {
            hosts,
            store_bytes,
            disk_free_bytes,
            uptime_secs,
        } = readings;
        let mut out = String::with_capacity(2048);
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            "idlewatch_snapshots_accepted_total",
            "Snapshots accepted from agents.",
            self.snapshots_accepted.load(Relaxed),
        );
        counter(
            "idlewatch_snapshots_stored_total",
            "Snapshots committed to the store.",
            self.snapshots_stored.load(Relaxed),
        );
        counter(
            "idlewatch_snapshots_duplicate_total",
            "Replayed snapshots already stored, acked without storing them again.",
            self.snapshots_duplicate.load(Relaxed),
        );
        counter(
            "idlewatch_snapshot_bytes_total",
            "Bytes of accepted snapshot JSON.",
            self.snapshot_bytes.load(Relaxed),
        );
        counter(
            "idlewatch_telemetry_broadcasts_total",
            "Snapshots relayed to dashboards as telemetry.",
            self.telemetry_broadcasts.load(Relaxed),
        );
        counter(
            "idlewatch_snapshots_older_total",
            "Replayed snapshots older than the host's latest, stored but not relayed.",
            self.snapshots_older.load(Relaxed),
        );
        counter(
            "idlewatch_registrations_total",
            "agent_register events accepted.",
            self.registrations.load(Relaxed),
        );
        counter(
            "idlewatch_connects_refused_total",
            "Socket.IO connections refused for a missing or invalid token.",
            self.connects_refused.load(Relaxed),
        );
        counter(
            "idlewatch_connects_limited_total",
            "Connections refused by limits.max_connections, connections_per_token or connect_rate.",
            self.connects_limited.load(Relaxed),
        );
        counter(
            "idlewatch_snapshots_rate_limited_total",
            "Snapshots answered busy for exceeding limits.snapshot_rate (per host or connection).",
            self.snapshots_rate_limited.load(Relaxed),
        );
        counter(
            "idlewatch_snapshots_over_budget_total",
            "Snapshots answered busy because their host spent limits.host_bytes_per_day.",
            self.snapshots_over_budget.load(Relaxed),
        );
        counter(
            "idlewatch_connections_shed_total",
            "Connections closed at once: their address had limits.idle_connections_per_ip waiting.",
            self.connections_shed.load(Relaxed),
        );
        counter(
            "idlewatch_handshakes_refused_total",
            "Engine.IO handshakes answered 503: limits.pending_handshakes sessions were waiting.",
            self.handshakes_refused.load(Relaxed),
        );
        counter(
            "idlewatch_sockets_closed_unparsable_total",
            "Connections closed because a message was not valid JSON (e.g. NaN from Python).",
            self.sockets_closed_unparsable.load(Relaxed),
        );
        counter(
            "idlewatch_http_refused_total",
            "HTTP requests answered 401 or 403.",
            self.http_refused.load(Relaxed),
        );
        counter(
            "idlewatch_tls_handshakes_failed_total",
            "TLS handshakes that failed (plain HTTP to the TLS port, untrusted certificate) or timed out.",
            self.tls_handshakes_failed.load(Relaxed),
        );
        counter(
            "idlewatch_events_dropped_total",
            "Events and acks not sent because a client's socket buffer was full.",
            self.events_dropped.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP idlewatch_snapshots_rejected_total Snapshots and registrations refused, by error code.\n\
             # TYPE idlewatch_snapshots_rejected_total counter"
        );
        for (code, n) in REJECT_CODES.iter().zip(&self.rejected) {
            let _ = writeln!(
                out,
                "idlewatch_snapshots_rejected_total{{code=\"{code}\"}} {}",
                n.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP idlewatch_sockets Socket.IO sockets connected now, by kind.\n\
             # TYPE idlewatch_sockets gauge\n\
             idlewatch_sockets{{kind=\"agent\"}} {}\n\
             idlewatch_sockets{{kind=\"dashboard\"}} {}",
            self.agents_connected.load(Relaxed),
            self.dashboards_connected.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP idlewatch_hosts Known hosts, by state.\n# TYPE idlewatch_hosts gauge\n\
             idlewatch_hosts{{state=\"online\"}} {}\nidlewatch_hosts{{state=\"offline\"}} {}",
            hosts.online, hosts.offline
        );
        let _ = writeln!(
            out,
            "# HELP idlewatch_store_bytes Size of the store file.\n# TYPE idlewatch_store_bytes gauge\n\
             idlewatch_store_bytes {store_bytes}"
        );
        if disk_free_bytes != u64::MAX {
            let _ = writeln!(
                out,
                "# HELP idlewatch_disk_free_bytes Free space of the data dir's file system.\n\
                 # TYPE idlewatch_disk_free_bytes gauge\nidlewatch_disk_free_bytes {disk_free_bytes}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP idlewatch_uptime_seconds Seconds since the server started.\n\
             # TYPE idlewatch_uptime_seconds gauge\nidlewatch_uptime_seconds {uptime_secs:.3}"
        );
        let _ = writeln!(
            out,
            "# HELP idlewatch_build_info Server version.\n# TYPE idlewatch_build_info gauge\n\
             idlewatch_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_counters_and_rejections_by_code() {
        let m = Metrics::default();
        m.snapshots_accepted.fetch_add(3, Relaxed);
        m.reject(ErrorCode::InvalidField);
        m.reject(ErrorCode::InvalidField);
        let text = m.render(Readings {
            hosts: HostCounts {
                online: 2,
                offline: 1,
            },
            store_bytes: 4096,
            disk_free_bytes: 1 << 30,
            uptime_secs: 1.5,
        });
        assert!(text.contains("idlewatch_disk_free_bytes 1073741824\n"));
        assert!(text.contains("idlewatch_snapshots_accepted_total 3\n"));
        assert!(text.contains("idlewatch_snapshots_rejected_total{code=\"invalid_field\"} 2\n"));
        assert!(text.contains("idlewatch_hosts{state=\"online\"} 2\n"));
        assert_eq!(m.rejected(ErrorCode::InvalidField), 2);
        assert!(text.contains("idlewatch_store_bytes 4096\n"));
    }

    #[test]
    fn racing_connections_never_take_more_slots_than_there_are() {
        let m = Arc::new(Metrics::default());
        let admitted: u64 = (0..8)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || (0..1000).filter(|_| m.try_open_socket(100)).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap() as u64)
            .sum();
        assert_eq!(admitted, 100);
        assert_eq!(m.sockets_open.load(Relaxed), 100);
        m.socket_closed();
        assert!(m.try_open_socket(100));
        assert!(!m.try_open_socket(100));
        assert!(m.try_open_socket(0), "0 is no limit");
    }
}
