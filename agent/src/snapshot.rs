//! The snapshot object the agent sends: the Python original's fields first, then Idlewatch's.
//! Built as an ordered JSON object so the server and dashboards see a stable key order.

use idlewatch_protocol::{LEGACY_APPS, SessionInfo, WatchedApp};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::collect::{Foreground, IdleReading, SystemSample};

/// The agent's version, as reported.
pub const AGENT_VERSION: &str = concat!("idlewatch-agent/", env!("CARGO_PKG_VERSION"));

/// Everything one snapshot is made of.
#[derive(Debug, Clone)]
pub struct SnapshotParts<'a> {
    /// The reporting host.
    pub host: &'a str,
    /// Its group (lab, room), if configured.
    pub group: Option<&'a str>,
    /// The stable agent id.
    pub agent_id: &'a str,
    /// The per-agent sequence number.
    pub seq: u64,
    /// Capture time, epoch ms.
    pub captured_ms: i64,
    /// The operating system.
    pub os: &'a str,
    /// The idle reading.
    pub idle: &'a IdleReading,
    /// Whether the user counts as active.
    pub user_active: bool,
    /// Processes, CPU, memory.
    pub sample: &'a SystemSample,
    /// The foreground window, if known.
    pub foreground: Option<&'a Foreground>,
    /// Watched applications and their states.
    pub watched: &'a [(String, WatchedApp)],
    /// The user session at the machine, when known.
    pub session: Option<&'a SessionInfo>,
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The snapshot as a JSON object.
#[must_use]
pub fn build(parts: &SnapshotParts<'_>) -> Value {
    let sample = parts.sample;
    let foreground_name = parts.foreground.and_then(|f| {
        sample
            .processes
            .iter()
            .find(|p| p.pid == f.pid)
            .map(|p| p.name.clone())
    });
    let mut out = Map::new();
    out.insert("host".into(), json!(parts.host));
    out.insert(
        "idle_seconds".into(),
        json!(parts.idle.seconds.map(|s| (s * 10.0).round() / 10.0)),
    );
    out.insert("user_active".into(), json!(parts.user_active));
    out.insert("cpu_percent".into(), json!(sample.cpu_percent));
    out.insert("memory_percent".into(), json!(sample.memory_percent));
    out.insert("foreground_process".into(), json!(foreground_name));
    // The Python original's flat fields, for its dashboards.
    for app in LEGACY_APPS {
        if let Some((_, w)) = parts.watched.iter().find(|(n, _)| n == app) {
            out.insert(format!("{app}_running"), json!(w.running));
            out.insert(format!("{app}_in_focus"), json!(w.in_focus));
            out.insert(format!("{app}_user_active"), json!(w.user_active));
        }
    }
    out.insert("captured_at".into(), json!(rfc3339(parts.captured_ms)));
    out.insert("seq".into(), json!(parts.seq));
    out.insert("agent_id".into(), json!(parts.agent_id));
    out.insert("agent_version".into(), json!(AGENT_VERSION));
    out.insert("os".into(), json!(parts.os));
    if let Some(group) = parts.group {
        out.insert("group".into(), json!(group));
    }
    out.insert("idle_source".into(), json!(parts.idle.source));
    if let Some(session) = parts.session {
        out.insert(
            "session".into(),
            serde_json::to_value(session).unwrap_or_default(),
        );
    }
    if let Some(title) = parts.foreground.and_then(|f| f.title.as_deref()) {
        out.insert("window_title".into(), json!(title));
    }
    let watched: Map<String, Value> = parts
        .watched
        .iter()
        .map(|(name, app)| (name.clone(), serde_json::to_value(app).unwrap_or_default()))
        .collect();
    out.insert("watched".into(), Value::Object(watched));
    let processes: Vec<Value> = sample
        .processes
        .iter()
        .map(|p| {
            json!({
                "pid": p.pid,
                "name": p.name,
                "username": p.username,
                "cpu_percent": p.cpu_percent,
                "memory_bytes": p.memory_bytes,
            })
        })
        .collect();
    out.insert("processes".into(), Value::Array(processes));
    Value::Object(out)
}
