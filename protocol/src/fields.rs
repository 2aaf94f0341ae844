//! The typed view of the snapshot fields Idlewatch understands, and their validation rules.
//!
//! Only reading happens here: unknown fields are skipped (they stay in the snapshot's raw text),
//! process entries are type-checked and counted but not kept.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::limits::MAX_PROCESSES;
use crate::timestamp::CapturedAt;

/// The known fields of a snapshot, all optional except `host`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SnapshotFields {
    /// The reporting machine.
    pub host: String,
    /// Seconds since the last user input; `None` when absent or null (unknown).
    #[serde(default)]
    pub idle_seconds: Option<f64>,
    /// The README-era alias of `idle_seconds`.
    #[serde(default)]
    pub idle_time: Option<f64>,
    /// Whether the user is active (idle below the agent's threshold).
    #[serde(default)]
    pub user_active: Option<bool>,
    /// Whole-machine CPU use, percent.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Whole-machine memory use, percent.
    #[serde(default)]
    pub memory_percent: Option<f64>,
    /// Name of the process owning the foreground window.
    #[serde(default)]
    pub foreground_process: Option<String>,
    /// How many entries `processes` holds, when present.
    #[serde(default, rename = "processes")]
    pub process_count: Option<ProcessCount>,
    /// Watched applications by name, in the agent's order.
    #[serde(default)]
    pub watched: Option<IndexMap<String, WatchedApp>>,
    /// When the agent took the snapshot.
    #[serde(default)]
    pub captured_at: Option<CapturedAt>,
    /// The agent's own monotonic sequence number.
    #[serde(default)]
    pub seq: Option<u64>,
    /// The agent's version string.
    #[serde(default)]
    pub agent_version: Option<String>,
    /// The agent's operating system.
    #[serde(default)]
    pub os: Option<String>,
    /// The group (lab, room) the agent says it belongs to.
    #[serde(default)]
    pub group: Option<String>,
    /// Where the idle time came from, or why there is none
    /// ([`crate::session::NO_SESSION`], [`crate::session::HELPER_MISSING`]).
    #[serde(default)]
    pub idle_source: Option<String>,
    /// The user session at the machine, when known.
    #[serde(default)]
    pub session: Option<crate::session::SessionInfo>,
    /// Legacy flat field of the Python original.
    #[serde(default)]
    pub rocky_running: Option<bool>,
    /// Legacy flat field of the Python original.
    #[serde(default)]
    pub rocky_in_focus: Option<bool>,
    /// Legacy flat field of the Python original.
    #[serde(default)]
    pub rocky_user_active: Option<bool>,
    /// Legacy flat field of the Python original.
    #[serde(default)]
    pub ansys_running: Option<bool>,
    /// Legacy flat field of the Python original.
    #[serde(default)]
    pub ansys_in_focus: Option<bool>,
    /// Legacy flat field of the Python original.
    #[serde(default)]
    pub ansys_user_active: Option<bool>,
}

/// The state of one watched application, as the agent reports it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct WatchedApp {
    /// Any process of the app is running.
    #[serde(default)]
    pub running: Option<bool>,
    /// The app owns the foreground window.
    #[serde(default)]
    pub in_focus: Option<bool>,
    /// In focus and the user is active.
    #[serde(default)]
    pub user_active: Option<bool>,
    /// CPU use of the app's processes, percent.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// The agent's classification.
    #[serde(default)]
    pub state: Option<WatchedState>,
}

impl WatchedApp {
    /// The state as reported, or derived from the flags when the agent did not classify:
    /// in focus and active is `interactive`; running otherwise is `idle` (without CPU figures
    /// a solver cannot be told apart); not running is `not_running`.
    #[must_use]
    pub fn effective_state(&self) -> Option<WatchedState> {
        if self.state.is_some() {
            return self.state;
        }
        match (self.running, self.in_focus, self.user_active) {
            (_, Some(true), Some(true)) => Some(WatchedState::Interactive),
            (Some(true), ..) => Some(WatchedState::Idle),
            (Some(false), ..) => Some(WatchedState::NotRunning),
            _ => None,
        }
    }
}

/// The apps of the Python original's hard-coded watch list, with their legacy flat fields.
pub const LEGACY_APPS: [&str; 2] = ["rocky", "ansys"];

/// What a watched application is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchedState {
    /// In focus and the user is active.
    Interactive,
    /// Not interactive, but its processes use CPU (a solver running).
    Computing,
    /// Running, neither interactive nor computing: a licence held for nothing.
    Idle,
    /// Not running.
    NotRunning,
}

/// A stretch of time during which one PC's watched app was in one state: what the licence
/// views count and the host-day rollups keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSpan {
    /// Its start, epoch ms.
    pub start_ms: i64,
    /// Its end (exclusive), epoch ms.
    pub end_ms: i64,
    /// The app's state.
    pub state: WatchedState,
}

impl WatchedState {
    /// The state as it appears on the wire (`interactive`, `computing`, `idle`, `not_running`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interactive => "interactive",
            Self::Computing => "computing",
            Self::Idle => "idle",
            Self::NotRunning => "not_running",
        }
    }
}

