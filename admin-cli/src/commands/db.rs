//! `db stats` and `db check --data-dir DIR`: a stopped server's store, opened read-only.

use std::path::Path;

use idlewatch_store::{Error as StoreError, Offline};
use serde_json::json;

use crate::cli::Format;
use crate::error::{CliError, failed};
use crate::output::{self, Cell, Output, Tone};
use idlewatch_protocol::time::rfc3339_ms;

fn open(data_dir: &Path) -> Result<Offline, CliError> {
    Offline::open(data_dir).map_err(|e| match e {
        StoreError::InUse { pid, .. } => failed(format!(
            "the store in {} is in use by a running idlewatch-server{}; use the server \
             commands instead (idlewatch-admin status, hosts, history), or stop the server first",
            data_dir.display(),
            pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
        )),
        other => failed(other.to_string()),
    })
}

/// Runs `db stats`.
///
/// # Errors
/// The store missing, in use or unreadable.
pub fn stats(out: &Output, data_dir: &Path) -> Result<(), CliError> {
    let s = open(data_dir)?.stats().map_err(|e| failed(e.to_string()))?;
    let time = |ms: Option<i64>| ms.map(rfc3339_ms).unwrap_or_default();
    if out.format == Format::Json {
        let hosts: Vec<_> = s
            .hosts
            .iter()
            .map(|h| json!({"host": h.host, "snapshots": h.snapshots, "first": time(h.first_ms), "last": time(h.last_ms), "detail_from": h.detail_from.map(rfc3339_ms), "minute_hours": h.minute_hours}))
            .collect();
        return output::print(&output::json(&json!({
            "path": s.path.display().to_string(),
            "file_bytes": s.file_bytes,
            "schema_version": s.schema_version,
            "snapshots": s.snapshots,
            "record_bytes": s.record_bytes,
            "minute_hours": s.minute_hours,
            "minute_bytes": s.minute_bytes,
            "day_rows": s.day_rows,
            "day_bytes": s.day_bytes,
            "host_days": s.host_days,
            "host_day_bytes": s.host_day_bytes,
            "hosts": hosts,
        })));
    }
    let per = s.record_bytes.checked_div(s.snapshots).unwrap_or(0);
    let rows: Vec<Vec<Cell>> = s
        .hosts
        .iter()
        .map(|h| {
            vec![
                Cell::text(&h.host),
                Cell::text(h.snapshots.to_string()),
                Cell::text(time(h.first_ms)),
                Cell::text(time(h.last_ms)),
                Cell::text(time(h.detail_from)),
            ]
        })
        .collect();
    let mut text = String::new();
    if out.format == Format::Table {
        text.push_str(&out.pairs(&[
            ("file", Cell::text(s.path.display().to_string())),
            (
                "size",
                Cell::with(output::bytes(s.file_bytes), s.file_bytes.to_string()),
            ),
            ("schema version", Cell::text(s.schema_version.to_string())),
            ("snapshots", Cell::text(s.snapshots.to_string())),
            ("hosts", Cell::text(s.hosts.len().to_string())),
            (
                "records",
                Cell::with(
                    format!("{} ({per} B per snapshot)", output::bytes(s.record_bytes)),
                    s.record_bytes.to_string(),
                ),
            ),
            (
                "minute rows",
                Cell::with(
                    format!(
                        "{} host-hours ({})",
                        s.minute_hours,
                        output::bytes(s.minute_bytes)
                    ),
                    s.minute_hours.to_string(),
                ),
            ),
            (
                "day rows",
                Cell::with(
                    format!("{} host-days ({})", s.day_rows, output::bytes(s.day_bytes)),
                    s.day_rows.to_string(),
                ),
            ),
            (
                "host-day rollups",
                Cell::with(
                    format!("{} ({})", s.host_days, output::bytes(s.host_day_bytes)),
                    s.host_days.to_string(),
                ),
            ),
        ]));
        text.push('\n');
    }
    text.push_str(&out.rows(
        &["HOST", "SNAPSHOTS", "FIRST", "LAST", "MINUTES UNTIL"],
        &rows,
    ));
    output::print(&text)
}

/// Runs `db check`; problems make it fail (exit 1).
///
/// # Errors
/// The store missing, in use or unreadable, or any problem found.
pub fn check(out: &Output, data_dir: &Path) -> Result<(), CliError> {
    let r = open(data_dir)?.check().map_err(|e| failed(e.to_string()))?;
    let text = match out.format {
        Format::Json => output::json(&json!({
            "ok": r.problems.is_empty(),
            "records_checked": r.records_checked,
            "hosts_checked": r.hosts_checked,
            "problems": r.problems,
        })),
        _ if r.problems.is_empty() => out.pairs(&[
            ("result", Cell::text("ok").tone(Tone::Good)),
            (
                "records verified",
                Cell::text(r.records_checked.to_string()),
            ),
            ("hosts", Cell::text(r.hosts_checked.to_string())),
        ]),
        _ => r
            .problems
            .iter()
            .map(|p| format!("problem: {p}\n"))
            .collect(),
    };
    output::print(&text)?;
    if r.problems.is_empty() {
        Ok(())
    } else {
        Err(failed(format!(
            "the store in {} has {} problem(s) (listed above); keep a copy of the file before \
             changing anything",
            data_dir.display(),
            r.problems.len()
        )))
    }
}
