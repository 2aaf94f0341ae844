//! Printing results: aligned tables for people (colour only on a terminal and never with
//! `NO_COLOR`), CSV and JSON for scripts. A command builds its rows once as [`Cell`]s, each
//! with a text for people and a raw value for CSV.

use std::io::{IsTerminal, Write};

use comfy_table::{Attribute, Cell as TableCell, Color, ContentArrangement, Table, presets};
use serde_json::Value;

use crate::cli::Format;
use crate::error::{CliError, failed};

/// How a cell is coloured in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Uncoloured text.
    Plain,
    /// Good news (online, active).
    Good,
    /// Needs attention (offline, a problem).
    Bad,
    /// Less important.
    Dim,
}

/// One value: `human` in tables, `raw` in CSV.
#[derive(Debug, Clone)]
pub struct Cell {
    human: String,
    raw: String,
    tone: Tone,
}

impl Cell {
    /// The same text for both.
    pub fn text(s: impl Into<String>) -> Self {
        let s = s.into();
        Self {
            human: s.clone(),
            raw: s,
            tone: Tone::Plain,
        }
    }

    /// Different texts for people and for CSV.
    pub fn with(human: impl Into<String>, raw: impl Into<String>) -> Self {
        Self {
            human: human.into(),
            raw: raw.into(),
            tone: Tone::Plain,
        }
    }

    /// A number with `places` decimals; empty when unknown.
    #[must_use]
    pub fn num(v: Option<f64>, places: usize) -> Self {
        v.map_or_else(|| Self::text(""), |x| Self::text(format!("{x:.places$}")))
    }

    /// A JSON value as text (strings unquoted, null empty).
    #[must_use]
    pub fn json(v: &Value) -> Self {
        Self::text(match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// This cell with a tone.
    #[must_use]
    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }
}

/// Where and how results go.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The format asked for.
    pub format: Format,
    color: bool,
}

/// Whether `NO_COLOR` asks for no colour (set and not empty, as no-color.org says).
#[must_use]
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Output {
    /// Output in `format` to stdout.
    #[must_use]
    pub fn new(format: Format) -> Self {
        Self {
            format,
            color: format == Format::Table && std::io::stdout().is_terminal() && !no_color(),
        }
    }

    /// Renders rows as a table or CSV (JSON is printed by each command from its own data).
    #[must_use]
    pub fn rows(&self, headers: &[&str], rows: &[Vec<Cell>]) -> String {
        match self.format {
            Format::Csv => csv(headers, rows),
            _ => self.table(headers, rows),
        }
    }

    fn table(&self, headers: &[&str], rows: &[Vec<Cell>]) -> String {
        let mut table = Table::new();
        table
            .load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        if self.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table.set_header(
            headers
                .iter()
                .map(|h| {
                    let c = TableCell::new(h);
                    if self.color {
                        c.add_attribute(Attribute::Bold)
                    } else {
                        c
                    }
                })
                .collect::<Vec<_>>(),
        );
        for row in rows {
            table.add_row(row.iter().map(|c| {
                let cell = TableCell::new(&c.human);
                match (self.color, c.tone) {
                    (false, _) | (_, Tone::Plain) => cell,
                    (true, Tone::Good) => cell.fg(Color::Green),
                    (true, Tone::Bad) => cell.fg(Color::Red),
                    (true, Tone::Dim) => cell.add_attribute(Attribute::Dim),
                }
            }));
        }
        // Trailing spaces of the last column are noise in files and diffs.
        table
            .lines()
            .map(|l| l.trim_end().to_owned())
            .map(|l| l.strip_prefix(' ').unwrap_or(&l).to_owned())
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }

    /// Key–value pairs as a two-column table (CSV: `key,value`).
    #[must_use]
    pub fn pairs(&self, pairs: &[(&str, Cell)]) -> String {
        let rows: Vec<Vec<Cell>> = pairs
            .iter()
            .map(|(k, v)| vec![Cell::text(*k).tone(Tone::Dim), v.clone()])
            .collect();
        match self.format {
            Format::Csv => csv(&["key", "value"], &rows),
            _ => {
                let text = self.table(&["", ""], &rows);
                // The empty header line of a key–value table is dropped.
                text.split_once('\n')
                    .map_or(text.clone(), |(_, rest)| rest.to_owned())
            }
        }
    }
}

fn csv(headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(headers);
    for row in rows {
        let _ = writer.write_record(row.iter().map(|c| c.raw.as_str()));
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Pretty JSON with a final newline.
#[must_use]
pub fn json(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Any answer type as pretty JSON, one trailing newline.
pub fn json_of(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
///
/// # Errors
/// Other write failures.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(failed(format!("cannot write the output: {e}"))),
    }
}

/// Seconds as `1h 02m`, `3m 05s`, `42s`.
#[must_use]
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Bytes as `1.5 MiB`.
#[must_use]
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < units.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_units() {
        assert_eq!(duration(4.2), "4s");
        assert_eq!(duration(185.0), "3m 05s");
        assert_eq!(duration(3720.0), "1h 02m");
        assert_eq!(duration(90_000.0), "1d 01h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_572_864), "1.5 MiB");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let out = Output {
            format: Format::Csv,
            color: false,
        };
        let text = out.rows(
            &["a", "b"],
            &[vec![Cell::text("x,y"), Cell::with("1 h", "1")]],
        );
        assert_eq!(text, "a,b\n\"x,y\",1\n");
    }

    #[test]
    fn tables_align_without_colour_when_not_a_terminal() {
        let out = Output {
            format: Format::Table,
            color: false,
        };
        let text = out.rows(
            &["HOST", "CPU %"],
            &[vec![Cell::text("pc-1"), Cell::text("5.0").tone(Tone::Good)]],
        );
        assert!(!text.contains('\u{1b}'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find("CPU"), lines[1].find("5.0"));
    }
}
