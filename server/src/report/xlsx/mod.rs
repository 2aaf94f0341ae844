//! The XLSX report, streamed from the store with constant-memory worksheets:
//! `Snapshots` (one row per snapshot), `Utilization` (per host per day, with a stacked bar chart
//! of active / idle / offline hours per host), `Apps` (per watched app per host per day,
//! hours per state) and `Licences` (per watched app the peak seats and seat-hours, and the
//! hour-of-week grid of seats in use, [`licences`]). Memory stays flat whatever the range: rows are written as they are read,
//! and only one day of one host's utilization points is held at a time ([`super::stream`]).
//!
//! A report never fails on data: text is cut to what a cell holds ([`super::cell`]), watched
//! apps beyond [`MAX_APP_COLUMNS`] are counted instead of given columns ([`apps`]), and a sheet
//! past Excel's row limit continues on `Snapshots (2)` and so on ([`continued`]).

mod apps;
mod continued;
mod licences;

pub use continued::EXCEL_DATA_ROWS;

use jiff::tz::TimeZone;
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

use super::cell::{EXCEL_MAX, fit};
use crate::stores::Stores;

use super::minutes::aged_days;
use super::scan::each_summary;
use super::stream::DayStream;
use super::usage::{DayUsage, Point, Rules};
use idlewatch_protocol::WatchedState;
use idlewatch_store::SummaryRow;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Hosts, in order.
    pub hosts: Vec<String>,
    /// Capture time from (inclusive), epoch ms.
    pub from_ms: i64,
    /// Capture time to (exclusive), epoch ms.
    pub to_ms: i64,
    /// Data rows per worksheet before a sheet continues on the next ([`EXCEL_DATA_ROWS`]).
    pub rows_per_sheet: u32,
}

impl ExportRequest {
    /// `hosts` over `[from_ms, to_ms)`, with Excel's row limit.
    #[must_use]
    pub fn new(hosts: Vec<String>, from_ms: i64, to_ms: i64) -> Self {
        Self {
            hosts,
            from_ms,
            to_ms,
            rows_per_sheet: EXCEL_DATA_ROWS,
        }
    }
}

