//! A snapshot's JSON as structure: the text around its process table as one template with
//! numbers, the separator between rows, the distinct row templates in order of first use, and
//! each row as a template id and its numbers. [`Parsed::render`] gives the text back.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::split::split;
use super::template::{NUMBER, arity, render, tokenize};

/// Marks where the rows go in the surround's template.
pub(crate) const ROWS: u8 = 1;

/// One row: its template and where its numbers are in [`Parsed::numbers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) template: u32,
    pub(crate) start: u32,
    pub(crate) len: u32,
}

/// A snapshot's JSON as structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Head, [`ROWS`], tail: the raw text (a dictionary when the template changes).
    pub(crate) surround_text: Vec<u8>,
    pub(crate) surround: Vec<u8>,
    pub(crate) surround_numbers: Vec<i64>,
    pub(crate) sep: Vec<u8>,
    pub(crate) templates: Vec<Vec<u8>>,
    /// How many numbers each template takes.
    pub(crate) arities: Vec<u32>,
    ids: HashMap<Vec<u8>, u32, RandomState>,
    pub(crate) rows: Vec<Row>,
    pub(crate) numbers: Vec<i64>,
}

impl Parsed {
    /// The structure of `json`; `None` when its shape is not one a delta can describe (it is
    /// then stored whole).
    pub(crate) fn of(json: &[u8]) -> Option<Self> {
        if memchr::memchr2(NUMBER, ROWS, json).is_some() {
            // Not JSON text; its bytes would be taken for the markers.
            return None;
        }
        let parts = split(json)?;
        let mut parsed = Self {
            sep: parts.sep.to_vec(),
            ..Self::default()
        };
        parsed.set_surround_text(&[parts.head, &[ROWS], parts.tail].concat());
        let mut scratch = Vec::with_capacity(128);
        for row in &parts.rows {
            scratch.clear();
            let start = parsed.numbers.len();
            tokenize(row, &mut scratch, &mut parsed.numbers);
            let template = parsed.intern(&scratch);
            parsed.rows.push(Row {
                template,
                start: u32::try_from(start).ok()?,
                len: u32::try_from(parsed.numbers.len() - start).ok()?,
            });
        }
        Some(parsed)
    }

    /// Sets the surround from its text (head, [`ROWS`], tail).
    pub(crate) fn set_surround_text(&mut self, text: &[u8]) {
        self.surround.clear();
        self.surround_numbers.clear();
        tokenize(text, &mut self.surround, &mut self.surround_numbers);
        self.surround_text = text.to_vec();
    }

    /// The id of `template`, adding it when new.
    pub(crate) fn intern(&mut self, template: &[u8]) -> u32 {
        if let Some(id) = self.ids.get(template) {
            return *id;
        }
        let id = u32::try_from(self.templates.len()).unwrap_or(u32::MAX);
        self.templates.push(template.to_vec());
        self.arities
            .push(u32::try_from(arity(template)).unwrap_or(u32::MAX));
        self.ids.insert(template.to_vec(), id);
        id
    }

    /// The id of `template` if known.
    pub(crate) fn id_of(&self, template: &[u8]) -> Option<u32> {
        self.ids.get(template).copied()
    }

    /// Row `i`'s numbers.
    pub(crate) fn row_numbers(&self, row: Row) -> &[i64] {
        &self.numbers[row.start as usize..(row.start + row.len) as usize]
    }

    /// The JSON text back; `None` when the parts do not fit together.
    #[cfg(test)]
    pub(crate) fn render(&self) -> Option<Vec<u8>> {
        let templates: Vec<&[u8]> = self.templates.iter().map(Vec::as_slice).collect();
        Text {
            surround: &self.surround,
            surround_numbers: &self.surround_numbers,
            sep: &self.sep,
            templates: &templates,
            rows: &self.rows,
            numbers: &self.numbers,
        }
        .render()
    }
}

/// The parts of a snapshot's text, borrowed: what a decoded delta is rendered from.
pub(crate) struct Text<'a> {
    pub(crate) surround: &'a [u8],
    pub(crate) surround_numbers: &'a [i64],
    pub(crate) sep: &'a [u8],
    pub(crate) templates: &'a [&'a [u8]],
    pub(crate) rows: &'a [Row],
    pub(crate) numbers: &'a [i64],
}

impl Text<'_> {
    /// The JSON text; `None` when the parts do not fit together.
    pub(crate) fn render(&self) -> Option<Vec<u8>> {
        let mut surround = Vec::with_capacity(self.surround.len() + 32);
        render(self.surround, self.surround_numbers, &mut surround)?;
        let at = surround.iter().position(|b| *b == ROWS)?;
        let mut out = Vec::with_capacity(surround.len() + self.rows.len() * 110);
        out.extend_from_slice(&surround[..at]);
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(self.sep);
            }
            let numbers = self
                .numbers
                .get(row.start as usize..(row.start + row.len) as usize)?;
            render(
                self.templates.get(row.template as usize)?,
                numbers,
                &mut out,
            )?;
        }
        out.extend_from_slice(&surround[at + 1..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_renders_back_and_shares_templates() {
        let json = br#"{"host":"a","cpu_percent":1.5,"processes":[{"pid":1,"name":"x","c":0.0},{"pid":2,"name":"x","c":1.5},{"pid":3,"name":"y","c":0.0}],"seq":9}"#;
        let parsed = Parsed::of(json).unwrap();
        assert_eq!(parsed.templates.len(), 2);
        assert_eq!(parsed.rows.len(), 3);
        assert_eq!(parsed.surround_numbers, vec![15, 9]);
        assert_eq!(parsed.render().unwrap(), json);
    }
}
