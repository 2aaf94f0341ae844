//! The `Licences` sheet: per watched app, the peak seats held and in use over the report's range
//! and the seat-hours per state; below, per app, the hour-of-week grid of mean seats in use
//! (Monday first, in the report's zone) under a colour scale, so the week's busy hours show at a
//! glance. Written last, from the spans collected while the other sheets were walked.

use std::collections::BTreeMap;

use idlewatch_licences::seats::{self, Peak};
use jiff::tz::TimeZone;
use rust_xlsxwriter::{ConditionalFormat3ColorScale, Format, Workbook, XlsxError};

use super::excel_date;
use crate::report::cell::{EXCEL_MAX, fit};
use crate::report::seats::AppSpans;

/// The sheet's name.
pub const SHEET: &str = "Licences";

const HEADER: [&str; 9] = [
    "App",
    "PCs",
    "Peak running",
    "Peak running at",
    "Peak in use",
    "Peak in use at",
    "Interactive (h)",
    "Computing (h)",
    "Idle (h)",
];

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Writes the sheet; returns the rows of its peaks table (one per app).
///
/// # Errors
/// The workbook's.
pub fn write(
    workbook: &mut Workbook,
    apps: &BTreeMap<String, AppSpans>,
    (from_ms, to_ms): (i64, i64),
    tz: &TimeZone,
) -> Result<u64, XlsxError> {
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name(SHEET)?;
    let bold = Format::new().set_bold();
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let number = Format::new().set_num_format("0.00");
    for (col, title) in HEADER.iter().enumerate() {
        let col = u16::try_from(col).unwrap_or(0);
        sheet.write_string_with_format(0, col, *title, &bold)?;
        sheet.set_column_width(col, if col == 0 { 16.0 } else { 14.0 })?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let computed: Vec<(&AppSpans, seats::Seats)> = apps
        .values()
        .map(|a| (a, seats::seats(&a.hosts, from_ms, to_ms, tz)))
        .collect();
    let mut row = 1u32;
    for (app, s) in &computed {
        let pcs = app.pcs_running(from_ms, to_ms);
        sheet.write_string(row, 0, fit(&app.name, EXCEL_MAX))?;
        sheet.write_number(row, 1, pcs as f64)?;
        let mut peak = |col: u16, p: Peak| -> Result<(), XlsxError> {
            sheet.write_number(row, col, f64::from(p.seats))?;
            if let Some(at) = p.at_ms {
                sheet.write_number_with_format(row, col + 1, excel_date(at, tz), &datetime)?;
            }
            Ok(())
        };
        peak(2, s.peak_running)?;
        peak(4, s.peak_in_use)?;
        for (col, h) in [s.hours.interactive, s.hours.computing, s.hours.idle]
            .into_iter()
            .enumerate()
        {
            let col = u16::try_from(6 + col).unwrap_or(0);
            sheet.write_number_with_format(row, col, h, &number)?;
        }
        row += 1;
    }
    let zone = tz.iana_name().unwrap_or("UTC");
    for (app, s) in &computed {
        row += 1;
        sheet.write_string_with_format(
            row,
            0,
            fit(
                &format!(
                    "{}: mean seats in use by hour of the week ({zone})",
                    app.name
                ),
                EXCEL_MAX,
            ),
            &bold,
        )?;
        row += 1;
        sheet.write_string_with_format(row, 0, "Day", &bold)?;
        for h in 0..24u16 {
            sheet.write_string_with_format(row, 1 + h, format!("{h:02}"), &bold)?;
        }
        let first = row + 1;
        for (d, day) in DAYS.iter().enumerate() {
            row += 1;
            sheet.write_string(row, 0, *day)?;
            for h in 0..24usize {
                if let Some(mean) = s.week.mean(d, h) {
                    let col = u16::try_from(1 + h).unwrap_or(0);
                    sheet.write_number_with_format(row, col, mean, &number)?;
                }
            }
        }
        let scale = ConditionalFormat3ColorScale::new()
            .set_minimum_color("F8F9FB")
            .set_midpoint_color("FFD666")
            .set_maximum_color("D9480F");
        sheet.add_conditional_format(first, 1, row, 24, &scale)?;
        row += 1;
    }
    Ok(computed.len() as u64)
}
