//! The snapshot as the Idlewatch agent writes it: every field it sends, typed, in the order it
//! sends them — the Python original's fields first (so its dashboards keep working), then
//! Idlewatch's. The server reads any client's snapshot through the tolerant
//! [`crate::SnapshotFields`] view; this is the complete shape one well-behaved writer produces,
//! and what tests and the load generator build their snapshots from.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::fields::WatchedApp;
use crate::session::SessionInfo;

/// One snapshot of the Idlewatch agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSnapshot {
    /// The reporting machine.
    pub host: String,
    /// Seconds since the last user input (tenths), `null` when unknown (`idle_source` says why).
    pub idle_seconds: Option<f64>,
    /// Idle below the agent's threshold.
    pub user_active: bool,
    /// Whole-machine CPU use, percent.
    pub cpu_percent: f64,
    /// Whole-machine memory use, percent.
    pub memory_percent: f64,
    /// Name of the process owning the foreground window, when known.
    pub foreground_process: Option<String>,
    /// The Python original's flat fields for Rocky, sent when `rocky` is watched.
    #[serde(flatten, with = "legacy_rocky")]
    pub rocky: Option<LegacyApp>,
    /// The Python original's flat fields for Ansys, sent when `ansys` is watched.
    #[serde(flatten, with = "legacy_ansys")]
    pub ansys: Option<LegacyApp>,
    /// Capture time, RFC 3339.
    pub captured_at: String,
    /// The agent's sequence number (per agent, from 1, never reused).
    pub seq: u64,
    /// The agent's stable identity.
    pub agent_id: String,
    /// `idlewatch-agent/<version>`.
    pub agent_version: String,
    /// `linux`, `windows`, ...
    pub os: String,
    /// The lab or room the agent is configured for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Where the idle time came from, or why there is none.
    pub idle_source: String,
    /// The user session at the machine, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionInfo>,
    /// The foreground window's title (only with `--collect-titles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_title: Option<String>,
    /// Watched applications by name, in the agent's order.
    pub watched: IndexMap<String, WatchedApp>,
    /// Every process.
    pub processes: Vec<ProcessEntry>,
}

/// One running process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessEntry {
    /// Process id.
    pub pid: u32,
    /// Executable name.
    pub name: String,
    /// Owner, when the agent may know it.
    pub username: Option<String>,
    /// CPU use, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory.
    pub memory_bytes: u64,
}

/// A watched app's flags in the Python original's flat form (`<app>_running`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegacyApp {
    /// `<app>_running`.
    pub running: bool,
    /// `<app>_in_focus`.
    pub in_focus: bool,
    /// `<app>_user_active`.
    pub user_active: bool,
}

impl LegacyApp {
    /// The flat flags of a watched app (a missing flag is `false`).
    #[must_use]
    pub fn of(app: &WatchedApp) -> Self {
        Self {
            running: app.running.unwrap_or(false),
            in_focus: app.in_focus.unwrap_or(false),
            user_active: app.user_active.unwrap_or(false),
        }
    }
}

/// The flat fields under one app's prefix, for `#[serde(flatten, with = ...)]`.
macro_rules! legacy_fields {
    ($module:ident, $running:literal, $in_focus:literal, $user_active:literal) => {
        mod $module {
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            use super::LegacyApp;

            #[derive(Serialize, Deserialize)]
            struct Flat {
                #[serde(rename = $running)]
                running: bool,
                #[serde(rename = $in_focus)]
                in_focus: bool,
                #[serde(rename = $user_active)]
                user_active: bool,
            }

            pub fn serialize<S: Serializer>(
                v: &Option<LegacyApp>,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                v.map(|a| Flat {
                    running: a.running,
                    in_focus: a.in_focus,
                    user_active: a.user_active,
                })
                .serialize(s)
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<Option<LegacyApp>, D::Error> {
                Ok(Option::<Flat>::deserialize(d)?.map(|f| LegacyApp {
                    running: f.running,
                    in_focus: f.in_focus,
                    user_active: f.user_active,
                }))
            }
        }
    };
}

legacy_fields!(
    legacy_rocky,
    "rocky_running",
    "rocky_in_focus",
    "rocky_user_active"
);
legacy_fields!(
    legacy_ansys,
    "ansys_running",
    "ansys_in_focus",
    "ansys_user_active"
);
