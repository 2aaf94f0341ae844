//! `GET /api/v1/licences`, `GET /api/v1/licences/{app}/heatmap` and
//! `GET /api/v1/licences/{app}/simulate`: the seats of each watched app over a time range, from
//! what the PCs reported — peaks, licence-hours, the shape of a week, and what releasing idle
//! seats would have needed.

use serde::{Deserialize, Serialize};

/// The most seats held at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeakView {
    /// Seats.
    pub seats: u32,
    /// When first reached (RFC 3339); `None` when no seat was held.
    #[serde(default)]
    pub at: Option<String>,
}

/// One watched app's seats over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSeats {
    /// The app, as agents name it.
    pub app: String,
    /// PCs that ran it in the range.
    pub pcs: u32,
    /// The most PCs holding it open at once (interactive, computing or idle).
    pub peak_running: PeakView,
    /// The most PCs using it at once (interactive or computing).
    pub peak_in_use: PeakView,
    /// Seat-hours interactive.
    pub interactive_hours: f64,
    /// Seat-hours computing.
    pub computing_hours: f64,
    /// Seat-hours open and unused.
    pub idle_hours: f64,
    /// Seats the licence servers of this app issue, from their latest polls; `None` without
    /// a `[[licence_servers]]` entry for it.
    #[serde(default)]
    pub issued: Option<u32>,
}

/// The answer of `GET /api/v1/licences`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatsAnswer {
    /// The range's start (RFC 3339).
    pub from: String,
    /// Its end.
    pub to: String,
    /// The zone of the hours of the week.
    pub time_zone: String,
    /// The group asked for, if any.
    #[serde(default)]
    pub group: Option<String>,
    /// Every watched app seen in the range, by name.
    pub apps: Vec<AppSeats>,
}

/// One hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatmapCell {
    /// The hour (0–23).
    pub hour: u8,
    /// The mean seats in use over that hour in the range's weeks; `None` when the range does not
    /// cover it.
    #[serde(default)]
    pub mean_in_use: Option<f64>,
    /// The most seats in use at once in it.
    pub peak_in_use: u32,
}

/// One day of the week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatmapDay {
    /// `monday` … `sunday`.
    pub day: String,
    /// Its 24 hours.
    pub hours: Vec<HeatmapCell>,
}

/// The answer of `GET /api/v1/licences/{app}/heatmap`: the week's shape, Monday first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    /// The app.
    pub app: String,
    /// The range's start (RFC 3339).
    pub from: String,
    /// Its end.
    pub to: String,
    /// The zone of the hours.
    pub time_zone: String,
    /// The group asked for, if any.
    #[serde(default)]
    pub group: Option<String>,
    /// Seven days.
    pub days: Vec<HeatmapDay>,
}

/// One week of a reclaim simulation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimWeek {
    /// Its first day (Monday, or the range's first day), in the report's zone.
    pub week: String,
    /// The most seats held at once, as it was.
    pub held: PeakView,
    /// The most seats needed at once had idle seats been released.
    pub needed: PeakView,
}

/// The answer of `GET /api/v1/licences/{app}/simulate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclaimAnswer {
    /// The app.
    pub app: String,
    /// Seats idle longer than this were released, seconds.
    pub reclaim_after_seconds: u64,
    /// The range's start (RFC 3339).
    pub from: String,
    /// Its end.
    pub to: String,
    /// The zone of the weeks.
    pub time_zone: String,
    /// The group asked for, if any.
    #[serde(default)]
    pub group: Option<String>,
    /// Over the whole range: the most held at once.
    pub held: PeakView,
    /// Over the whole range: the most needed at once.
    pub needed: PeakView,
    /// Week by week.
    pub weeks: Vec<ReclaimWeek>,
}
