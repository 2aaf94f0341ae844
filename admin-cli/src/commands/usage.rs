//! `usage [--from] [--to] [--group G] [--host H ...]`: the utilization table, per host per
//! local day (the server's `report.time_zone`), then totals per group.

use idlewatch_protocol::api::{UsageAnswer, UsageDay};

use crate::api::{Api, decode};
use crate::cli::{Format, UsageArgs};
use crate::error::CliError;
use crate::output::{self, Cell, Output};

/// Column headers of the table and CSV.
pub const HEADERS: [&str; 11] = [
    "DATE",
    "HOST",
    "GROUP",
    "ACTIVE (h)",
    "IDLE (h)",
    "OFFLINE (h)",
    "OPEN (h)",
    "ACTIVE OPEN (h)",
    "UTIL %",
    "LOGONS",
    "USERS",
];

fn figures(d: &UsageDay) -> Vec<Cell> {
    [
        d.active_hours,
        d.idle_hours,
        d.offline_hours,
        d.open_hours,
        d.active_open_hours,
    ]
    .into_iter()
    .map(|h| Cell::num(Some(h), 2))
    .chain([
        Cell::num(d.utilization_percent, 1),
        Cell::text(d.logons.to_string()),
        Cell::text(d.distinct_users.to_string()),
    ])
    .collect()
}

/// Runs `usage`.
///
/// # Errors
/// The server unreachable or refusing, an unknown host or group.
pub fn run(api: &Api, out: &Output, args: &UsageArgs) -> Result<(), CliError> {
    let query = super::history::report_query(
        args.from.as_ref(),
        args.to.as_ref(),
        args.group.as_ref(),
        &args.hosts,
    );
    let v: UsageAnswer = match api.get_json("/api/v1/usage", &query) {
        Ok(v) => decode("/api/v1/usage", v)?,
        Err(f) => return Err(super::history::explain_hosts(api, f, &args.hosts)),
    };
    if out.format == Format::Json {
        return output::print(&output::json_of(&v));
    }
    let mut rows = Vec::new();
    for h in &v.hosts {
        for d in &h.days {
            let mut row = vec![
                Cell::text(&d.date),
                Cell::text(&h.host),
                Cell::text(h.group.as_deref().unwrap_or_default()),
            ];
            row.extend(figures(d));
            rows.push(row);
        }
    }
    let mut text = out.rows(&HEADERS, &rows);
    if out.format == Format::Table && !v.groups.is_empty() {
        let totals: Vec<Vec<Cell>> = v
            .groups
            .iter()
            .map(|g| {
                let mut row = vec![
                    Cell::text(&g.day.date),
                    Cell::text("(all)"),
                    Cell::text(&g.group),
                ];
                row.extend(figures(&g.day));
                row
            })
            .collect();
        text.push_str("\nTotals per group\n");
        text.push_str(&out.rows(&HEADERS, &totals));
    }
    output::print(&text)
}
