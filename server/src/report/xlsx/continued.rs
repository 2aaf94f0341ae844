//! One logical sheet written over as many worksheets as its rows need: `Snapshots`, then
//! `Snapshots (2)`, ... each with the same bold, frozen header, once a worksheet holds Excel's
//! 1,048,575 data rows. Worksheets are constant-memory, so each takes its rows in order.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

/// Data rows Excel allows on one worksheet (its 1,048,576 rows less the header).
pub const EXCEL_DATA_ROWS: u32 = 1_048_575;

/// A sheet that continues on new worksheets.
pub(super) struct Continued {
    base: &'static str,
    header: Vec<String>,
    widths: Vec<f64>,
    rows_per_sheet: u32,
    /// Workbook index and data rows written, per worksheet, in order.
    parts: Vec<(usize, u32)>,
}

impl Continued {
    /// Adds the first worksheet, named `base`, with its header.
    pub(super) fn new(
        workbook: &mut Workbook,
        base: &'static str,
        header: Vec<String>,
        widths: Vec<f64>,
        rows_per_sheet: u32,
    ) -> Result<Self, XlsxError> {
        let mut me = Self {
            base,
            header,
            widths,
            rows_per_sheet: rows_per_sheet.clamp(1, EXCEL_DATA_ROWS),
            parts: Vec::new(),
        };
        me.add_part(workbook)?;
        Ok(me)
    }

    fn add_part(&mut self, workbook: &mut Workbook) -> Result<(), XlsxError> {
        let index = workbook.worksheets().len();
        let name = part_name(self.base, self.parts.len() + 1);
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(&name)?;
        let bold = Format::new().set_bold();
        for (col, (title, width)) in self.header.iter().zip(&self.widths).enumerate() {
            let col = u16::try_from(col).unwrap_or(u16::MAX);
            sheet.write_string_with_format(0, col, title, &bold)?;
            sheet.set_column_width(col, *width)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        self.parts.push((index, 0));
        Ok(())
    }

    /// The worksheet and row number of the next data row, on a new worksheet when the current
    /// one is full.
    pub(super) fn next_row<'w>(
        &mut self,
        workbook: &'w mut Workbook,
    ) -> Result<(&'w mut Worksheet, u32), XlsxError> {
        if self.parts.last().is_none_or(|p| p.1 >= self.rows_per_sheet) {
            self.add_part(workbook)?;
        }
        let Some(part) = self.parts.last_mut() else {
            unreachable!("a part was just added")
        };
        part.1 += 1;
        let row = part.1;
        Ok((workbook.worksheet_from_index(part.0)?, row))
    }

    /// The current worksheet's name and its last data row.
    pub(super) fn position(&self) -> (String, u32) {
        (
            part_name(self.base, self.parts.len()),
            self.parts.last().map_or(0, |p| p.1),
        )
    }

    /// Puts an autofilter over each worksheet's header and rows, columns `0..=last_col`.
    pub(super) fn finish(&self, workbook: &mut Workbook, last_col: u16) -> Result<(), XlsxError> {
        for (index, rows) in &self.parts {
            workbook
                .worksheet_from_index(*index)?
                .autofilter(0, 0, (*rows).max(1), last_col)?;
        }
        Ok(())
    }

    /// Worksheets used.
    pub(super) fn parts(&self) -> usize {
        self.parts.len()
    }
}

/// `Snapshots`, `Snapshots (2)`, ...
fn part_name(base: &str, part: usize) -> String {
    if part <= 1 {
        base.to_owned()
    } else {
        format!("{base} ({part})")
    }
}
