//! The JSON shape of a generated snapshot, field for field as the agent sends it. Only data:
//! the generator in the parent module fills it in.

use serde::Serialize;

use super::catalog::Program;

/// One process as the agent reports it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Process {
    pub(super) pid: u32,
    pub(super) name: &'static str,
    /// `None` where psutil is denied the owner: other accounts' processes when the agent runs
    /// unelevated, as the Python agent did.
    pub(super) username: Option<&'static str>,
    pub(super) cpu_percent: f64,
    pub(super) memory_bytes: u64,
    #[serde(skip)]
    pub(super) program: &'static Program,
    #[serde(skip)]
    pub(super) from_boot: bool,
}

/// One generated snapshot, borrowing the generator's process list; serializes to the agent's
/// JSON shape with the fields in the order a real agent sends them.
#[derive(Debug, Serialize)]
pub struct Snapshot<'a> {
    pub(super) host: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) captured_at: Option<u64>,
    pub(super) agent_version: &'static str,
    pub(super) os: &'static str,
    pub(super) idle_seconds: f64,
    pub(super) user_active: bool,
    pub(super) cpu_percent: f64,
    pub(super) memory_percent: f64,
    pub(super) foreground_process: &'static str,
    pub(super) watched: Watched,
    pub(super) processes: &'a [Process],
}

impl Snapshot<'_> {
    /// The per-host sequence number (1 for the first snapshot); `None` in a body.
    #[must_use]
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// How many processes it lists.
    #[must_use]
    pub fn process_count(&self) -> usize {
        self.processes.len()
    }
}

#[derive(Debug, Serialize)]
pub(super) struct Watched {
    pub(super) ansys: WatchedApp,
    pub(super) rocky: WatchedApp,
}

#[derive(Debug, Serialize)]
pub(super) struct WatchedApp {
    pub(super) running: bool,
    pub(super) in_focus: bool,
    pub(super) user_active: bool,
    pub(super) cpu_percent: f64,
    pub(super) state: &'static str,
}
