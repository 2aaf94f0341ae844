//! `GET /api/v1/usage`: utilization per host per local day, and totals per group and day.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The answer of `GET /api/v1/usage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageAnswer {
    /// The time zone whose days these are.
    pub time_zone: String,
    /// The start of the range counted (RFC 3339).
    pub from: String,
    /// The end of the range counted (RFC 3339).
    pub to: String,
    /// Each host's days.
    pub hosts: Vec<HostUsage>,
    /// Totals per group and day.
    pub groups: Vec<GroupDay>,
}

/// One host's days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostUsage {
    /// The host.
    pub host: String,
    /// Its group.
    pub group: Option<String>,
    /// Its days, in order.
    pub days: Vec<UsageDay>,
}

/// One group's totals of one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDay {
    /// The figures (`distinct_users`: distinct in the whole group that day).
    #[serde(flatten)]
    pub day: UsageDay,
    /// The group (hosts in no group are in no total).
    pub group: String,
}

/// One local day of use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Hours a user was active.
    pub active_hours: f64,
    /// Hours online with nobody active.
    pub idle_hours: f64,
    /// Hours not reporting.
    pub offline_hours: f64,
    /// Hours inside the opening hours.
    pub open_hours: f64,
    /// Active hours inside the opening hours.
    pub active_open_hours: f64,
    /// Active over open hours, percent (`null` with no open hours that day).
    pub utilization_percent: Option<f64>,
    /// Sessions that began that day.
    pub logons: u64,
    /// Distinct users seen that day.
    pub distinct_users: usize,
    /// Each watched application's hours per state.
    pub apps: IndexMap<String, AppHours>,
}

/// A watched application's hours in each state on one day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AppHours {
    /// In focus, user active.
    pub interactive_hours: f64,
    /// Using CPU without the user.
    pub computing_hours: f64,
    /// Running, unused.
    pub idle_hours: f64,
    /// Not running while the host was online.
    pub not_running_hours: f64,
}
