//! `GET /api/v1/hosts/{host}/history` and `DELETE /api/v1/hosts/{host}/snapshots`: a host's
//! stored snapshots, read page by page or deleted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One page of `GET /api/v1/hosts/{host}/history`. The server writes it by hand so each
/// snapshot keeps the exact text its agent sent (plus `received_at` as its last key); readers
/// get each snapshot as JSON, since seed agents and this project's agents send different keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The host's name.
    pub host: String,
    /// Its snapshots, oldest first by capture time.
    pub snapshots: Vec<Value>,
    /// Where the next page starts (`cursor=`), when there is one.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// Where the host's whole snapshots start (RFC 3339), when older ones were folded into
    /// minute rows (`[retention] snapshots`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_from: Option<String>,
    /// The part of the range before `detail_from`, as minute rows (oldest first, before the
    /// snapshots; minutes without a row were offline) — and, for hours whose minute rows
    /// were deleted (`[retention] minutes`), hour rows from the day rows (`span_ms` 3,600,000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub minutes: Vec<MinuteRow>,
}

/// One host-minute of an aged range (or one host-hour, once its minutes were summed into a
/// day row and deleted): what its snapshots said, folded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinuteRow {
    /// The minute's (hour's) start (RFC 3339).
    pub at: String,
    /// Its length: 60,000 for a minute, 3,600,000 for an hour of a day row.
    #[serde(default = "minute_ms")]
    pub span_ms: u32,
    /// Milliseconds covered by a snapshot whose user was active.
    pub active_ms: u32,
    /// Milliseconds covered by a snapshot whose user was not.
    pub idle_ms: u32,
    /// Milliseconds no snapshot covered.
    pub offline_ms: u32,
    /// Per watched app, milliseconds in each state it was in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub apps: BTreeMap<String, BTreeMap<String, u32>>,
    /// Machine CPU, percent: mean over the covered time and peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<MeanMax>,
    /// Machine memory, percent: mean and peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_percent: Option<MeanMax>,
    /// The foreground process with the most covered time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreground_process: Option<String>,
    /// Users logged on during the minute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Sessions begun in the minute.
    #[serde(default)]
    pub logons: u32,
}

fn minute_ms() -> u32 {
    60_000
}

/// A percentage's mean and peak over a minute (to a tenth).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanMax {
    /// Time-weighted mean.
    pub mean: f64,
    /// Highest.
    pub max: f64,
}

/// The answer of `DELETE /api/v1/hosts/{host}/snapshots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// The host's name.
    pub host: String,
    /// Snapshots deleted.
    pub deleted: u64,
    /// Start of the deleted range (RFC 3339), when one was given.
    #[serde(default)]
    pub from: Option<String>,
    /// End of the deleted range (RFC 3339), when one was given.
    #[serde(default)]
    pub to: Option<String>,
}
