//! `status`: version, uptime, hosts, store, last Sheets upload.

use serde_json::{Value, json};

use crate::api::Api;
use crate::cli::Format;
use crate::error::CliError;
use crate::output::{self, Cell, Output, Tone};

/// The last Sheets upload in a few words.
fn sheets_line(s: &Value) -> Cell {
    if s["enabled"] != true {
        return Cell::text("not configured").tone(Tone::Dim);
    }
    let run = &s["last_run"];
    if run.is_null() {
        return Cell::text(format!(
            "enabled, no upload yet (every {})",
            output::duration(s["interval_seconds"].as_f64().unwrap_or(0.0))
        ));
    }
    let at = run["started_at"].as_str().unwrap_or_default();
    if run["ok"] == true {
        Cell::text(format!(
            "ok at {at}: {} hosts, {} utilization rows, {} requests",
            run["hosts"], run["utilization_rows"], run["requests"]
        ))
        .tone(Tone::Good)
    } else {
        Cell::text(format!(
            "FAILED at {at}: {}",
            run["error"]["message"].as_str().unwrap_or_default()
        ))
        .tone(Tone::Bad)
    }
}

/// Runs `status`.
///
/// # Errors
/// The server unreachable or refusing.
pub fn run(api: &Api, out: &Output) -> Result<(), CliError> {
    let v = api.get("/api/v1/status", &[])?;
    if out.format == Format::Json {
        let mut doc = json!({"server": api.server()});
        if let (Some(d), Some(s)) = (doc.as_object_mut(), v.as_object()) {
            d.extend(s.clone());
        }
        return output::print(&output::json(&doc));
    }
    let bytes = v["store"]["file_bytes"].as_u64().unwrap_or(0);
    let uptime = v["uptime_seconds"].as_f64().unwrap_or(0.0);
    let online = v["hosts"]["online"].as_u64().unwrap_or(0);
    let pairs = [
        ("server", Cell::text(api.server())),
        ("version", Cell::json(&v["version"])),
        (
            "uptime",
            Cell::with(output::duration(uptime), format!("{uptime}")),
        ),
        (
            "hosts online",
            Cell::text(online.to_string()).tone(if online > 0 { Tone::Good } else { Tone::Plain }),
        ),
        ("hosts offline", Cell::json(&v["hosts"]["offline"])),
        ("store", Cell::with(output::bytes(bytes), bytes.to_string())),
        ("snapshots", Cell::json(&v["store"]["snapshots"])),
        (
            "retention",
            Cell::with(
                format!("{} days", v["retention_days"]),
                v["retention_days"].to_string(),
            ),
        ),
        ("sheets upload", sheets_line(&v["sheets"])),
    ];
    output::print(&out.pairs(&pairs))
}
