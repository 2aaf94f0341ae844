//! `GET /api/v1/hosts/{host}/history` and `DELETE /api/v1/hosts/{host}/snapshots`: a host's
//! stored snapshots, read page by page or deleted.

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
