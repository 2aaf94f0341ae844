//! One upload, in a constant number of requests whatever the host count:
//!
//! 1. `GET` the spreadsheet's tab list;
//! 2. one `batchUpdate` only when a tab is missing (created with a bold, frozen header and date
//!    formats) or `Status` has fewer rows than hosts;
//! 3. `values:batchUpdate` rewriting `Status` (header and one row per host);
//! 4. `values:batchClear` of the rows below (hosts that are gone);
//! 5. `values:append` of the `Utilization` rows of the days completed since the last append,
//!    when there are any, and 6. of the `Licences` rows of the same days (one per watched app
//!    per day, when an app ran); the ledger then records the last appended day.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use idlewatch_protocol::api::SheetsOutcome;
use jiff::civil::Date;
use reqwest::Method;
use serde_json::{Value, json};

use super::Sources;
use super::client::Google;
use super::error::SheetsError;
use super::ledger;
use super::rows::{
    LICENCES_DATE_COLUMN, LICENCES_HEADER, STATUS_HEADER, STATUS_TIME_COLUMN,
    UTILIZATION_DATE_COLUMN, UTILIZATION_HEADER, licences_row, status_rows, utilization_row,
};
use crate::config::SheetsConfig;
use crate::report::daily::{day_start_ms, usage_by_day};
use crate::report::seats::spans_by_app;
use crate::report::usage::Rules;
use idlewatch_licences::seats;

/// A day is appended once it ended this long ago, so late snapshots (an agent replaying its
/// spool after an outage) still count.
pub const DAY_SETTLE: Duration = Duration::from_secs(3600);

/// Rows a new tab starts with (Google's default).
const NEW_TAB_ROWS: usize = 1000;

struct Tab {
    id: i64,
    title: String,
    rows: usize,
    columns: usize,
}

fn tabs_of(meta: &Value) -> Vec<Tab> {
    meta.get("sheets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let p = s.get("properties")?;
            Some(Tab {
                id: p.get("sheetId")?.as_i64()?,
                title: p.get("title")?.as_str()?.to_owned(),
                rows: p
                    .pointer("/gridProperties/rowCount")
                    .and_then(Value::as_u64)
                    .map_or(NEW_TAB_ROWS, |r| usize::try_from(r).unwrap_or(usize::MAX)),
                columns: p
                    .pointer("/gridProperties/columnCount")
                    .and_then(Value::as_u64)
                    .map_or(usize::MAX, |c| usize::try_from(c).unwrap_or(usize::MAX)),
            })
        })
        .collect()
}

/// `'Tab name'!A1`-style range (names are quoted, so spaces are fine).
fn range(tab: &str, cells: &str) -> String {
    format!("'{tab}'!{cells}")
}

/// The `batchUpdate` requests that create a tab with its header and date column format.
fn create_tab(
    id: i64,
    title: &str,
    header: &[&str],
    date_col: usize,
    pattern: &str,
    rows: usize,
) -> Vec<Value> {
    vec![
        json!({"addSheet": {"properties": {
            "sheetId": id,
            "title": title,
            "gridProperties": {"rowCount": rows, "columnCount": header.len(), "frozenRowCount": 1}
        }}}),
        header_row(id, header),
        json!({"repeatCell": {
            "range": {"sheetId": id, "startRowIndex": 1,
                      "startColumnIndex": date_col, "endColumnIndex": date_col + 1},
            "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE_TIME", "pattern": pattern}}},
            "fields": "userEnteredFormat.numberFormat"
        }}),
    ]
}

/// The `batchUpdate` request writing a tab's header row, in bold.
fn header_row(id: i64, header: &[&str]) -> Value {
    let cells: Vec<Value> = header
        .iter()
        .map(|h| {
            json!({
                "userEnteredValue": {"stringValue": h},
                "userEnteredFormat": {"textFormat": {"bold": true}}
            })
        })
        .collect();
    json!({"updateCells": {
        "start": {"sheetId": id, "rowIndex": 0, "columnIndex": 0},
        "rows": [{"values": cells}],
        "fields": "userEnteredValue,userEnteredFormat.textFormat.bold"
    }})
}

/// A sheet id not used yet, derived from the title so reruns pick the same.
fn free_id(title: &str, used: &BTreeSet<i64>) -> i64 {
    let mut id = title
        .bytes()
        .fold(7_i64, |h, b| (h * 31 + i64::from(b)) % 1_000_000_000)
        + 1;
    while used.contains(&id) {
        id += 1;
    }
    id
}

