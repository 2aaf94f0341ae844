//! The stand-in's spreadsheet model: tabs as rows of cells, changed by the Sheets API's
//! `batchUpdate`, `values:batchUpdate`, `values:batchClear` and `values:append` as Google does,
//! grid limits included.

use serde_json::{Value, json};

use super::{State, Tab};

/// `'Tab'!A1:J5` → (tab, first column, first row, last row) — 0-based, last row exclusive.
fn parse_range(range: &str) -> Option<(String, usize, usize, Option<usize>)> {
    let (tab, cells) = range.rsplit_once('!')?;
    let tab = tab.trim_matches('\'').to_owned();
    let (start, end) = cells
        .split_once(':')
        .map_or((cells, None), |(a, b)| (a, Some(b)));
    let cell = |c: &str| -> Option<(usize, Option<usize>)> {
        let letters: String = c.chars().take_while(char::is_ascii_alphabetic).collect();
        let digits = &c[letters.len()..];
        let col = letters.bytes().fold(0usize, |n, b| {
            n * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1)
        });
        let row = if digits.is_empty() {
            None
        } else {
            Some(digits.parse::<usize>().ok()?)
        };
        Some((col.max(1) - 1, row))
    };
    let (col, row) = cell(start)?;
    let last = match end {
        Some(e) => cell(e)?.1,
        None => row,
    };
    Some((tab, col, row.unwrap_or(1) - 1, last))
}

pub(super) fn metadata(s: &State) -> Value {
    let sheets: Vec<Value> = s
        .tabs
        .iter()
        .map(|t| {
            json!({"properties": {"sheetId": t.id, "title": t.title,
                "gridProperties": {"rowCount": t.grid_rows, "columnCount": t.grid_columns, "frozenRowCount": t.frozen_rows}}})
        })
        .collect();
    json!({ "spreadsheetId": s.spreadsheet_id, "sheets": sheets })
}

fn tab_by_id(s: &mut State, id: i64) -> Result<&mut Tab, String> {
    s.tabs
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| format!("No grid with id: {id}"))
}

pub(super) fn batch_update(s: &mut State, body: &Value) -> Result<Value, String> {
    let requests = body["requests"].as_array().ok_or("requests missing")?;
    for r in requests {
        if let Some(add) = r.get("addSheet") {
            let p = &add["properties"];
            let title = p["title"].as_str().ok_or("title missing")?.to_owned();
            let id = p["sheetId"].as_i64().ok_or("sheetId missing")?;
            if s.tabs.iter().any(|t| t.title == title || t.id == id) {
                return Err(format!("A sheet with the name \"{title}\" already exists."));
            }
            s.tabs.push(Tab {
                id,
                title,
                grid_rows: usize::try_from(
                    p["gridProperties"]["rowCount"].as_u64().unwrap_or(1000),
                )
                .unwrap_or(1000),
                grid_columns: usize::try_from(
                    p["gridProperties"]["columnCount"].as_u64().unwrap_or(26),
                )
                .unwrap_or(26),
                frozen_rows: p["gridProperties"]["frozenRowCount"].as_u64().unwrap_or(0),
                ..Tab::default()
            });
        } else if let Some(u) = r.get("updateCells") {
            let tab = tab_by_id(s, u["start"]["sheetId"].as_i64().ok_or("sheetId missing")?)?;
            let cells = u["rows"][0]["values"].as_array().ok_or("rows missing")?;
            let values: Vec<Value> = cells
                .iter()
                .map(|c| c["userEnteredValue"]["stringValue"].clone())
                .collect();
            tab.bold_header = cells
                .iter()
                .all(|c| c["userEnteredFormat"]["textFormat"]["bold"] == true);
            if values.len() > tab.grid_columns {
                return Err(format!(
                    "Range ('{}'!1) exceeds grid limits. Max columns: {}",
                    tab.title, tab.grid_columns
                ));
            }
            if tab.cells.is_empty() {
                tab.cells.push(Vec::new());
            }
            tab.cells[0] = values;
        } else if let Some(rc) = r.get("repeatCell") {
            let tab = tab_by_id(s, rc["range"]["sheetId"].as_i64().ok_or("sheetId missing")?)?;
            let col = rc["range"]["startColumnIndex"].as_u64().unwrap_or(0);
            let pattern = rc["cell"]["userEnteredFormat"]["numberFormat"]["pattern"]
                .as_str()
                .unwrap_or_default();
            tab.formats.push((col, pattern.to_owned()));
        } else if let Some(ad) = r.get("appendDimension") {
            let tab = tab_by_id(s, ad["sheetId"].as_i64().ok_or("sheetId missing")?)?;
            let length = usize::try_from(ad["length"].as_u64().unwrap_or(0)).unwrap_or(0);
            match ad["dimension"].as_str() {
                Some("ROWS") => tab.grid_rows += length,
                Some("COLUMNS") => tab.grid_columns += length,
                _ => return Err("dimension must be ROWS or COLUMNS".to_owned()),
            }
        } else {
            return Err(format!("unsupported request {r}"));
        }
    }
    Ok(json!({"spreadsheetId": s.spreadsheet_id, "replies": []}))
}

