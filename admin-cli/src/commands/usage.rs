//! `usage [--from] [--to] [--group G] [--host H ...]`: the utilization table, per host per
//! local day (the server's `report.time_zone`), then totals per group.

use serde_json::Value;

use crate::api::Api;
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

fn figures(d: &Value) -> Vec<Cell> {
    [
        "active_hours",
        "idle_hours",
        "offline_hours",
        "open_hours",
        "active_open_hours",
    ]
    .iter()
    .map(|k| Cell::num(d[*k].as_f64(), 2))
    .chain([
        Cell::num(d["utilization_percent"].as_f64(), 1),
        Cell::json(&d["logons"]),
        Cell::json(&d["distinct_users"]),
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
    let v = match api.get_json("/api/v1/usage", &query) {
        Ok(v) => v,
        Err(f) => return Err(super::history::explain_hosts(api, f, &args.hosts)),
    };
    if out.format == Format::Json {
        return output::print(&output::json(&v));
    }
    let mut rows = Vec::new();
    for h in v["hosts"].as_array().into_iter().flatten() {
        for d in h["days"].as_array().into_iter().flatten() {
            let mut row = vec![
                Cell::json(&d["date"]),
                Cell::json(&h["host"]),
                Cell::json(&h["group"]),
            ];
            row.extend(figures(d));
            rows.push(row);
        }
    }
    let mut text = out.rows(&HEADERS, &rows);
    let groups = v["groups"].as_array().cloned().unwrap_or_default();
    if out.format == Format::Table && !groups.is_empty() {
        let totals: Vec<Vec<Cell>> = groups
            .iter()
            .map(|g| {
                let mut row = vec![
                    Cell::json(&g["date"]),
                    Cell::text("(all)"),
                    Cell::json(&g["group"]),
                ];
                row.extend(figures(g));
                row
            })
            .collect();
        text.push_str("\nTotals per group\n");
        text.push_str(&out.rows(&HEADERS, &totals));
    }
    output::print(&text)
}