/// Most watched apps given a column of their own in `Snapshots`.
pub const MAX_APP_COLUMNS: usize = 50;

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
    /// Apps in the `Licences` sheet's peaks table.
    pub licence_apps: u64,
    /// Worksheets written (more than three when a sheet continued past Excel's row limit).
    pub sheets: usize,
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
const DAY_COLUMNS: [&str; 10] = [
    "Host",
    "Date",
    "Active (h)",
    "Idle (h)",
    "Offline (h)",
    "Open (h)",
    "Active in open hours (h)",
    "Utilization %",
    "Logons",
    "Users",
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

/// Writes the report for `request` into `out`.
///
/// # Errors
/// When the store cannot be read or the workbook cannot be written.
pub fn write_report<W>(
    store: &Stores,
    request: &ExportRequest,
    rules: &Rules,
    out: W,
) -> Result<ExportCounts, Error>
where
    W: std::io::Write + std::io::Seek + Send,
{
    let tz = &rules.time_zone;
    let apps = apps::app_columns(store, request, MAX_APP_COLUMNS)?;
    let mut workbook = Workbook::new();
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let number = Format::new().set_num_format("0.00");
    let rows = request.rows_per_sheet;
    let mut names: Vec<String> = SNAPSHOT_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
    names.extend(apps.names.iter().map(|a| fit(a, EXCEL_MAX).into_owned()));
    let mut widths = vec![20.0, 20.0, 18.0, 9.0, 11.0, 8.0, 10.0, 22.0, 10.0];
    widths.extend(apps.names.iter().map(|_| 12.0));
    if apps.capped {
        names.push(OTHER_APPS.to_owned());
        widths.push(18.0);
    }
    let owned = |cols: &[&str]| cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let mut snapshots = continued::Continued::new(&mut workbook, "Snapshots", names, widths, rows)?;
    let mut utilization = continued::Continued::new(
        &mut workbook,
        "Utilization",
        owned(&DAY_COLUMNS),
        vec![18.0, 12.0, 10.0, 10.0, 11.0, 10.0, 14.0, 13.0, 8.0, 8.0],
        rows,
    )?;
    let mut app_days = continued::Continued::new(
        &mut workbook,
        "Apps",
        owned(&APP_COLUMNS),
        vec![18.0, 12.0, 12.0, 14.0, 14.0, 10.0, 15.0],
        rows,
    )?;
    let mut counts = ExportCounts::default();
    let mut seats = super::seats::Collector::new(request.from_ms, request.to_ms, rules);
    let mut host_totals: Vec<(String, f64, f64, f64)> = Vec::new();
    for host in &request.hosts {
        // Minutes up to where the host's whole snapshots start, snapshots from there.
        let detail_from = store.detail_from(host)?;
        let split = detail_from
            .unwrap_or(i64::MIN)
            .clamp(request.from_ms, request.to_ms);
        let mut days = Vec::new();
        // The last day read from minutes, finished by the snapshots when they start mid-day.
        let mut carry = None;
        if request.from_ms < split {
            let mut aged =
                aged_days::<Error>(store, host, request.from_ms, split, detail_from, rules)?;
            carry = aged.pop();
            days = aged;
            let cover_ms = seats.lead_ms();
            let aged = super::seats::host_spans(store, host, request.from_ms, split, cover_ms)?;
            seats.extend(aged, split);
            let (sheet, r) = snapshots.next_row(&mut workbook)?;
            write_aged_note(sheet, r, host, split, tz, &datetime)?;
            counts.snapshots += 1;
        }
        let mut totals = (0.0, 0.0, 0.0);
        let mut write_days = |workbook: &mut Workbook, days: &mut Vec<DayUsage>| {
            for day in days.drain(..) {
                let (sheet, r) = utilization.next_row(workbook)?;
                write_day(sheet, r, host, &day, &date, &number)?;
                totals.0 += day.active_ms as f64 / HOUR_MS;
                totals.1 += day.idle_ms as f64 / HOUR_MS;
                totals.2 += day.offline_ms as f64 / HOUR_MS;
                counts.days += 1;
                counts.app_days +=
                    write_app_days(workbook, &mut app_days, host, &day, &date, &number)?;
            }
            Ok::<(), Error>(())
        };
        write_days(&mut workbook, &mut days)?;
        if split < request.to_ms {
            let mut stream = DayStream::new(split, request.to_ms, rules)?;
            // The snapshot before covers the start, as in the usage API.
            if let Some(lead) = store.record_before(host, i64::MIN, split)? {
                seats.push(lead.captured_ms, &lead.summary.apps);
                stream.push(Point::of(lead.captured_ms, &lead.summary), &mut |d| {
                    merge_day(&mut carry, &mut days, d);
                    Ok::<(), Error>(())
                })?;
            }
            each_summary(store, host, split, request.to_ms, |row| {
                let (sheet, r) = snapshots.next_row(&mut workbook)?;
                write_snapshot(sheet, r, host, row, &apps, tz, &datetime)?;
                counts.snapshots += 1;
                seats.push(row.captured_ms, &row.summary.apps);
                stream.push(Point::of(row.captured_ms, &row.summary), &mut |d| {
                    merge_day(&mut carry, &mut days, d);
                    Ok::<(), Error>(())
                })?;
                write_days(&mut workbook, &mut days)
            })?;
            stream.finish(&mut |d| {
                merge_day(&mut carry, &mut days, d);
                Ok::<(), Error>(())
            })?;
        }
        days.extend(carry.take());
        write_days(&mut workbook, &mut days)?;
        seats.end_host();
        host_totals.push((host.clone(), totals.0, totals.1, totals.2));
    }
    let snapshot_cols = 8 + apps.names.len() + usize::from(apps.capped);
    snapshots.finish(
        &mut workbook,
        u16::try_from(snapshot_cols).unwrap_or(u16::MAX),
    )?;
    app_days.finish(&mut workbook, 6)?;
    utilization.finish(&mut workbook, 7)?;
    totals_chart(&mut workbook, &mut utilization, &host_totals)?;
    counts.licence_apps = licences::write(
        &mut workbook,
        &seats.finish(),
        (request.from_ms, request.to_ms),
        tz,
    )?;
    counts.sheets = snapshots.parts() + utilization.parts() + app_days.parts() + 1;
    workbook.save_to_writer(out)?;
    Ok(counts)
}

/// Adds `day` to `days` — into `carry` (the last day read from minutes) when it is the same
/// date, after it otherwise.
fn merge_day(carry: &mut Option<DayUsage>, days: &mut Vec<DayUsage>, day: DayUsage) {
    match carry.take() {
        Some(mut c) if c.date == day.date => {
            c.absorb(&day);
            *carry = Some(c);
        }
        Some(c) => {
            days.push(c);
            days.push(day);
        }
        None => days.push(day),
    }
}

/// The `Snapshots` row that says where a host's whole snapshots start: before it they were
/// folded into minutes, which the `Utilization` and `Apps` sheets still count.
fn write_aged_note(
    sheet: &mut Worksheet,
    r: u32,
    host: &str,
    detail_from: i64,
    tz: &TimeZone,
    datetime: &Format,
) -> Result<(), XlsxError> {
    sheet.write_number_with_format(r, 1, excel_date(detail_from, tz), datetime)?;
    sheet.write_string(r, 2, fit(host, EXCEL_MAX))?;
    sheet.write_string(
        r,
        3,
        "Snapshots kept from here: earlier ones were folded into minutes \
         (counted in Utilization and Apps)",
    )?;
    Ok(())
}

/// One `Snapshots` row.
fn write_snapshot(
    sheet: &mut Worksheet,
    r: u32,
    host: &str,
    row: &SummaryRow,
    apps: &apps::AppColumns,
    tz: &TimeZone,
    datetime: &Format,
) -> Result<(), XlsxError> {
    let f = &row.summary;
    sheet.write_number_with_format(r, 0, excel_date(row.received_ms, tz), datetime)?;
    sheet.write_number_with_format(r, 1, excel_date(row.captured_ms, tz), datetime)?;
    sheet.write_string(r, 2, fit(host, EXCEL_MAX))?;
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
        sheet.write_string(r, 7, fit(fg, EXCEL_MAX))?;
    }
    if let Some(n) = f.processes {
        sheet.write_number(r, 8, n as f64)?;
    }
    let mut others = 0u32;
    for (name, state) in &f.apps {
        match apps.names.binary_search(name) {
            Ok(i) => {
                let col = u16::try_from(9 + i).unwrap_or(u16::MAX);
                sheet.write_string(r, col, state.as_str())?;
            }
            Err(_) if *state != WatchedState::NotRunning => others += 1,
            Err(_) => {}
        }
    }
    if apps.capped {
        let col = u16::try_from(9 + apps.names.len()).unwrap_or(u16::MAX);
        sheet.write_number(r, col, f64::from(others))?;
    }
    Ok(())
}

