//! Which watched apps get a column in the `Snapshots` sheet. An agent names its watched apps,
//! so a range may hold thousands (Excel has 16,384 columns): the Python original's two always,
//! then the others by the time they were running, at most `max` in all; the rest are counted
//! per snapshot in one `Other apps running` column.

use std::collections::{BTreeSet, HashMap};

use idlewatch_protocol::{LEGACY_APPS, WatchedState};
use idlewatch_store::HistoryQuery;

use super::super::scan::each_summary;
use super::{Error, ExportRequest};
use crate::stores::Stores;

/// Summaries sampled per host to find the apps of a range (enough when few apps are watched).
const SAMPLE: usize = 50;

/// The chosen columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AppColumns {
    /// Apps with a column, sorted.
    pub names: Vec<String>,
    /// Whether other apps exist (an `Other apps running` column follows).
    pub capped: bool,
}

/// The app columns of `request`'s range.
pub(super) fn app_columns(
    store: &Stores,
    request: &ExportRequest,
    max: usize,
) -> Result<AppColumns, Error> {
    let mut seen: BTreeSet<String> = LEGACY_APPS.iter().map(|a| (*a).to_owned()).collect();
    for host in &request.hosts {
        let page = store.summaries(&HistoryQuery {
            host: host.clone(),
            from_ms: Some(request.from_ms),
            to_ms: Some(request.to_ms),
            limit: SAMPLE,
            after: None,
        });
        if let Ok(page) = page {
            for row in &page.rows {
                seen.extend(row.summary.apps.iter().map(|(n, _)| n.clone()));
            }
        }
    }
    if seen.len() <= max {
        return Ok(AppColumns {
            names: seen.into_iter().collect(),
            capped: false,
        });
    }
    // Too many to show: rank every app of the range by its snapshots while running.
    let mut running: HashMap<String, u64> = HashMap::new();
    for host in &request.hosts {
        each_summary(store, host, request.from_ms, request.to_ms, |row| {
            for (name, state) in &row.summary.apps {
                if *state != WatchedState::NotRunning {
                    *running.entry(name.clone()).or_default() += 1;
                }
            }
            Ok::<(), Error>(())
        })?;
    }
    Ok(AppColumns {
        names: top(running, max),
        capped: true,
    })
}

/// The legacy apps, then the most-running others (ties by name), at most `max`, sorted.
fn top(running: HashMap<String, u64>, max: usize) -> Vec<String> {
    let mut ranked: Vec<(String, u64)> = running
        .into_iter()
        .filter(|(name, _)| !LEGACY_APPS.contains(&name.as_str()))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut names: BTreeSet<String> = LEGACY_APPS.iter().map(|a| (*a).to_owned()).collect();
    names.extend(
        ranked
            .into_iter()
            .take(max.saturating_sub(LEGACY_APPS.len()))
            .map(|(n, _)| n),
    );
    names.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_apps_then_the_most_running_are_kept() {
        let running: HashMap<String, u64> =
            [("a", 5), ("b", 50), ("c", 50), ("d", 1), ("ansys", 0)]
                .into_iter()
                .map(|(n, c)| (n.to_owned(), c))
                .collect();
        assert_eq!(top(running.clone(), 4), ["ansys", "b", "c", "rocky"]);
        assert_eq!(top(running, 5), ["a", "ansys", "b", "c", "rocky"]);
    }
}