/// The days to append now: from the day after the ledger's last (or `backfill_days` back) to
/// the last day that ended at least [`DAY_SETTLE`] ago. `None` when there is nothing new.
#[must_use]
pub fn days_to_append(
    now: SystemTime,
    appended_through: Option<Date>,
    backfill_days: u32,
    rules: &Rules,
) -> Option<(Date, Date)> {
    let settled = now.checked_sub(DAY_SETTLE)?;
    let ms = i64::try_from(
        settled
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_millis(),
    )
    .ok()?;
    let last = jiff::Timestamp::from_millisecond(ms)
        .ok()?
        .to_zoned_datetime(rules.time_zone.clone())
        .date()
        .yesterday()
        .ok()?;
    let earliest = last
        .checked_sub(jiff::Span::new().days(i64::from(backfill_days.max(1)) - 1))
        .ok()?;
    let first = match appended_through {
        Some(d) => d.tomorrow().ok()?.max(earliest),
        None => earliest,
    };
    (first <= last).then_some((first, last))
}

/// Runs one upload.
///
/// # Errors
/// The first request Google refuses or keeps failing, or a local failure (store, ledger).
pub async fn upload(
    google: &Google,
    sources: &Sources,
    config: &SheetsConfig,
    ledger_path: &Path,
) -> Result<SheetsOutcome, SheetsError> {
    let rules = sources.rules.clone();
    let now = SystemTime::now();
    let mut outcome = SheetsOutcome::default();

    let mut meta_url = google.url(&[]);
    meta_url.query_pairs_mut().append_pair(
        "fields",
        "sheets.properties(sheetId,title,gridProperties(rowCount,columnCount))",
    );
    let tabs = tabs_of(&google.call(Method::GET, meta_url, None).await?);

    let views = sources.registry.views(now);
    let rows = status_rows(&views, |h| sources.groups.of(h), &rules.time_zone);
    outcome.hosts = rows.len();

    let mut used: BTreeSet<i64> = tabs.iter().map(|t| t.id).collect();
    let mut requests = Vec::new();
    let specs: [(&String, &[&str], usize, &str, usize); 3] = [
        (
            &config.status_tab,
            &STATUS_HEADER,
            STATUS_TIME_COLUMN,
            "yyyy-mm-dd hh:mm:ss",
            rows.len() + 1,
        ),
        (
            &config.utilization_tab,
            &UTILIZATION_HEADER,
            UTILIZATION_DATE_COLUMN,
            "yyyy-mm-dd",
            1,
        ),
        (
            &config.licences_tab,
            &LICENCES_HEADER,
            LICENCES_DATE_COLUMN,
            "yyyy-mm-dd",
            1,
        ),
    ];
    for (title, header, date_col, pattern, needed) in specs {
        match tabs.iter().find(|t| &t.title == title) {
            None => {
                let id = free_id(title, &used);
                used.insert(id);
                requests.extend(create_tab(
                    id,
                    title,
                    header,
                    date_col,
                    pattern,
                    needed.max(NEW_TAB_ROWS),
                ));
                outcome.tabs_created.push(title.clone());
            }
            Some(tab) => {
                if tab.rows < needed {
                    requests.push(json!({"appendDimension": {
                        "sheetId": tab.id, "dimension": "ROWS", "length": needed - tab.rows + 100
                    }}));
                }
                // A tab made by an earlier version, with fewer columns: widened, header
                // rewritten (the rows below keep their cells).
                if tab.columns < header.len() {
                    requests.push(json!({"appendDimension": {
                        "sheetId": tab.id, "dimension": "COLUMNS",
                        "length": header.len() - tab.columns
                    }}));
                    requests.push(header_row(tab.id, header));
                    outcome.tabs_widened.push(title.clone());
                }
            }
        }
    }
    if !requests.is_empty() {
        let body = json!({ "requests": requests });
        google
            .call(Method::POST, google.url(&[":batchUpdate"]), Some(&body))
            .await?;
    }

    let mut values = Vec::with_capacity(rows.len() + 1);
    values.push(STATUS_HEADER.iter().map(|h| json!(h)).collect::<Vec<_>>());
    values.extend(rows);
    let status = &config.status_tab;
    let body = json!({
        "valueInputOption": "RAW",
        "data": [{"range": range(status, "A1"), "majorDimension": "ROWS", "values": values}]
    });
    google
        .call(
            Method::POST,
            google.url(&["values:batchUpdate"]),
            Some(&body),
        )
        .await?;
    let below = format!("A{}:J", outcome.hosts + 2);
    let body = json!({ "ranges": [range(status, &below)] });
    google
        .call(
            Method::POST,
            google.url(&["values:batchClear"]),
            Some(&body),
        )
        .await?;

    let tab = &config.utilization_tab;
    let mut book = ledger::load(ledger_path).map_err(SheetsError::Ledger)?;
    let through = book.through(&config.spreadsheet_id, tab);
    let Some((first, last)) = days_to_append(now, through, config.backfill_days, &rules) else {
        return Ok(outcome);
    };
    let (utilization, licence_rows) = day_rows(sources, first, last, rules).await?;
    append(google, tab, &utilization).await?;
    append(google, &config.licences_tab, &licence_rows).await?;
    outcome.utilization_rows = utilization.len();
    outcome.licence_rows = licence_rows.len();
    outcome.appended_through = Some(last.to_string());
    book.spreadsheet_id.clone_from(&config.spreadsheet_id);
    book.utilization_tab.clone_from(tab);
    book.appended_through = Some(last.to_string());
    ledger::save(ledger_path, &book).map_err(SheetsError::Ledger)?;
    Ok(outcome)
}

