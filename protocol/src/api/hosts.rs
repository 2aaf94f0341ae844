//! `GET /api/v1/hosts`: every known host with its online state and latest figures.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::fields::WatchedApp;
use crate::session::SessionInfo;

/// The answer of `GET /api/v1/hosts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostsAnswer {
    /// Hosts online now.
    pub online: usize,
    /// Hosts known but offline (the never-seen ones included).
    pub offline: usize,
    /// Hosts the directory lists that never reported to this server.
    #[serde(default)]
    pub never_seen: usize,
    /// Every host, sorted by name.
    pub hosts: Vec<HostSummary>,
}

/// One host in `GET /api/v1/hosts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    /// The host's name.
    pub host: String,
    /// Whether an agent of it is connected and it reported within 3 × its interval.
    pub online: bool,
    /// Agents connected for it now.
    pub agents: u32,
    /// When it was first seen (RFC 3339); `None` when it never was.
    #[serde(default)]
    pub first_seen: Option<String>,
    /// When it was last heard from (RFC 3339): offline, it has been silent since then; `None`
    /// when it never was.
    #[serde(default)]
    pub last_seen: Option<String>,
    /// Listed by the directory (`[directory]`) but never heard from.
    #[serde(default)]
    pub never_seen: bool,
    /// Which directory source lists it (`ldap`, `hosts_file`), if any.
    #[serde(default)]
    pub listed_by: Option<String>,
    /// Its measured report interval.
    pub interval_seconds: f64,
    /// When its latest snapshot arrived (RFC 3339).
    #[serde(default)]
    pub received_at: Option<String>,
    /// When the agent took its latest snapshot (RFC 3339).
    #[serde(default)]
    pub captured_at: Option<String>,
    /// Its group (lab, room).
    #[serde(default)]
    pub group: Option<String>,
    /// Where its group came from: `config` (`[report.groups]`), `directory` or `agent`.
    #[serde(default)]
    pub group_source: Option<String>,
    /// Its agent's operating system.
    #[serde(default)]
    pub os: Option<String>,
    /// Its agent's version.
    #[serde(default)]
    pub agent_version: Option<String>,
    /// Seconds since the last user input, when known.
    #[serde(default)]
    pub idle_seconds: Option<f64>,
    /// Where the idle time came from, or why there is none (`no_session`, `helper_missing`).
    #[serde(default)]
    pub idle_source: Option<String>,
    /// Whether the user is active.
    #[serde(default)]
    pub user_active: Option<bool>,
    /// The user session at the machine, when known.
    #[serde(default)]
    pub session: Option<SessionInfo>,
    /// Whole-machine CPU use, percent.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Whole-machine memory use, percent.
    #[serde(default)]
    pub memory_percent: Option<f64>,
    /// The foreground application.
    #[serde(default)]
    pub foreground_process: Option<String>,
    /// Processes in its latest snapshot.
    #[serde(default)]
    pub process_count: Option<usize>,
    /// Watched applications and their states.
    #[serde(default)]
    pub watched: IndexMap<String, WatchedApp>,
}
