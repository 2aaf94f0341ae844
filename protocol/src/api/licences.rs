//! `GET /api/v1/licences/servers`: each licence server's latest answer, its seats set beside
//! what the agents on the PCs report.

use serde::{Deserialize, Serialize};

/// The answer of `GET /api/v1/licences/servers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceServersAnswer {
    /// Every configured licence server, in configuration order.
    pub servers: Vec<LicenceServerView>,
}

/// One licence server's latest poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceServerView {
    /// Its configured name.
    pub name: String,
    /// The watched app whose seats these are.
    pub app: String,
    /// When it was last polled (RFC 3339); `None` before the first poll ends.
    #[serde(default)]
    pub polled_at: Option<String>,
    /// How long that poll took, ms.
    #[serde(default)]
    pub took_ms: Option<u64>,
    /// Why the last poll failed, if it did (the previous answer is not kept).
    #[serde(default)]
    pub error: Option<String>,
    /// What the licence server said about itself (a vendor daemon down, …).
    #[serde(default)]
    pub problems: Vec<String>,
    /// Seats issued, summed over the counted features.
    pub issued: u32,
    /// Seats in use as the licence server counts them.
    pub in_use: u32,
    /// Of those, the checkouts whose PC shows the app in use.
    pub seen_in_use: u32,
    /// The checkouts held for nothing (see [`Seen`]).
    pub orphaned: u32,
    /// Each counted feature.
    pub pools: Vec<PoolView>,
}

/// One feature's seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolView {
    /// The feature's name.
    pub feature: String,
    /// Seats issued, when counted.
    #[serde(default)]
    pub issued: Option<u32>,
    /// Seats in use, when counted.
    #[serde(default)]
    pub in_use: Option<u32>,
    /// An uncounted (node-locked) feature.
    #[serde(default)]
    pub uncounted: bool,
    /// The error the licence server reported for it.
    #[serde(default)]
    pub error: Option<String>,
    /// Requests waiting for a seat.
    pub queued: u32,
    /// Seats reserved for a user, host or group.
    pub reserved: u32,
    /// Who holds its seats.
    pub checkouts: Vec<CheckoutView>,
}

/// One checkout, with what the agent on its PC reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    /// The user the licence server names.
    pub user: String,
    /// The host the checkout came from.
    pub host: String,
    /// The feature version checked out.
    #[serde(default)]
    pub version: Option<String>,
    /// When it started (RFC 3339), placed in the year before the poll.
    #[serde(default)]
    pub since: Option<String>,
    /// Seats it holds.
    pub licences: u32,
    /// The app's state on that PC.
    pub seen: Seen,
    /// Whether the seat is held for nothing.
    pub orphaned: bool,
    /// Whether the user logged on at the PC is the checkout's user; `None` when unknown.
    #[serde(default)]
    pub same_user: Option<bool>,
}

/// How a checkout looks from the PC it was taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// The app is in use there (interactive or computing).
    InUse,
    /// The app is open there but nobody uses it.
    Idle,
    /// The app is not running there.
    NotRunning,
    /// An agent reports the host but not this app.
    Unknown,
    /// No agent reports that host.
    NoAgent,
}

impl Seen {
    /// A seat held for nothing: the app idle or not running on its PC, or the PC unseen by
    /// any agent.
    #[must_use]
    pub fn is_orphaned(self) -> bool {
        matches!(self, Self::Idle | Self::NotRunning | Self::NoAgent)
    }
}

/// The answer of `GET /api/v1/licences/servers/{name}/history`: a licence server's seats at
/// each successful poll of the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolHistory {
    /// The licence server's configured name.
    pub server: String,
    /// The watched app whose seats these are.
    pub app: String,
    /// The range's start (RFC 3339).
    pub from: String,
    /// Its end.
    pub to: String,
    /// The most seats in use at a poll, and when.
    pub peak_in_use: super::PeakView,
    /// Each poll, oldest first.
    pub points: Vec<PoolPollPoint>,
}

/// One poll's seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolPollPoint {
    /// When the poll ended (RFC 3339).
    pub at: String,
    /// Seats issued (counted features).
    pub issued: u32,
    /// Seats in use.
    pub in_use: u32,
}
