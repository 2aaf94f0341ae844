//! The XLSX report, streamed from the store with constant-memory worksheets:
//! `Snapshots` (one row per snapshot), `Utilization` (per host per day, with a stacked bar chart
//! of active / idle / offline hours per host) and `Apps` (per watched app per host per day,
//! hours per state). Memory stays flat whatever the range: rows are written as they are read,
//! and only one host's utilization points are held at a time.

use std::collections::BTreeSet;

use idlewatch_store::{HistoryQuery, Store};
use jiff::tz::TimeZone;
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

use super::scan::each_summary;
use super::usage::{DayUsage, Point, Rules, host_days};

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Hosts, in order.
    pub hosts: Vec<String>,
    /// Capture time from (inclusive), epoch ms.
    pub from_ms: i64,
    /// Capture time to (exclusive), epoch ms.
    pub to_ms: i64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store could not be read.
    #[error("reading the store: {0}")]
    Store(#[from] idlewatch_store::Error),
    /// The workbook could not be written.
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
    /// A time outside the time zone library's range.
    #[error("time conversion: {0}")]
    Time(#[from] jiff::Error),
}

/// Rows written per sheet (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportCounts {
    /// Data rows of `Snapshots`.
    pub snapshots: u64,
    /// Data rows of `Utilization`.
    pub days: u64,
    /// Data rows of `Apps`.
    pub app_days: u64,
}

const HOUR_MS: f64 = 3_600_000.0;
const SNAPSHOT_COLUMNS: [&str; 9] = [
    "Received",
    "Captured",
    "Host",
    "Idle (s)",
    "User active",
    "CPU %",
    "Memory %",
    "Foreground process",
    "Processes",
];
const DAY_COLUMNS: [&str; 8] = [
    "Host",
    "Date",
    "Active (h)",
    "Idle (h)",
    "Offline (h)",
    "Open (h)",
    "Active in open hours (h)",
    "Utilization %",
];
const APP_COLUMNS: [&str; 7] = [
    "Host",
    "Date",
    "App",
    "Interactive (h)",
    "Computing (h)",
    "Idle (h)",
    "Not running (h)",
];

/// Excel's serial date of epoch ms, in `tz`'s local time.
fn excel_date(ms: i64, tz: &TimeZone) -> f64 {
    let offset_ms = jiff::Timestamp::from_millisecond(ms)
        .map(|t| i64::from(tz.to_offset(t).seconds()) * 1000)
        .unwrap_or(0);
    (ms + offset_ms) as f64 / 86_400_000.0 + 25_569.0
}

