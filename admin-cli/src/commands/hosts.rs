//! `hosts [--group G] [--online|--offline]`: every known host, state and latest figures.

use idlewatch_protocol::{HELPER_MISSING, NO_SESSION};
use serde_json::Value;

use crate::api::Api;
use crate::cli::{Format, HostsArgs};
use crate::error::CliError;
use crate::output::{self, Cell, Output, Tone};

/// Column headers of the table and CSV.
pub const HEADERS: [&str; 11] = [
    "HOST",
    "GROUP",
    "STATE",
    "IDLE",
    "USER",
    "LOGGED ON",
    "FOREGROUND",
    "CPU %",
    "MEM %",
    "WATCHED",
    "LAST SEEN",
];

/// `{app: state}` of a host as `Ansys:computing Rocky:idle`.
#[must_use]
pub fn watched(w: &Value) -> String {
    w.as_object()
        .map(|apps| {
            apps.iter()
                .filter_map(|(name, app)| Some(format!("{name}:{}", app["state"].as_str()?)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Whether the user is active; or, for a service agent, why that is unknown: nobody logged on,
/// or a logged-on user whose session helper is not reporting (a tamper signal, in red).
fn user(h: &Value) -> Cell {
    match (h["idle_source"].as_str(), h["user_active"].as_bool()) {
        (Some(HELPER_MISSING), _) => Cell::with("helper missing", HELPER_MISSING).tone(Tone::Bad),
        (Some(NO_SESSION), _) => Cell::with("nobody", NO_SESSION).tone(Tone::Dim),
        (_, Some(true)) => Cell::with("active", "true").tone(Tone::Good),
        (_, Some(false)) => Cell::with("idle", "false").tone(Tone::Dim),
        (_, None) => Cell::text(""),
    }
}

fn row(h: &Value) -> Vec<Cell> {
    let online = h["online"] == true;
    let idle = h["idle_seconds"].as_f64();
    vec![
        Cell::json(&h["host"]),
        Cell::json(&h["group"]),
        if online {
            Cell::text("online").tone(Tone::Good)
        } else {
            Cell::text("offline").tone(Tone::Bad)
        },
        Cell::with(
            idle.map(output::duration).unwrap_or_default(),
            idle.map(|i| i.to_string()).unwrap_or_default(),
        ),
        user(h),
        Cell::json(&h["session"]["user"]),
        Cell::json(&h["foreground_process"]),
        Cell::num(h["cpu_percent"].as_f64(), 1),
        Cell::num(h["memory_percent"].as_f64(), 1),
        Cell::text(watched(&h["watched"])),
        Cell::json(&h["last_seen"]),
    ]
}

/// Runs `hosts`.
///
/// # Errors
/// The server unreachable or refusing.
pub fn run(api: &Api, out: &Output, args: &HostsArgs) -> Result<(), CliError> {
    let v = api.get("/api/v1/hosts", &[])?;
    let hosts: Vec<Value> = v["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|h| {
            args.group
                .as_ref()
                .is_none_or(|g| h["group"].as_str() == Some(g))
        })
        .filter(|h| !args.online || h["online"] == true)
        .filter(|h| !args.offline || h["online"] != true)
        .cloned()
        .collect();
    match out.format {
        Format::Json => output::print(&output::json(&Value::Array(hosts))),
        _ => {
            let rows: Vec<Vec<Cell>> = hosts.iter().map(row).collect();
            output::print(&out.rows(&HEADERS, &rows))
        }
    }
}
