//! `history HOST [--from] [--to] [--limit]`: a host's stored snapshots, oldest first, read page
//! by page. An unknown host is answered with the closest known names.

use idlewatch_protocol::api::HistoryPage;
use serde_json::Value;

use crate::api::{Api, ApiFailure};
use crate::cli::{Format, HistoryArgs};
use crate::error::{CliError, failed};
use crate::output::{self, Cell, Output};

/// Column headers of the table and CSV.
pub const HEADERS: [&str; 8] = [
    "CAPTURED",
    "RECEIVED",
    "IDLE (s)",
    "USER",
    "CPU %",
    "MEM %",
    "FOREGROUND",
    "PROCESSES",
];

/// Percent-encodes a path segment (everything but unreserved characters).
#[must_use]
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Known host names closest to `wanted`, best first (at most 3).
#[must_use]
pub fn closest<'a>(wanted: &str, known: &'a [String]) -> Vec<&'a str> {
    let lower = wanted.to_lowercase();
    let mut scored: Vec<(f64, &str)> = known
        .iter()
        .map(|k| {
            (
                strsim::normalized_damerau_levenshtein(&lower, &k.to_lowercase()),
                k.as_str(),
            )
        })
        .filter(|(score, _)| *score >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// "no host named X is known" with suggestions.
///
/// # Errors
/// Always: the failure to report.
pub fn unknown_host(api: &Api, host: &str) -> CliError {
    let known: Vec<String> = api
        .get("/api/v1/hosts", &[])
        .ok()
        .and_then(|v| {
            v["hosts"].as_array().map(|hs| {
                hs.iter()
                    .filter_map(|h| h["host"].as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    let near = closest(host, &known);
    let hint = if known.is_empty() {
        "no host has reported yet".to_owned()
    } else if near.is_empty() {
        format!(
            "`idlewatch-admin hosts` lists the {} known hosts",
            known.len()
        )
    } else {
        format!("closest: {}", near.join(", "))
    };
    failed(format!("no host named {host:?} is known; {hint}"))
}

/// The query of a report route: `from`, `to`, `group` and each `host`.
#[must_use]
pub fn report_query(
    from: Option<&String>,
    to: Option<&String>,
    group: Option<&String>,
    hosts: &[String],
) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&'static str, String)> = [("from", from), ("to", to), ("group", group)]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?.clone())))
        .collect();
    query.extend(hosts.iter().map(|h| ("host", h.clone())));
    query
}

/// A report route's failure in words: an unknown host among `hosts` gets the closest names.
#[must_use]
pub fn explain_hosts(api: &Api, failure: ApiFailure, hosts: &[String]) -> CliError {
    match failure {
        ApiFailure::Status {
            status, message, ..
        } if status == reqwest::StatusCode::NOT_FOUND && message.starts_with("no host named") => {
            let host = hosts
                .iter()
                .find(|h| message.contains(&format!("{h:?}")))
                .cloned()
                .unwrap_or_default();
            unknown_host(api, &host)
        }
        other => api.explain(other),
    }
}

fn row(s: &Value) -> Vec<Cell> {
    let captured = if s["captured_at"].is_null() {
        &s["timestamp"]
    } else {
        &s["captured_at"]
    };
    let idle = s["idle_seconds"]
        .as_f64()
        .or_else(|| s["idle_time"].as_f64());
    let processes = s["process_count"]
        .as_u64()
        .or_else(|| s["processes"].as_array().map(|p| p.len() as u64));
    vec![
        Cell::json(captured),
        Cell::json(&s["received_at"]),
        Cell::num(idle, 0),
        Cell::json(&s["user_active"]),
        Cell::num(s["cpu_percent"].as_f64(), 1),
        Cell::num(s["memory_percent"].as_f64(), 1),
        Cell::json(&s["foreground_process"]),
        processes.map_or_else(|| Cell::text(""), |n| Cell::text(n.to_string())),
    ]
}

/// Runs `history`.
///
/// # Errors
/// The server unreachable or refusing, or an unknown host.
pub fn run(api: &Api, out: &Output, args: &HistoryArgs) -> Result<(), CliError> {
    let path = format!("/api/v1/hosts/{}/history", segment(&args.host));
    let from = match &args.from {
        Some(f) => f.clone(),
        None => crate::time::absolute("-24h").map_err(CliError::Usage)?,
    };
    let mut snapshots: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let (mut minutes, mut detail_from) = (0usize, None);
    loop {
        let remaining = args.limit - snapshots.len() as u64;
        let mut query = vec![
            ("from", from.clone()),
            ("limit", remaining.min(10_000).to_string()),
        ];
        if let Some(to) = &args.to {
            query.push(("to", to.clone()));
        }
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let page = match api.get_json(&path, &query) {
            Ok(page) => page,
            Err(ApiFailure::Status { status, .. }) if status == reqwest::StatusCode::NOT_FOUND => {
                return Err(unknown_host(api, &args.host));
            }
            Err(f) => return Err(api.explain(f)),
        };
        let page: HistoryPage = crate::api::decode(&path, page)?;
        snapshots.extend(page.snapshots);
        minutes += page.minutes.len();
        detail_from = page.detail_from.or(detail_from);
        cursor = page.next_cursor;
        if cursor.is_none() || snapshots.len() as u64 >= args.limit {
            break;
        }
    }
    if minutes > 0
        && let Some(detail_from) = &detail_from
    {
        eprintln!(
            "note: {} kept whole snapshots from {detail_from} only; the range before is in \
             {minutes} minute rows (hour rows where only day rows are left; see \
             `idlewatch-admin usage`, or the history API's `minutes`)",
            args.host
        );
    }
    match out.format {
        Format::Json => output::print(&output::json(&Value::Array(snapshots))),
        _ => {
            let rows: Vec<Vec<Cell>> = snapshots.iter().map(row).collect();
            output::print(&out.rows(&HEADERS, &rows))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let known: Vec<String> = ["pc-07", "pc-17", "lab-server", "PC-70"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let near = closest("pc-7", &known);
        assert!(
            near.contains(&"pc-07") && near.contains(&"pc-17"),
            "{near:?}"
        );
        assert!(!near.contains(&"lab-server"));
        assert!(closest("zzzzzz", &known).is_empty());
        assert_eq!(segment("pc 7/é"), "pc%207%2F%C3%A9");
    }
}
