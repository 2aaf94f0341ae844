//! What the session helper and the service say to each other over the local channel, one JSON
//! object per line: first the service's [`HelperSettings`], then a [`SessionReport`] from the
//! helper every interval, and [`SessionReport::bye`] when it stops on purpose (a logoff).

use serde::{Deserialize, Serialize};

/// Longest line either side accepts: a report is a few hundred bytes; anything longer is not
/// from a helper.
pub const MAX_LINE: usize = 16 * 1024;

/// The service's settings for its helpers (sent on connect, so a helper needs no config file,
/// which may hold the agent token and be readable by the service only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperSettings {
    /// Milliseconds between two reports.
    pub interval_ms: u64,
    /// Whether to send the foreground window's title.
    pub collect_titles: bool,
}

/// One session's state, as its helper sees it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionReport {
    /// Seconds since the session's last input; `None` when unknown.
    #[serde(default)]
    pub idle_seconds: Option<f64>,
    /// Where the idle time came from (`x11`, `mutter`, `win32`), or why it is unknown.
    #[serde(default)]
    pub idle_source: String,
    /// The foreground window's process.
    #[serde(default)]
    pub foreground_pid: Option<u32>,
    /// The foreground window's title (only when the service asked for titles).
    #[serde(default)]
    pub foreground_title: Option<String>,
    /// The session's user, as the helper knows it (the service prefers what it can check).
    #[serde(default)]
    pub user: Option<String>,
    /// When the session's user logged on, epoch ms, when known.
    #[serde(default)]
    pub since_ms: Option<i64>,
    /// Whether this session is the one at the machine's screen and keyboard now.
    #[serde(default)]
    pub active: bool,
    /// The helper stops on purpose (its session is ending).
    #[serde(default)]
    pub bye: bool,
}

impl SessionReport {
    /// The last line of a helper stopping on purpose.
    #[must_use]
    pub fn bye() -> Self {
        Self {
            bye: true,
            ..Self::default()
        }
    }
}