/// The `Apps` rows of one host's day; returns how many.
fn write_app_days(
    workbook: &mut Workbook,
    sheet: &mut continued::Continued,
    host: &str,
    day: &DayUsage,
    date: &Format,
    number: &Format,
) -> Result<u64, XlsxError> {
    for (app, t) in &day.apps {
        let (ws, r) = sheet.next_row(workbook)?;
        ws.write_string(r, 0, fit(host, EXCEL_MAX))?;
        ws.write_number_with_format(r, 1, day_serial(day), date)?;
        ws.write_string(r, 2, fit(app, EXCEL_MAX))?;
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
            ws.write_number_with_format(r, col, ms as f64 / HOUR_MS, number)?;
        }
    }
    Ok(day.apps.len() as u64)
}

/// Title of the column counting the running apps without a column of their own.
const OTHER_APPS: &str = "Other apps running";

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
    sheet.write_string(row, 0, fit(host, EXCEL_MAX))?;
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
    sheet.write_number(row, 8, day.logons as f64)?;
    sheet.write_number(row, 9, day.users.len() as f64)?;
    Ok(())
}

/// The per-host totals below the utilization rows (constant-memory sheets take rows in
/// order), and a stacked bar chart of them when they sit on one worksheet.
fn totals_chart(
    workbook: &mut Workbook,
    utilization: &mut continued::Continued,
    totals: &[(String, f64, f64, f64)],
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    // A blank row, then the table's header.
    utilization.next_row(workbook)?;
    let (sheet, head) = utilization.next_row(workbook)?;
    for (col, name) in ["Host", "Active (h)", "Idle (h)", "Offline (h)"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(head, u16::try_from(col).unwrap_or(0), *name, &bold)?;
    }
    let (first_sheet, _) = utilization.position();
    for (host, a, idle, off) in totals {
        let (sheet, r) = utilization.next_row(workbook)?;
        sheet.write_string(r, 0, fit(host, EXCEL_MAX))?;
        sheet.write_number(r, 1, *a)?;
        sheet.write_number(r, 2, *idle)?;
        sheet.write_number(r, 3, *off)?;
    }
    let (last_sheet, last) = utilization.position();
    if totals.is_empty() || first_sheet != last_sheet {
        return Ok(());
    }
    let mut chart = Chart::new(ChartType::BarStacked);
    for (col, name) in [(1u16, "Active"), (2, "Idle"), (3, "Offline")] {
        chart
            .add_series()
            .set_name(name)
            .set_categories((last_sheet.as_str(), head + 1, 0, last, 0))
            .set_values((last_sheet.as_str(), head + 1, col, last, col));
    }
    chart
        .title()
        .set_name("Hours per host: active, idle, offline");
    workbook
        .worksheet_from_name(&last_sheet)?
        .insert_chart(1, 9, &chart)?;
    Ok(())
}
