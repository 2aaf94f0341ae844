//! `licences [--app A]` and `licences simulate --app A --reclaim-after D`: seats over a time
//! range from what the PCs reported — each app's peaks and licence-hours, one app's
//! hour-of-week grid, and the peak needed had idle seats been released, week by week.

use idlewatch_protocol::api::{Heatmap, PeakView, ReclaimAnswer, SeatsAnswer};
use serde_json::json;

use super::history::segment;
use crate::api::Api;
use crate::cli::{Format, LicencesArgs, SeatsRange, SimulateArgs};
use crate::error::CliError;
use crate::output::{self, Cell, Output, Tone};

/// Column headers of the peaks table.
pub const HEADERS: [&str; 10] = [
    "APP",
    "PCS",
    "ISSUED",
    "PEAK RUNNING",
    "AT",
    "PEAK IN USE",
    "AT",
    "INTERACTIVE (h)",
    "COMPUTING (h)",
    "IDLE (h)",
];

/// Column headers of the simulation table.
pub const WEEK_HEADERS: [&str; 4] = ["WEEK", "PEAK HELD", "PEAK NEEDED", "SEATS SAVED"];

fn query(range: &SeatsRange) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(from) = &range.from {
        q.push(("from", from.clone()));
    }
    if let Some(to) = &range.to {
        q.push(("to", to.clone()));
    }
    if let Some(group) = &range.group {
        q.push(("group", group.clone()));
    }
    q
}

fn at(p: &PeakView) -> Cell {
    Cell::text(p.at.as_deref().unwrap_or_default())
}

/// Runs `licences` (no subcommand).
///
/// # Errors
/// The server unreachable or refusing.
pub fn overview(api: &Api, out: &Output, args: &LicencesArgs) -> Result<(), CliError> {
    let q = query(&args.range);
    let mut answer: SeatsAnswer = api.get_as("/api/v1/licences", &q)?;
    if let Some(app) = &args.app {
        answer.apps.retain(|a| a.app.eq_ignore_ascii_case(app));
    }
    let heatmap: Option<Heatmap> = match &args.app {
        Some(app) if !answer.apps.is_empty() => {
            Some(api.get_as(&format!("/api/v1/licences/{}/heatmap", segment(app)), &q)?)
        }
        _ => None,
    };
    if out.format == Format::Json {
        let value = match &heatmap {
            Some(h) => json!({"seats": answer, "heatmap": h}),
            None => json!(answer),
        };
        return output::print(&output::json_of(&value));
    }
    if out.format == Format::Table && answer.apps.is_empty() {
        let what = args.app.as_deref().map_or_else(
            || "no watched app".to_owned(),
            |a| format!("no PC reported {a:?}"),
        );
        return output::print(&format!(
            "{what} between {} and {}\n",
            answer.from, answer.to
        ));
    }
    let rows: Vec<Vec<Cell>> = answer
        .apps
        .iter()
        .map(|a| {
            vec![
                Cell::text(&a.app),
                Cell::text(a.pcs.to_string()),
                Cell::text(a.issued.map(|n| n.to_string()).unwrap_or_default()),
                Cell::text(a.peak_running.seats.to_string()),
                at(&a.peak_running),
                Cell::text(a.peak_in_use.seats.to_string()),
                at(&a.peak_in_use),
                Cell::text(format!("{:.2}", a.interactive_hours)),
                Cell::text(format!("{:.2}", a.computing_hours)),
                Cell::text(format!("{:.2}", a.idle_hours)),
            ]
        })
        .collect();
    let mut text = out.rows(&HEADERS, &rows);
    if let Some(h) = heatmap
        && out.format == Format::Table
    {
        text.push_str(&format!(
            "\nPeak seats of {} in use, by hour of the week ({}):\n",
            h.app, h.time_zone
        ));
        let mut headers = vec!["DAY".to_owned()];
        headers.extend((0..24).map(|h| format!("{h:02}")));
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let rows: Vec<Vec<Cell>> = h
            .days
            .iter()
            .map(|d| {
                let mut row = vec![Cell::text(&d.day[..3])];
                row.extend(d.hours.iter().map(|c| {
                    let cell = Cell::text(c.peak_in_use.to_string());
                    if c.peak_in_use == 0 {
                        cell.tone(Tone::Dim)
                    } else {
                        cell
                    }
                }));
                row
            })
            .collect();
        text.push_str(&out.rows(&headers, &rows));
    }
    output::print(&text)
}

/// Runs `licences simulate`.
///
/// # Errors
/// The server unreachable or refusing (an unknown app, a bad duration).
pub fn simulate(api: &Api, out: &Output, args: &SimulateArgs) -> Result<(), CliError> {
    let mut q = query(&args.range);
    q.push(("reclaim_after", args.reclaim_after.clone()));
    let answer: ReclaimAnswer = api.get_as(
        &format!("/api/v1/licences/{}/simulate", segment(&args.app)),
        &q,
    )?;
    if out.format == Format::Json {
        return output::print(&output::json_of(&answer));
    }
    let saved = |held: u32, needed: u32| held.saturating_sub(needed);
    let rows: Vec<Vec<Cell>> = answer
        .weeks
        .iter()
        .map(|w| {
            let s = saved(w.held.seats, w.needed.seats);
            vec![
                Cell::text(&w.week),
                Cell::text(w.held.seats.to_string()),
                Cell::text(w.needed.seats.to_string()),
                if s > 0 {
                    Cell::text(s.to_string()).tone(Tone::Good)
                } else {
                    Cell::text(s.to_string())
                },
            ]
        })
        .collect();
    let mut text = String::new();
    if out.format == Format::Table {
        text.push_str(&format!(
            "{}: seats released after {} s idle; from {} to {} ({})\npeak held {}, peak needed {}: \
             {} seats fewer would have served every week\n\n",
            answer.app,
            answer.reclaim_after_seconds,
            answer.from,
            answer.to,
            answer.time_zone,
            answer.held.seats,
            answer.needed.seats,
            saved(answer.held.seats, answer.needed.seats)
        ));
    }
    text.push_str(&out.rows(&WEEK_HEADERS, &rows));
    output::print(&text)
}
