//! `[limits]`: sizes, timeouts and the abuse limits that keep one hostile agent, viewer or
//! anonymous client from taking the server down, with their checks.

use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest Socket.IO message accepted, in bytes, on both transports.
    pub max_message_bytes: usize,
    /// Packets queued per socket before further events to it are dropped (and counted in
    /// `idlewatch_events_dropped_total`).
    pub socket_buffer: usize,
    /// Bytes of telemetry a dashboard may fall behind by: past it, the dashboard misses
    /// telemetry (counted as dropped) until it has read what is queued.
    pub dashboard_buffer: ByteSize,
    /// Snapshots waiting for the store before further ones are answered `busy`.
    pub store_queue: usize,
    /// Longest an HTTP request may take before it is answered 408.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Longest a new connection may take to send its request headers, and an Engine.IO
    /// session to connect to Socket.IO: slow or silent clients are closed after it.
    #[serde(with = "duration")]
    pub handshake_timeout: Duration,
    /// The store's page cache, MiB: the largest part of the memory a big export or history
    /// read adds.
    pub store_cache_mib: usize,
    /// Socket.IO connections open at once before new ones are refused (0: no limit).
    pub max_connections: usize,
    /// Of `max_connections`, how many only viewer and admin tokens may take: an agent flood
    /// never locks out the dashboards of the people who must react. Unset: 5% of
    /// `max_connections`, at most 64.
    pub reserved_connections: Option<usize>,
    /// Socket.IO connections one per-host agent token may hold open at once (and agent sockets
    /// one host may have with a shared agent token); 0: no limit.
    pub connections_per_token: usize,
    /// Connections from one IP address that have not sent a complete request yet (slow or
    /// silent clients) before further ones are closed at once; 0: no limit.
    pub idle_connections_per_ip: usize,
    /// Engine.IO sessions opened but not yet connected to Socket.IO (no token checked yet)
    /// before further handshakes are answered 503; 0: no limit.
    pub pending_handshakes: usize,
    /// Snapshots per second one host may send on average over all its connections (0: no
    /// limit); the excess is answered `busy`, not disconnected.
    pub snapshot_rate: f64,
    /// Snapshots one host may send at once above that rate (a replay after an outage).
    pub snapshot_burst: u32,
    /// Bytes of snapshot JSON one host may send per UTC day (0: no limit); the excess is
    /// answered `busy` until the next day.
    pub host_bytes_per_day: ByteSize,
    /// Free space the data dir's file system must keep: below it snapshots are answered
    /// `storage` (agents keep them) before the disk is full (0: no floor).
    pub min_free_disk: ByteSize,
    /// How far ahead of the server's clock a `captured_at` may be; later ones are refused.
    #[serde(with = "duration")]
    pub max_clock_skew: Duration,
    /// New Socket.IO connections per second from one IP address (0: no limit).
    pub connect_rate: f64,
    /// Connections one IP address may open at once above that rate (a lab behind one NAT
    /// reconnecting after a restart).
    pub connect_burst: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: idlewatch_protocol::limits::MAX_MESSAGE_BYTES,
            socket_buffer: 1024,
            dashboard_buffer: ByteSize::mib(32),
            store_queue: 4096,
            request_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            store_cache_mib: 16,
            max_connections: 20_000,
            reserved_connections: None,
            connections_per_token: 4,
            pending_handshakes: 4096,
            idle_connections_per_ip: 1024,
            snapshot_rate: 2.0,
            snapshot_burst: 20,
            host_bytes_per_day: ByteSize::gib(1),
            min_free_disk: ByteSize::gib(1),
            max_clock_skew: Duration::from_secs(600),
            connect_rate: 100.0,
            connect_burst: 2_000,
        }
    }
}

impl LimitsConfig {
    /// Snapshots one host may send per second and at once, `None` when unlimited.
    #[must_use]
    pub fn host_rate(&self) -> Option<(f64, u32)> {
        (self.snapshot_rate > 0.0).then_some((self.snapshot_rate, self.snapshot_burst))
    }

    /// How far ahead of now a capture time may be, in ms.
    #[must_use]
    pub fn max_clock_skew_ms(&self) -> i64 {
        i64::try_from(self.max_clock_skew.as_millis()).unwrap_or(i64::MAX)
    }

    /// Connections only viewers and admins may take.
    #[must_use]
    pub fn reserved(&self) -> usize {
        self.reserved_connections
            .unwrap_or_else(|| (self.max_connections / 20).min(64))
    }

    /// Connections agents may take: `max_connections` less the reserved ones.
    #[must_use]
    pub fn agent_connections(&self) -> usize {
        self.max_connections.saturating_sub(self.reserved())
    }

    pub(super) fn check(&self) -> Result<(), Error> {
        if self.max_message_bytes < 1024 {
            return Err(Error::Invalid(format!(
                "limits.max_message_bytes = {} is too small; use at least 1024",
                self.max_message_bytes
            )));
        }
        for (name, v) in [
            ("snapshot_rate", self.snapshot_rate),
            ("connect_rate", self.connect_rate),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::Invalid(format!(
                    "limits.{name} = {v} must be a number of events per second, 0 for no limit"
                )));
            }
        }
        for (name, v, what) in [
            ("store_cache_mib", self.store_cache_mib, "MiB"),
            ("store_queue", self.store_queue, "snapshot"),
            ("socket_buffer", self.socket_buffer, "packet"),
        ] {
            if v == 0 {
                return Err(Error::Invalid(format!(
                    "limits.{name} must be at least 1 {what}"
                )));
            }
        }
        if let Some(reserved) = self.reserved_connections
            && self.max_connections > 0
            && reserved >= self.max_connections
        {
            return Err(Error::Invalid(format!(
                "limits.reserved_connections = {reserved} leaves agents no connection of \
                 max_connections = {}; reserve fewer, or raise max_connections",
                self.max_connections
            )));
        }
        if self.dashboard_buffer.as_u64() < self.max_message_bytes as u64 {
            return Err(Error::Invalid(format!(
                "limits.dashboard_buffer = {} is smaller than one message \
                 (max_message_bytes = {}); use at least that",
                self.dashboard_buffer.display().iec(),
                self.max_message_bytes
            )));
        }
        let host_day = self.host_bytes_per_day.as_u64();
        if host_day > 0 && host_day < self.max_message_bytes as u64 {
            return Err(Error::Invalid(format!(
                "limits.host_bytes_per_day = {} is smaller than one message \
                 (max_message_bytes = {}); use at least that, or 0 for no limit",
                self.host_bytes_per_day.display().iec(),
                self.max_message_bytes
            )));
        }
        for (name, d) in [
            ("handshake_timeout", self.handshake_timeout),
            ("request_timeout", self.request_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::Invalid(format!(
                    "limits.{name} must be longer than 0 s"
                )));
            }
        }
        Ok(())
    }
}
