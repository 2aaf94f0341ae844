//! The rows written to the three tabs. Values are sent as RAW (never parsed by Sheets, so a host
//! or process name starting with `=` stays text); times are spreadsheet serial numbers shown
//! through the date formats set on their columns when the tabs are created. Text from agents
//! (names, the foreground app, watched apps) is cut to [`SHEETS_MAX`] characters with a `…`.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::registry::HostView;
use crate::report::cell::{SHEETS_MAX, fit};
use crate::report::usage::DayUsage;

/// `Status` columns.
pub const STATUS_HEADER: [&str; 10] = [
    "Group",
    "Host",
    "Online",
    "Idle (s)",
    "User active",
    "Foreground app",
    "Watched apps",
    "CPU %",
    "Memory %",
    "Last seen",
];
/// The `Status` column holding a date-time (0-based).
pub const STATUS_TIME_COLUMN: usize = 9;

/// `Utilization` columns.
pub const UTILIZATION_HEADER: [&str; 12] = [
    "Date",
    "Group",
    "Host",
    "Active (h)",
    "Idle (h)",
    "Offline (h)",
    "Open (h)",
    "Active in open hours (h)",
    "Utilization %",
    "Watched apps (h in use / idle)",
    "Logons",
    "Users",
];
/// The `Utilization` column holding a date (0-based).
pub const UTILIZATION_DATE_COLUMN: usize = 0;

/// `Licences` columns.
pub const LICENCES_HEADER: [&str; 8] = [
    "Date",
    "App",
    "PCs",
    "Peak running",
    "Peak in use",
    "Interactive (h)",
    "Computing (h)",
    "Idle (h)",
];
/// The `Licences` column holding a date (0-based).
pub const LICENCES_DATE_COLUMN: usize = 0;

const HOUR_MS: f64 = 3_600_000.0;

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or_else(|| json!(""), Into::into)
}

/// A text cell, cut to what a cell should hold.
fn text(s: &str) -> Value {
    json!(fit(s, SHEETS_MAX))
}

/// A spreadsheet serial date-time (days since 1899-12-30) of `at`, in `tz`'s local time.
#[must_use]
pub fn serial(at: SystemTime, tz: &TimeZone) -> f64 {
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let offset_ms = jiff::Timestamp::from_millisecond(ms)
        .map(|t| i64::from(tz.to_offset(t).seconds()) * 1000)
        .unwrap_or(0);
    round((ms + offset_ms) as f64 / 86_400_000.0 + 25_569.0, 8)
}

