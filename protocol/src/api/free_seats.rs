//! `GET /api/v1/seats` and the Socket.IO `seats` event: which lab PCs a student can sit at now.
//!
//! These answers may be public (`[seats] public = true`), so they carry only what a student
//! needs — a PC's name, its lab, whether it is free, and which watched apps are installed on it —
//! and never users, processes, window titles or foreground apps.

use serde::{Deserialize, Serialize};

/// Whether a PC can be sat at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatState {
    /// Online, with no user session or one idle past the threshold.
    Free,
    /// Online, with someone at it (or nothing known to say otherwise).
    InUse,
    /// Not reporting.
    Offline,
}

/// One PC as the seat view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// The PC's name.
    pub host: String,
    /// Its group (lab, room); `None` when it has none.
    #[serde(default)]
    pub group: Option<String>,
    /// Whether it is free now.
    pub state: SeatState,
    /// The watched apps seen running on it within the installed window, sorted.
    #[serde(default)]
    pub installed: Vec<String>,
}

/// How a lab's room is drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeatMap {
    /// Rows of desks, front first; `None` is an aisle.
    Rows {
        /// Each row's places, left to right.
        rows: Vec<Vec<Option<String>>>,
    },
    /// A floor plan whose elements are identified by host name.
    Svg {
        /// Where the plan is served (same origin).
        url: String,
    },
}

/// One lab in the seat view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatGroup {
    /// The lab's name; `None` for the PCs in no group.
    pub group: Option<String>,
    /// PCs free now.
    pub free: usize,
    /// PCs in use now.
    pub in_use: usize,
    /// PCs not reporting.
    pub offline: usize,
    /// Its PCs, sorted by name.
    pub seats: Vec<Seat>,
    /// Its room, when one is configured.
    #[serde(default)]
    pub map: Option<SeatMap>,
}

/// The answer of `GET /api/v1/seats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatsView {
    /// When it was computed (RFC 3339).
    pub generated_at: String,
    /// A PC whose user has been idle this long is free.
    pub idle_after_seconds: f64,
    /// An app counts as installed on a PC seen running it within this many days.
    pub installed_within_days: u32,
    /// Every watched app installed somewhere, sorted.
    pub apps: Vec<String>,
    /// PCs free now, in every group shown.
    pub free: usize,
    /// PCs in use now.
    pub in_use: usize,
    /// PCs not reporting.
    pub offline: usize,
    /// The labs, by name (the PCs in no group last).
    pub groups: Vec<SeatGroup>,
}

/// The Socket.IO `seats` event: the PCs whose seat changed since the last event (on connect,
/// every PC the socket may see), and those no longer shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatsEvent {
    /// Whether this lists every PC (the first event after connecting) rather than changes.
    #[serde(default)]
    pub full: bool,
    /// The PCs that changed, or all of them.
    pub seats: Vec<Seat>,
    /// PCs no longer shown (deleted, dropped from the directory, moved to a lab the view does
    /// not show), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}