/// Appends `rows` to `tab` in one request (none when there are no rows).
async fn append(google: &Google, tab: &str, rows: &[Vec<Value>]) -> Result<(), SheetsError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut url = google.url(&["values", &format!("{}:append", range(tab, "A1"))]);
    url.query_pairs_mut()
        .append_pair("valueInputOption", "RAW")
        .append_pair("insertDataOption", "INSERT_ROWS");
    let body = json!({"range": range(tab, "A1"), "majorDimension": "ROWS", "values": rows});
    google.call(Method::POST, url, Some(&body)).await?;
    Ok(())
}

/// The rows of days `first..=last`: every known host's `Utilization` rows sorted by day then
/// host, and each watched app's `Licences` rows sorted by day then app; computed off the async
/// runtime.
async fn day_rows(
    sources: &Sources,
    first: Date,
    last: Date,
    rules: Rules,
) -> Result<(Vec<Vec<Value>>, Vec<Vec<Value>>), SheetsError> {
    let worker = sources.clone();
    tokio::task::spawn_blocking(move || {
        let hosts = worker.store.host_names().map_err(|e| e.to_string())?;
        let from_ms = day_start_ms(first, &rules).map_err(|e| e.to_string())?;
        let to_ms = last
            .tomorrow()
            .and_then(|d| day_start_ms(d, &rules))
            .map_err(|e| e.to_string())?;
        let usage = usage_by_day(&worker.store, &hosts, from_ms, to_ms, &rules, &|_| false)
            .map_err(|e| e.to_string())?;
        let mut rows: Vec<(Date, &str, Vec<Value>)> = Vec::new();
        for h in &usage {
            let group = worker.groups.of(&h.host);
            for day in &h.days {
                rows.push((
                    day.date,
                    &h.host,
                    utilization_row(&h.host, group.as_deref(), day),
                ));
            }
        }
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let utilization = rows.into_iter().map(|r| r.2).collect();
        let apps = spans_by_app(&worker.store, &hosts, from_ms, to_ms, &rules)
            .map_err(|e| e.to_string())?;
        let mut licences = Vec::new();
        let mut day = first;
        while day <= last {
            let start = day_start_ms(day, &rules).map_err(|e| e.to_string())?;
            let next = day.tomorrow().map_err(|e| e.to_string())?;
            let end = day_start_ms(next, &rules).map_err(|e| e.to_string())?;
            for app in apps.values() {
                let pcs = app.pcs_running(start, end);
                if pcs > 0 {
                    let seats = seats::seats(&app.hosts, start, end, &rules.time_zone);
                    licences.push(licences_row(day, &app.name, pcs, &seats));
                }
            }
            day = next;
        }
        Ok((utilization, licences))
    })
    .await
    .map_err(|e| SheetsError::Utilization(format!("the task failed: {e}")))?
    .map_err(SheetsError::Utilization)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::hours::OpenHours;

    fn rules() -> Rules {
        Rules {
            interval_ms: 5000,
            time_zone: jiff::tz::TimeZone::UTC,
            open: OpenHours::always(),
        }
    }

    fn at(text: &str) -> SystemTime {
        let t: jiff::Timestamp = text.parse().unwrap();
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.as_second()).unwrap())
    }

    #[test]
    fn appends_settled_days_once() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let r = rules();
        // First run: the last `backfill` days, up to yesterday.
        assert_eq!(
            days_to_append(at("2026-11-26T08:00:00Z"), None, 7, &r),
            Some((d("2026-11-19"), d("2026-11-25")))
        );
        // Yesterday is not settled until an hour after midnight.
        assert_eq!(
            days_to_append(at("2026-11-26T00:30:00Z"), None, 1, &r),
            Some((d("2026-11-24"), d("2026-11-24")))
        );
        // After an append through yesterday: nothing until the next day settles.
        assert_eq!(
            days_to_append(at("2026-11-26T23:00:00Z"), Some(d("2026-11-25")), 7, &r),
            None
        );
        assert_eq!(
            days_to_append(at("2026-11-27T01:00:01Z"), Some(d("2026-11-25")), 7, &r),
            Some((d("2026-11-26"), d("2026-11-26")))
        );
        // A long outage appends at most `backfill` days.
        assert_eq!(
            days_to_append(at("2026-11-26T08:00:00Z"), Some(d("2026-10-01")), 3, &r),
            Some((d("2026-11-23"), d("2026-11-25")))
        );
    }

    #[test]
    fn new_tabs_get_ids_not_in_use() {
        let used: BTreeSet<i64> = [free_id("Status", &BTreeSet::new())].into();
        assert_ne!(
            free_id("Status", &used),
            free_id("Status", &BTreeSet::new())
        );
        assert!(free_id("Utilization", &BTreeSet::new()) > 0);
    }
}
