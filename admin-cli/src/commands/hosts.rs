//! `hosts [--group G] [--online|--offline|--missing]`: every known host, state and latest
//! figures; `--missing`: the PCs the server's directory lists that are not reporting (never
//! seen, or silent since their last report).

use idlewatch_protocol::api::{HostSummary, HostsAnswer};
use idlewatch_protocol::{HELPER_MISSING, NO_SESSION, WatchedApp};
use indexmap::IndexMap;

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
pub fn watched(apps: &IndexMap<String, WatchedApp>) -> String {
    apps.iter()
        .filter_map(|(name, app)| Some(format!("{name}:{}", app.state?.as_str())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the user is active; or, for a service agent, why that is unknown: nobody logged on,
/// or a logged-on user whose session helper is not reporting (a tamper signal, in red).
fn user(h: &HostSummary) -> Cell {
    match (h.idle_source.as_deref(), h.user_active) {
        (Some(HELPER_MISSING), _) => Cell::with("helper missing", HELPER_MISSING).tone(Tone::Bad),
        (Some(NO_SESSION), _) => Cell::with("nobody", NO_SESSION).tone(Tone::Dim),
        (_, Some(true)) => Cell::with("active", "true").tone(Tone::Good),
        (_, Some(false)) => Cell::with("idle", "false").tone(Tone::Dim),
        (_, None) => Cell::text(""),
    }
}

fn row(h: &HostSummary) -> Vec<Cell> {
    let idle = h.idle_seconds;
    let text = |v: Option<&str>| Cell::text(v.unwrap_or_default());
    vec![
        Cell::text(&h.host),
        text(h.group.as_deref()),
        if h.online {
            Cell::text("online").tone(Tone::Good)
        } else if h.never_seen {
            Cell::text("never seen").tone(Tone::Bad)
        } else {
            Cell::text("offline").tone(Tone::Bad)
        },
        Cell::with(
            idle.map(output::duration).unwrap_or_default(),
            idle.map(|i| i.to_string()).unwrap_or_default(),
        ),
        user(h),
        text(h.session.as_ref().and_then(|s| s.user.as_deref())),
        text(h.foreground_process.as_deref()),
        Cell::num(h.cpu_percent, 1),
        Cell::num(h.memory_percent, 1),
        Cell::text(watched(&h.watched)),
        Cell::with(
            h.last_seen.as_deref().unwrap_or("never"),
            h.last_seen.as_deref().unwrap_or_default(),
        ),
    ]
}

/// Runs `hosts`.
///
/// # Errors
/// The server unreachable or refusing.
pub fn run(api: &Api, out: &Output, args: &HostsArgs) -> Result<(), CliError> {
    let answer: HostsAnswer = api.get_as("/api/v1/hosts", &[])?;
    let hosts_listed = answer.hosts.iter().any(|h| h.listed_by.is_some());
    let hosts: Vec<HostSummary> = answer
        .hosts
        .into_iter()
        .filter(|h| args.group.is_none() || h.group == args.group)
        .filter(|h| !args.online || h.online)
        .filter(|h| !args.offline || !h.online)
        .filter(|h| !args.missing || (!h.online && h.listed_by.is_some()))
        .collect();
    if args.missing && !hosts_listed {
        eprintln!(
            "note: no PC is listed by the server's directory, so none is known to be missing: \
             set [directory] hosts_file or url in the server's configuration"
        );
    }
    match out.format {
        Format::Json => output::print(&output::json_of(&hosts)),
        _ => {
            let rows: Vec<Vec<Cell>> = hosts.iter().map(row).collect();
            output::print(&out.rows(&HEADERS, &rows))
        }
    }
}
