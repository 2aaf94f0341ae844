//! `alerts [--firing | --resolved] [--from] [--to]`: the alerts active in a time range, newest
//! first (firing ones in red).

use idlewatch_protocol::api::{AlertState, AlertsAnswer};

use crate::api::Api;
use crate::cli::{AlertsArgs, Format};
use crate::error::CliError;
use crate::output::{self, Cell, Output, Tone};

/// Column headers of the table and CSV.
pub const HEADERS: [&str; 9] = [
    "ID", "ALERT", "KIND", "STATE", "HOST", "GROUP", "SINCE", "RESOLVED", "SUMMARY",
];

/// Runs `alerts`.
///
/// # Errors
/// The server unreachable or refusing.
pub fn run(api: &Api, out: &Output, args: &AlertsArgs) -> Result<(), CliError> {
    let mut query = Vec::new();
    if args.firing {
        query.push(("state", "firing".to_owned()));
    }
    if args.resolved {
        query.push(("state", "resolved".to_owned()));
    }
    if let Some(from) = &args.from {
        query.push(("from", from.clone()));
    }
    if let Some(to) = &args.to {
        query.push(("to", to.clone()));
    }
    let answer: AlertsAnswer = api.get_as("/api/v1/alerts", &query)?;
    if out.format == Format::Json {
        return output::print(&output::json_of(&answer));
    }
    if out.format == Format::Table && answer.alerts.is_empty() {
        let what = match (args.firing, args.resolved) {
            (true, _) => "firing",
            (_, true) => "resolved in that range",
            _ => "in that range",
        };
        return output::print(&format!("no alerts {what}\n"));
    }
    let rows: Vec<Vec<Cell>> = answer
        .alerts
        .iter()
        .map(|a| {
            vec![
                Cell::text(a.id.to_string()),
                Cell::text(&a.alert),
                Cell::text(a.kind.as_str()),
                match a.state {
                    AlertState::Firing => Cell::text("firing").tone(Tone::Bad),
                    AlertState::Resolved => Cell::text("resolved").tone(Tone::Good),
                },
                Cell::text(a.host.as_deref().unwrap_or_default()),
                Cell::text(a.group.as_deref().unwrap_or_default()),
                Cell::text(&a.since),
                Cell::text(a.resolved_at.as_deref().unwrap_or_default()),
                Cell::text(&a.summary),
            ]
        })
        .collect();
    output::print(&out.rows(&HEADERS, &rows))
}