impl SnapshotFields {
    /// Idle seconds from `idle_seconds`, or from the legacy `idle_time`.
    #[must_use]
    pub fn idle(&self) -> Option<f64> {
        self.idle_seconds.or(self.idle_time)
    }

    /// Number of listed processes, when the snapshot lists them.
    #[must_use]
    pub fn processes(&self) -> Option<usize> {
        self.process_count.map(|c| c.0)
    }

    /// The legacy flat field `<app>_<what>` (`what` is `running`, `in_focus` or `user_active`):
    /// as sent, or derived from `watched` when the agent only sent the structured form.
    #[must_use]
    pub fn legacy_flag(&self, app: &str, what: &str) -> Option<bool> {
        let flat = match (app, what) {
            ("rocky", "running") => self.rocky_running,
            ("rocky", "in_focus") => self.rocky_in_focus,
            ("rocky", "user_active") => self.rocky_user_active,
            ("ansys", "running") => self.ansys_running,
            ("ansys", "in_focus") => self.ansys_in_focus,
            ("ansys", "user_active") => self.ansys_user_active,
            _ => None,
        };
        flat.or_else(|| {
            let w = self.watched.as_ref()?.get(app)?;
            match what {
                "running" => w.running,
                "in_focus" => w.in_focus,
                "user_active" => w.user_active,
                _ => None,
            }
        })
    }

    /// Watched apps in the agent's order, each with its effective state; for agents of the
    /// Python original, built from the legacy flat `rocky_*` / `ansys_*` fields.
    #[must_use]
    pub fn watched_apps(&self) -> Vec<(String, WatchedApp)> {
        if let Some(watched) = &self.watched {
            return watched
                .iter()
                .map(|(name, app)| {
                    let mut app = app.clone();
                    app.state = app.effective_state();
                    (name.clone(), app)
                })
                .collect();
        }
        LEGACY_APPS
            .iter()
            .filter_map(|name| {
                let mut app = WatchedApp {
                    running: self.legacy_flag(name, "running"),
                    in_focus: self.legacy_flag(name, "in_focus"),
                    user_active: self.legacy_flag(name, "user_active"),
                    cpu_percent: None,
                    state: None,
                };
                if app.running.is_none() && app.in_focus.is_none() && app.user_active.is_none() {
                    return None;
                }
                app.state = app.effective_state();
                Some(((*name).to_owned(), app))
            })
            .collect()
    }

    /// Checks the value ranges that types alone do not express.
    ///
    /// # Errors
    /// `(field path, reason)` for the first rule broken.
    pub(crate) fn check_ranges(&self) -> Result<(), (String, String)> {
        check_host(&self.host).map_err(|m| ("host".to_owned(), m))?;
        for (name, v) in [
            ("idle_seconds", self.idle_seconds),
            ("idle_time", self.idle_time),
            ("cpu_percent", self.cpu_percent),
            ("memory_percent", self.memory_percent),
        ] {
            non_negative(v).map_err(|m| (name.to_owned(), m))?;
        }
        for (app, w) in self.watched.iter().flatten() {
            non_negative(w.cpu_percent).map_err(|m| (format!("watched.{app}.cpu_percent"), m))?;
        }
        Ok(())
    }
}

fn non_negative(v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !x.is_finite() => Err("must be a finite number".to_owned()),
        Some(x) if x < 0.0 => Err(format!("must not be negative (got {x})")),
        _ => Ok(()),
    }
}

/// Checks a host name: non-empty, at most [`crate::limits::MAX_HOST_CHARS`] characters, no
/// control characters.
///
/// # Errors
/// The reason, for people.
pub(crate) fn check_host(host: &str) -> Result<(), String> {
    if host.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    let chars = host.chars().count();
    if chars > crate::limits::MAX_HOST_CHARS {
        return Err(format!(
            "is {chars} characters long; at most {} are allowed",
            crate::limits::MAX_HOST_CHARS
        ));
    }
    if host.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

/// The number of entries of a `processes` array, each checked to be a process object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessCount(pub usize);

/// One process entry: the known fields must have the right types; others are skipped.
#[derive(Deserialize)]
#[allow(dead_code)] // read only to type-check the entry
struct ProcessEntry<'a> {
    #[serde(default)]
    pid: Option<u64>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(default)]
    cpu_percent: Option<f64>,
    #[serde(default)]
    memory_bytes: Option<u64>,
}

impl<'de> Deserialize<'de> for ProcessCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ProcessCountVisitor)
    }
}

struct ProcessCountVisitor;

/// The message of the error raised when `processes` is too long; the snapshot parser maps it to
/// its own error code.
pub(crate) const TOO_MANY_PROCESSES: &str = "lists more processes than the limit";

impl<'de> Visitor<'de> for ProcessCountVisitor {
    type Value = ProcessCount;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of process objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ProcessCount, A::Error> {
        let mut n = 0usize;
        while seq.next_element::<ProcessEntry<'de>>()?.is_some() {
            n += 1;
            if n > MAX_PROCESSES {
                // Stop reading at once: the rest of a huge list is not worth parsing.
                return Err(de::Error::custom(TOO_MANY_PROCESSES));
            }
        }
        Ok(ProcessCount(n))
    }
}