fn write(tab: &mut Tab, col: usize, row: usize, values: &[Value]) -> Result<(), String> {
    if row + values.len() > tab.grid_rows {
        return Err(format!(
            "Range ('{}'!A{}) exceeds grid limits. Max rows: {}",
            tab.title,
            row + values.len(),
            tab.grid_rows
        ));
    }
    for (i, v) in values.iter().enumerate() {
        let cells = v.as_array().ok_or("a row is not a list")?;
        if col + cells.len() > tab.grid_columns {
            return Err(format!(
                "Range ('{}'!A{}) exceeds grid limits. Max columns: {}",
                tab.title,
                row + i + 1,
                tab.grid_columns
            ));
        }
        while tab.cells.len() <= row + i {
            tab.cells.push(Vec::new());
        }
        let line = &mut tab.cells[row + i];
        while line.len() < col + cells.len() {
            line.push(Value::Null);
        }
        for (j, c) in cells.iter().enumerate() {
            if c.is_object() || c.is_array() {
                return Err("a cell value must be a string, number or boolean".to_owned());
            }
            line[col + j] = c.clone();
        }
    }
    Ok(())
}

pub(super) fn values_batch_update(s: &mut State, body: &Value) -> Result<Value, String> {
    if body["valueInputOption"] != "RAW" && body["valueInputOption"] != "USER_ENTERED" {
        return Err("valueInputOption is required".to_owned());
    }
    for d in body["data"].as_array().ok_or("data missing")? {
        let range = d["range"].as_str().ok_or("range missing")?;
        let (title, col, row, _) = parse_range(range).ok_or("bad range")?;
        let tab = s
            .tabs
            .iter_mut()
            .find(|t| t.title == title)
            .ok_or_else(|| format!("Unable to parse range: {range}"))?;
        write(
            tab,
            col,
            row,
            d["values"].as_array().ok_or("values missing")?,
        )?;
    }
    Ok(json!({"spreadsheetId": s.spreadsheet_id}))
}

pub(super) fn values_batch_clear(s: &mut State, body: &Value) -> Result<Value, String> {
    for r in body["ranges"].as_array().ok_or("ranges missing")? {
        let range = r.as_str().ok_or("range is not text")?;
        let (title, _, row, last) = parse_range(range).ok_or("bad range")?;
        let tab = s
            .tabs
            .iter_mut()
            .find(|t| t.title == title)
            .ok_or_else(|| format!("Unable to parse range: {range}"))?;
        let end = last.unwrap_or(usize::MAX).min(tab.cells.len());
        for line in tab.cells.iter_mut().take(end).skip(row) {
            line.clear();
        }
        while tab.cells.last().is_some_and(Vec::is_empty) {
            tab.cells.pop();
        }
    }
    Ok(json!({"spreadsheetId": s.spreadsheet_id}))
}

pub(super) fn append(s: &mut State, range: &str, body: &Value) -> Result<Value, String> {
    let (title, col, _, _) = parse_range(range).ok_or("bad range")?;
    let tab = s
        .tabs
        .iter_mut()
        .find(|t| t.title == title)
        .ok_or_else(|| format!("Unable to parse range: {range}"))?;
    let values = body["values"].as_array().ok_or("values missing")?;
    let row = tab.cells.len();
    // INSERT_ROWS: the grid grows by the rows appended.
    tab.grid_rows += values.len();
    write(tab, col, row, values)?;
    Ok(json!({"spreadsheetId": s.spreadsheet_id, "updates": {"updatedRows": values.len()}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a1_ranges() {
        assert_eq!(
            parse_range("'Status'!A1"),
            Some(("Status".into(), 0, 0, Some(1)))
        );
        assert_eq!(
            parse_range("'My tab'!A5:J"),
            Some(("My tab".into(), 0, 4, None))
        );
        assert_eq!(
            parse_range("Data!B2:C10"),
            Some(("Data".into(), 1, 1, Some(10)))
        );
        assert_eq!(super::super::percent_decode("a%3Ab+c"), "a:b c");
    }
}