fn header(
    sheet: &mut Worksheet,
    names: &[&str],
    bold: &Format,
    widths: &[f64],
) -> Result<(), XlsxError> {
    for (col, (name, width)) in names.iter().zip(widths).enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet.write_string_with_format(0, col, *name, bold)?;
        sheet.set_column_width(col, *width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Which watched apps appear in the range (one `Snapshots` column each): a first pass over
/// each host's latest snapshot is not enough, so the apps come from the whole range's first
/// page per host, plus the apps of the Python original.
fn app_columns(store: &Store, request: &ExportRequest) -> Result<Vec<String>, Error> {
    let mut apps: BTreeSet<String> = idlewatch_protocol::LEGACY_APPS
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    for host in &request.hosts {
        let page = store.summaries(&HistoryQuery {
            host: host.clone(),
            from_ms: Some(request.from_ms),
            to_ms: Some(request.to_ms),
            limit: 50,
            after: None,
        });
        if let Ok(page) = page {
            for row in &page.rows {
                apps.extend(row.summary.apps.iter().map(|(n, _)| n.clone()));
            }
        }
    }
    Ok(apps.into_iter().collect())
}

/// Writes the report for `request` into `out`.
///
/// # Errors
/// When the store cannot be read or the workbook cannot be written.
pub fn write_report<W>(
    store: &Store,
    request: &ExportRequest,
    rules: &Rules,
    out: W,
) -> Result<ExportCounts, Error>
where
    W: std::io::Write + std::io::Seek + Send,
{
    let tz = &rules.time_zone;
    let apps = app_columns(store, request)?;
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let number = Format::new().set_num_format("0.00");
    {
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Snapshots")?;
        let mut names: Vec<String> = SNAPSHOT_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
        names.extend(apps.iter().cloned());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut widths = vec![20.0, 20.0, 18.0, 9.0, 11.0, 8.0, 10.0, 22.0, 10.0];
        widths.extend(apps.iter().map(|_| 12.0));
        header(sheet, &refs, &bold, &widths)?;
    }
    {
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Utilization")?;
        header(
            sheet,
            &DAY_COLUMNS,
            &bold,
            &[18.0, 12.0, 10.0, 10.0, 11.0, 10.0, 14.0, 13.0],
        )?;
    }
    {
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Apps")?;
        header(
            sheet,
            &APP_COLUMNS,
            &bold,
            &[18.0, 12.0, 12.0, 14.0, 14.0, 10.0, 15.0],
        )?;
    }
    let mut counts = ExportCounts::default();
    let mut snapshot_row = 1u32;
    let mut day_row = 1u32;
    let mut app_row = 1u32;
    let mut host_totals: Vec<(String, f64, f64, f64)> = Vec::new();
    for host in &request.hosts {
        let mut points = Vec::new();
        let sheet = workbook.worksheet_from_index(0)?;
        each_summary(store, host, request.from_ms, request.to_ms, |row| {
            let r = snapshot_row;
            let f = &row.summary;
            sheet.write_number_with_format(r, 0, excel_date(row.received_ms, tz), &datetime)?;
            sheet.write_number_with_format(r, 1, excel_date(row.captured_ms, tz), &datetime)?;
            sheet.write_string(r, 2, host)?;
            if let Some(idle) = f.idle_seconds {
                sheet.write_number(r, 3, idle)?;
            }
            if let Some(active) = f.user_active {
                sheet.write_boolean(r, 4, active)?;
            }
            if let Some(cpu) = f.cpu_percent {
                sheet.write_number(r, 5, cpu)?;
            }
            if let Some(mem) = f.memory_percent {
                sheet.write_number(r, 6, mem)?;
            }
            if let Some(fg) = &f.foreground_process {
                sheet.write_string(r, 7, fg)?;
            }
            if let Some(n) = f.processes {
                sheet.write_number(r, 8, n as f64)?;
            }
            for (i, app) in apps.iter().enumerate() {
                if let Some((_, state)) = f.apps.iter().find(|(n, _)| n == app) {
                    let col = u16::try_from(9 + i).unwrap_or(u16::MAX);
                    sheet.write_string(r, col, state.as_str())?;
                }
            }
            snapshot_row += 1;
            counts.snapshots += 1;
            points.push(Point::of(row.captured_ms, f));
            Ok::<(), Error>(())
        })?;
        let days = host_days(&points, request.from_ms, request.to_ms, rules)?;
        let (mut active, mut idle, mut offline) = (0.0, 0.0, 0.0);
        {
            let sheet = workbook.worksheet_from_index(1)?;
            for day in &days {
                write_day(sheet, day_row, host, day, &date, &number)?;
                active += day.active_ms as f64 / HOUR_MS;
                idle += day.idle_ms as f64 / HOUR_MS;
                offline += day.offline_ms as f64 / HOUR_MS;
                day_row += 1;
                counts.days += 1;
            }
        }
        let sheet = workbook.worksheet_from_index(2)?;
        for day in &days {
            for (app, t) in &day.apps {
                sheet.write_string(app_row, 0, host)?;
                sheet.write_number_with_format(app_row, 1, day_serial(day), &date)?;
                sheet.write_string(app_row, 2, app)?;
                for (col, ms) in [
                    t.interactive_ms,
                    t.computing_ms,
                    t.idle_ms,
                    t.not_running_ms,
                ]
                .into_iter()
                .enumerate()
                {
                    let col = u16::try_from(3 + col).unwrap_or(u16::MAX);
                    sheet.write_number_with_format(app_row, col, ms as f64 / HOUR_MS, &number)?;
                }
                app_row += 1;
                counts.app_days += 1;
            }
        }
        host_totals.push((host.clone(), active, idle, offline));
    }
    finish_sheets(
        &mut workbook,
        snapshot_row,
        day_row,
        app_row,
        apps.len(),
        &host_totals,
    )?;
    workbook.save_to_writer(out)?;
    Ok(counts)
}

fn day_serial(day: &DayUsage) -> f64 {
    let days = day
        .date
        .since(jiff::civil::date(1970, 1, 1))
        .map_or(0, |s| s.get_days());
    f64::from(days) + 25_569.0
}

fn write_day(
    sheet: &mut Worksheet,
    row: u32,
    host: &str,
    day: &DayUsage,
    date: &Format,
    number: &Format,
) -> Result<(), XlsxError> {
    sheet.write_string(row, 0, host)?;
    sheet.write_number_with_format(row, 1, day_serial(day), date)?;
    for (col, ms) in [
        day.active_ms,
        day.idle_ms,
        day.offline_ms,
        day.open_ms,
        day.active_open_ms,
    ]
    .into_iter()
    .enumerate()
    {
        let col = u16::try_from(2 + col).unwrap_or(u16::MAX);
        sheet.write_number_with_format(row, col, ms as f64 / HOUR_MS, number)?;
    }
    if let Some(u) = day.utilization() {
        sheet.write_number_with_format(row, 7, u * 100.0, number)?;
    }
    Ok(())
}

/// Autofilters on every sheet, and the per-host totals chart (its data in a small table to the
/// right of the utilization rows).
fn finish_sheets(
    workbook: &mut Workbook,
    snapshot_rows: u32,
    day_rows: u32,
    app_rows: u32,
    app_count: usize,
    totals: &[(String, f64, f64, f64)],
) -> Result<(), XlsxError> {
    let last_snapshot_col = u16::try_from(8 + app_count).unwrap_or(u16::MAX);
    workbook.worksheet_from_index(0)?.autofilter(
        0,
        0,
        snapshot_rows.saturating_sub(1).max(1),
        last_snapshot_col,
    )?;
    workbook
        .worksheet_from_index(2)?
        .autofilter(0, 0, app_rows.saturating_sub(1).max(1), 6)?;
    let sheet = workbook.worksheet_from_index(1)?;
    sheet.autofilter(0, 0, day_rows.saturating_sub(1).max(1), 7)?;
    // Constant-memory sheets take rows in order: the totals table goes below the day rows.
    let top = day_rows + 2;
    let bold = Format::new().set_bold();
    for (col, name) in ["Host", "Active (h)", "Idle (h)", "Offline (h)"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(top, u16::try_from(col).unwrap_or(0), *name, &bold)?;
    }
    for (i, (host, a, idle, off)) in totals.iter().enumerate() {
        let r = top + 1 + u32::try_from(i).unwrap_or(u32::MAX);
        sheet.write_string(r, 0, host)?;
        sheet.write_number(r, 1, *a)?;
        sheet.write_number(r, 2, *idle)?;
        sheet.write_number(r, 3, *off)?;
    }
    if !totals.is_empty() {
        let last = top + u32::try_from(totals.len()).unwrap_or(u32::MAX);
        let mut chart = Chart::new(ChartType::BarStacked);
        for (col, name) in [(1u16, "Active"), (2, "Idle"), (3, "Offline")] {
            chart
                .add_series()
                .set_name(name)
                .set_categories(("Utilization", top + 1, 0, last, 0))
                .set_values(("Utilization", top + 1, col, last, col));
        }
        chart
            .title()
            .set_name("Hours per host: active, idle, offline");
        sheet.insert_chart(1, 9, &chart)?;
    }
    Ok(())
}
