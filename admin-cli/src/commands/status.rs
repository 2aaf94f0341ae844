//! `status`: version, uptime, hosts, store, last Sheets upload, cluster.

use idlewatch_protocol::api::{ClusterStatus, ServerStatus, SheetsStatus};
use serde_json::json;

use crate::api::Api;
use crate::cli::Format;
use crate::error::CliError;
use crate::output::{self, Cell, Output, Tone};

/// The last Sheets upload in a few words.
fn sheets_line(s: &SheetsStatus) -> Cell {
    if !s.enabled {
        return Cell::text("not configured").tone(Tone::Dim);
    }
    let Some(run) = &s.last_run else {
        #[allow(clippy::cast_precision_loss)] // seconds between uploads
        return Cell::text(format!(
            "enabled, no upload yet (every {})",
            output::duration(s.interval_seconds as f64)
        ));
    };
    let at = &run.started_at;
    if run.ok {
        Cell::text(format!(
            "ok at {at}: {} hosts, {} utilization rows, {} requests",
            run.outcome.hosts, run.outcome.utilization_rows, run.counts.requests
        ))
        .tone(Tone::Good)
    } else {
        Cell::text(format!(
            "FAILED at {at}: {}",
            run.error.as_ref().map_or("", |e| e.message.as_str())
        ))
        .tone(Tone::Bad)
    }
}

/// Runs `status`.
///
/// # Errors
/// The server unreachable or refusing.
pub fn run(api: &Api, out: &Output) -> Result<(), CliError> {
    let v: ServerStatus = api.get_as("/api/v1/status", &[])?;
    if out.format == Format::Json {
        let mut doc = json!({"server": api.server()});
        if let (Some(d), Ok(serde_json::Value::Object(s))) =
            (doc.as_object_mut(), serde_json::to_value(&v))
        {
            d.extend(s);
        }
        return output::print(&output::json(&doc));
    }
    let bytes = v.store.file_bytes;
    #[allow(clippy::cast_precision_loss)] // seconds of uptime
    let uptime = v.uptime_seconds as f64;
    let online = v.hosts.online;
    let pairs = [
        ("server", Cell::text(api.server())),
        ("version", Cell::text(&v.version)),
        (
            "uptime",
            Cell::with(output::duration(uptime), format!("{uptime}")),
        ),
        (
            "hosts online",
            Cell::text(online.to_string()).tone(if online > 0 { Tone::Good } else { Tone::Plain }),
        ),
        ("hosts offline", Cell::text(v.hosts.offline.to_string())),
        (
            "store",
            match &v.store.shared {
                Some(shared) => Cell::with(
                    format!(
                        "PostgreSQL {shared}{} (this server's file: {})",
                        v.store
                            .shared_bytes
                            .map(|t| format!(
                                ": snapshots {}, minute rows {}, day rows {}",
                                output::bytes(t.snapshots),
                                output::bytes(t.minutes),
                                output::bytes(t.days)
                            ))
                            .unwrap_or_default(),
                        output::bytes(bytes)
                    ),
                    shared.clone(),
                ),
                None => Cell::with(output::bytes(bytes), bytes.to_string()),
            },
        ),
        (
            "snapshots",
            Cell::text(v.store.snapshots.map(|n| n.to_string()).unwrap_or_default()),
        ),
        (
            "snapshots whole",
            tier(v.retention_snapshots_seconds, v.retention_days),
        ),
        (
            "minute rows",
            if v.retention_snapshots_seconds.is_some() {
                tier(v.retention_minutes_seconds, v.retention_days)
            } else {
                Cell::text("none: snapshots are not folded").tone(Tone::Dim)
            },
        ),
        (
            "retention",
            Cell::with(
                if v.retention_days == 0 {
                    "until deleted by hand".to_owned()
                } else {
                    format!("{} days", v.retention_days)
                },
                v.retention_days.to_string(),
            ),
        ),
        ("sheets upload", sheets_line(&v.sheets)),
        ("cluster", cluster_line(v.cluster.as_ref())),
    ];
    output::print(&out.pairs(&pairs))
}

/// The server's part in a cluster in a few words.
fn cluster_line(c: Option<&ClusterStatus>) -> Cell {
    match c {
        None => Cell::text("none: this server runs on its own").tone(Tone::Dim),
        Some(c) if c.leads => Cell::text(format!(
            "server {} of {}, leading (alerts, Sheets uploads)",
            c.id, c.servers
        ))
        .tone(Tone::Good),
        Some(c) => Cell::text(format!("server {} of {}", c.id, c.servers)),
    }
}

/// How long a tier is kept: its own length, or (`None`) until `days` deletes everything.
fn tier(seconds: Option<u64>, days: u32) -> Cell {
    match seconds {
        Some(s) if s % 86_400 == 0 => Cell::with(format!("{} days", s / 86_400), s.to_string()),
        #[allow(clippy::cast_precision_loss)] // seconds of a retention setting
        Some(s) => Cell::with(output::duration(s as f64), s.to_string()),
        None if days == 0 => Cell::text("until deleted by hand"),
        None => Cell::with(
            format!("{days} days"),
            (u64::from(days) * 86_400).to_string(),
        ),
    }
}
