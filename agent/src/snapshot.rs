//! The snapshot the agent sends, built from what the collectors read and the session merge
//! decided, as the shared [`AgentSnapshot`] type of `idlewatch-protocol`.

use idlewatch_protocol::time::rfc3339_ms;
use idlewatch_protocol::{AgentSnapshot, LEGACY_APPS, LegacyApp, SessionInfo, WatchedApp};

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

/// The snapshot, typed: the Python original's fields first, then Idlewatch's
/// ([`AgentSnapshot`] fixes the order).
#[must_use]
pub fn build(parts: &SnapshotParts<'_>) -> AgentSnapshot {
    let sample = parts.sample;
    let foreground_process = parts.foreground.and_then(|f| {
        sample
            .processes
            .iter()
            .find(|p| p.pid == f.pid)
            .map(|p| p.name.clone())
    });
    // The Python original's flat fields, for its dashboards.
    let legacy = |app: &str| {
        parts
            .watched
            .iter()
            .find(|(n, _)| n == app)
            .map(|(_, w)| LegacyApp::of(w))
    };
    AgentSnapshot {
        host: parts.host.to_owned(),
        idle_seconds: parts.idle.seconds.map(|s| (s * 10.0).round() / 10.0),
        user_active: parts.user_active,
        cpu_percent: sample.cpu_percent,
        memory_percent: sample.memory_percent,
        foreground_process,
        rocky: legacy(LEGACY_APPS[0]),
        ansys: legacy(LEGACY_APPS[1]),
        captured_at: rfc3339_ms(parts.captured_ms),
        seq: parts.seq,
        agent_id: parts.agent_id.to_owned(),
        agent_version: AGENT_VERSION.to_owned(),
        os: parts.os.to_owned(),
        group: parts.group.map(str::to_owned),
        idle_source: parts.idle.source.clone(),
        session: parts.session.cloned(),
        window_title: parts.foreground.and_then(|f| f.title.clone()),
        watched: parts.watched.iter().cloned().collect(),
        processes: sample.processes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::ProcessInfo;
    use idlewatch_protocol::{Snapshot, WatchedState};

    fn parts_with<'a>(
        sample: &'a SystemSample,
        idle: &'a IdleReading,
        foreground: &'a Foreground,
        watched: &'a [(String, WatchedApp)],
        session: &'a SessionInfo,
    ) -> SnapshotParts<'a> {
        SnapshotParts {
            host: "pc-07",
            group: Some("Lab 1"),
            agent_id: "0f3c",
            seq: 42,
            captured_ms: 1_795_680_000_250,
            os: "linux",
            idle,
            user_active: true,
            sample,
            foreground: Some(foreground),
            watched,
            session: Some(session),
        }
    }

    #[test]
    fn the_snapshot_keeps_the_seeds_fields_first_and_reads_back_the_same() {
        let sample = SystemSample {
            processes: vec![ProcessInfo {
                pid: 7,
                name: "rocky.exe".to_owned(),
                username: Some("ana".to_owned()),
                cpu_percent: 12.5,
                memory_bytes: 1 << 20,
            }],
            cpu_percent: 20.0,
            memory_percent: 40.0,
        };
        let idle = IdleReading {
            seconds: Some(3.04),
            source: "helper".to_owned(),
        };
        let foreground = Foreground {
            pid: 7,
            title: Some("case.rocky".to_owned()),
        };
        let watched = vec![(
            "rocky".to_owned(),
            WatchedApp {
                running: Some(true),
                in_focus: Some(true),
                user_active: Some(true),
                cpu_percent: Some(12.5),
                state: Some(WatchedState::Interactive),
            },
        )];
        let session = SessionInfo {
            user: Some("ana".to_owned()),
            since: None,
            source: Some("helper".to_owned()),
        };
        let built = build(&parts_with(&sample, &idle, &foreground, &watched, &session));
        let text = serde_json::to_string(&built).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "host",
                "idle_seconds",
                "user_active",
                "cpu_percent",
                "memory_percent",
                "foreground_process",
                "rocky_running",
                "rocky_in_focus",
                "rocky_user_active",
                "captured_at",
                "seq",
                "agent_id",
                "agent_version",
                "os",
                "group",
                "idle_source",
                "session",
                "window_title",
                "watched",
                "processes",
            ]
        );
        assert_eq!(value["idle_seconds"], 3.0);
        assert_eq!(value["foreground_process"], "rocky.exe");
        assert_eq!(value["captured_at"], "2026-11-26T08:00:00.250Z");
        // The server's reading and the shared type both read it back.
        let read = Snapshot::parse(&text).unwrap();
        assert_eq!(read.fields().seq, Some(42));
        assert_eq!(read.fields().rocky_in_focus, Some(true));
        assert_eq!(read.fields().ansys_running, None);
        let back: AgentSnapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back, built);
    }
}
