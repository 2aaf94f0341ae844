//! `GET /api/v1/status`: the server's version, uptime, hosts, store and Sheets uploader.

use serde::{Deserialize, Serialize};

use super::sheets::SheetsStatus;

/// The answer of `GET /api/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// The server's version.
    pub version: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Seconds since it started.
    pub uptime_seconds: u64,
    /// Hosts online and offline now.
    pub hosts: HostCounts,
    /// The store file.
    pub store: StoreInfo,
    /// Days anything is kept (0: day rows until deleted by hand).
    pub retention_days: u32,
    /// Seconds snapshots are kept whole before they are folded into minute rows (`null`: until
    /// `retention_days`; absent from servers before the tiers).
    #[serde(default)]
    pub retention_snapshots_seconds: Option<u64>,
    /// Seconds minute rows are kept before only day rows remain (`null`: until
    /// `retention_days`).
    #[serde(default)]
    pub retention_minutes_seconds: Option<u64>,
    /// The Google Sheets uploader.
    pub sheets: SheetsStatus,
    /// The time zone whose days reports use.
    pub time_zone: String,
    /// This server's part in a cluster (`null`: it runs on its own; absent from servers
    /// before cluster mode).
    #[serde(default)]
    pub cluster: Option<ClusterStatus>,
}

/// A server's part in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Its id in the cluster (drawn at each start).
    pub id: String,
    /// Servers of the cluster alive now, this one included.
    pub servers: usize,
    /// Whether it holds the lead (tells alerts, uploads to Google Sheets).
    pub leads: bool,
}

/// Hosts online and offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCounts {
    /// Online now.
    pub online: usize,
    /// Known but offline.
    pub offline: usize,
}

/// The store file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// Its path.
    pub path: String,
    /// Its size on disk.
    pub file_bytes: u64,
    /// Snapshots stored (`null` when it could not be counted just now).
    pub snapshots: Option<u64>,
    /// In a cluster with `postgres_url`: the PostgreSQL store that holds the snapshots (and
    /// that `snapshots` counts), its address without the password; `path` and `file_bytes`
    /// are then this server's own file (tokens, alerts, licence polls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<String>,
    /// With `shared`: what its tables take on disk (`null` when it could not be read just now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_bytes: Option<SharedBytes>,
}

/// What the shared PostgreSQL store's tables take on disk (heap, TOAST and indexes), bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedBytes {
    /// Every day partition of whole snapshots.
    pub snapshots: u64,
    /// The minute rows.
    pub minutes: u64,
    /// The day rows.
    pub days: u64,
}

/// `GET /api/v1/store/stats` and `idlewatch-admin db stats`: what a store holds, per tier and
/// per host — a stopped server's file (`db stats --data-dir`), or the database a cluster on
/// PostgreSQL shares (`db stats --shared`, through any of its servers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// The file, or the database's address (without password).
    pub path: String,
    /// The file's size, or what the database's snapshot, minute and day tables take on disk.
    pub file_bytes: u64,
    /// The schema version.
    pub schema_version: u64,
    /// Snapshots stored whole.
    pub snapshots: u64,
    /// Bytes of their records (compressed snapshots).
    pub record_bytes: u64,
    /// Host-hours of minute rows.
    pub minute_hours: u64,
    /// Bytes of those rows.
    pub minute_bytes: u64,
    /// Host-days of day rows.
    pub day_rows: u64,
    /// Bytes of those rows.
    pub day_bytes: u64,
    /// Host-day rollups (a server's own file only).
    pub host_days: u64,
    /// Bytes of those rollups.
    pub host_day_bytes: u64,
    /// Host-hours of summary hours: settled hours' record summaries gathered into one row
    /// each (a server's own file only; a cache of the records).
    #[serde(default)]
    pub summary_hours: u64,
    /// Bytes of those rows.
    #[serde(default)]
    pub summary_hour_bytes: u64,
    /// Per host, by name.
    pub hosts: Vec<HostStoreStats>,
}

/// One host in [`StoreStats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStoreStats {
    /// The host.
    pub host: String,
    /// Its snapshots stored whole (from `detail_from`).
    pub snapshots: u64,
    /// The capture time of the first of them (RFC 3339), empty when none.
    pub first: String,
    /// Of the last.
    pub last: String,
    /// Until when it is kept as minute rows (RFC 3339), `null` when nothing has aged.
    pub detail_from: Option<String>,
    /// Its hours of minute rows.
    pub minute_hours: u64,
}
