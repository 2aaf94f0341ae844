//! `db stats` and `db check --data-dir DIR`: a stopped server's store, opened read-only; and
//! `db stats --shared`: the database a cluster on PostgreSQL shares, through a running server.

use std::path::Path;

use idlewatch_protocol::api::StoreStats;
use idlewatch_store::{Error as StoreError, Offline};
use serde_json::json;

use crate::api::Api;
use crate::cli::Format;
use crate::error::{CliError, failed};
use crate::output::{self, Cell, Output, Tone};

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

/// Runs `db stats --data-dir`: a stopped server's file.
///
/// # Errors
/// The store missing, in use or unreadable.
pub fn stats(out: &Output, data_dir: &Path) -> Result<(), CliError> {
    let s = open(data_dir)?.stats().map_err(|e| failed(e.to_string()))?;
    print_stats(out, "file", &s)
}

/// Runs `db stats --shared`: the database a cluster on PostgreSQL shares, through a server.
///
/// # Errors
/// The server unreachable or refusing (a server on its own says to use `--data-dir`).
pub fn shared_stats(api: &Api, out: &Output) -> Result<(), CliError> {
    let stats: StoreStats = api.get_as("/api/v1/store/stats", &[])?;
    print_stats(out, "database", &stats)
}

/// Prints `s`, whose `path` is a `place` (a file or a database).
fn print_stats(out: &Output, place: &str, s: &StoreStats) -> Result<(), CliError> {
    if out.format == Format::Json {
        return output::print(&output::json(&serde_json::to_value(s).unwrap_or_default()));
    }
    let per = s.record_bytes.checked_div(s.snapshots).unwrap_or(0);
    let rows: Vec<Vec<Cell>> = s
        .hosts
        .iter()
        .map(|h| {
            vec![
                Cell::text(&h.host),
                Cell::text(h.snapshots.to_string()),
                Cell::text(&h.first),
                Cell::text(&h.last),
                Cell::text(h.detail_from.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let mut text = String::new();
    if out.format == Format::Table {
        text.push_str(&out.pairs(&[
            (place, Cell::text(&s.path)),
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
            (
                "summary hours",
                Cell::with(
                    format!(
                        "{} host-hours ({})",
                        s.summary_hours,
                        output::bytes(s.summary_hour_bytes)
                    ),
                    s.summary_hours.to_string(),
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