/// One `Status` row per host, sorted as given.
#[must_use]
pub fn status_rows(
    views: &[HostView],
    group_of: impl Fn(&str) -> Option<String>,
    tz: &TimeZone,
) -> Vec<Vec<Value>> {
    views
        .iter()
        .map(|view| {
            let f = view.latest.as_deref().map(|l| l.fields());
            let watched = f
                .map(|f| {
                    f.watched_apps()
                        .into_iter()
                        .filter_map(|(name, app)| Some(format!("{name}: {}", app.state?.as_str())))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            vec![
                text(&group_of(&view.host).unwrap_or_default()),
                text(&view.host),
                json!(view.online),
                opt(f.and_then(|f| f.idle()).map(|s| round(s, 0))),
                opt(f.and_then(|f| f.user_active)),
                opt(f.and_then(|f| f.foreground_process.as_deref()).map(text)),
                text(&watched),
                opt(f.and_then(|f| f.cpu_percent).map(|c| round(c, 1))),
                opt(f.and_then(|f| f.memory_percent).map(|m| round(m, 1))),
                json!(serial(view.last_seen, tz)),
            ]
        })
        .collect()
}

/// The spreadsheet serial number of a local date.
#[must_use]
pub fn date_serial(date: jiff::civil::Date) -> f64 {
    let days = date
        .since(jiff::civil::date(1970, 1, 1))
        .map_or(0, |s| s.get_days());
    f64::from(days) + 25_569.0
}

/// One `Utilization` row: a host's day.
#[must_use]
pub fn utilization_row(host: &str, group: Option<&str>, day: &DayUsage) -> Vec<Value> {
    let hours = |ms: i64| json!(round(ms as f64 / HOUR_MS, 2));
    let apps = day
        .apps
        .iter()
        .map(|(name, t)| {
            format!(
                "{name}: {:.2} / {:.2}",
                (t.interactive_ms + t.computing_ms) as f64 / HOUR_MS,
                t.idle_ms as f64 / HOUR_MS
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        json!(date_serial(day.date)),
        text(group.unwrap_or_default()),
        text(host),
        hours(day.active_ms),
        hours(day.idle_ms),
        hours(day.offline_ms),
        hours(day.open_ms),
        hours(day.active_open_ms),
        opt(day.utilization().map(|u| round(u * 100.0, 1))),
        text(&apps),
        json!(day.logons),
        json!(day.users.len()),
    ]
}

/// One `Licences` row: a watched app's day across the PCs, `pcs` of which ran it.
#[must_use]
pub fn licences_row(
    date: jiff::civil::Date,
    app: &str,
    pcs: usize,
    seats: &idlewatch_licences::seats::Seats,
) -> Vec<Value> {
    vec![
        json!(date_serial(date)),
        text(app),
        json!(pcs),
        json!(seats.peak_running.seats),
        json!(seats.peak_in_use.seats),
        json!(round(seats.hours.interactive, 2)),
        json!(round(seats.hours.computing, 2)),
        json!(round(seats.hours.idle, 2)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::usage::AppTime;

    #[test]
    fn a_utilization_row_has_hours_and_the_date_serial() {
        let mut day = DayUsage {
            date: jiff::civil::date(2026, 11, 25),
            active_ms: 9_000_000,
            idle_ms: 1_800_000,
            offline_ms: 75_600_000,
            open_ms: 36_000_000,
            active_open_ms: 9_000_000,
            apps: Default::default(),
            logons: 3,
            users: ["ana".to_owned(), "bo".to_owned()].into(),
        };
        day.apps.insert(
            "Ansys".to_owned(),
            AppTime {
                interactive_ms: 3_600_000,
                computing_ms: 1_800_000,
                idle_ms: 900_000,
                not_running_ms: 0,
            },
        );
        let row = utilization_row("=cmd", Some("Lab A"), &day);
        // 2026-11-25 is serial 46351 in Excel and Sheets.
        assert_eq!(row[0], json!(46351.0));
        assert_eq!(row[1], json!("Lab A"));
        assert_eq!(row[2], json!("=cmd"));
        assert_eq!(row[3], json!(2.5));
        assert_eq!(row[5], json!(21.0));
        assert_eq!(row[8], json!(25.0));
        assert_eq!(row[9], json!("Ansys: 1.50 / 0.25"));
        assert_eq!(
            (&row[10], &row[11]),
            (&json!(3), &json!(2)),
            "logons and users"
        );
        assert_eq!(row.len(), UTILIZATION_HEADER.len());
    }

    #[test]
    fn status_text_from_agents_is_cut_visibly() {
        let fg = "x".repeat(40_000);
        let snapshot = idlewatch_protocol::Snapshot::parse(&format!(
            r#"{{"host":"pc","foreground_process":"{fg}"}}"#
        ))
        .unwrap();
        let registry = crate::registry::HostRegistry::new(std::time::Duration::from_secs(600));
        registry.record(&snapshot, SystemTime::now());
        let rows = status_rows(
            &registry.views(SystemTime::now()),
            |_| Some("g".repeat(5_000)),
            &TimeZone::UTC,
        );
        let cell = rows[0][5].as_str().unwrap();
        assert_eq!(cell.chars().count(), SHEETS_MAX);
        assert!(cell.ends_with('…'));
        assert!(rows[0][0].as_str().unwrap().ends_with('…'));
        assert_eq!(rows[0][1], "pc");
    }

    #[test]
    fn serial_is_local_time() {
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_795_680_000); // 2026-11-26T08:00Z
        let sp = TimeZone::get("America/Sao_Paulo").unwrap();
        assert!((serial(at, &TimeZone::UTC) - (46352.0 + 8.0 / 24.0)).abs() < 1e-6);
        assert!((serial(at, &sp) - (46352.0 + 5.0 / 24.0)).abs() < 1e-6);
    }
}
