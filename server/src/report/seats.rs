//! Each PC's watched apps as spans of time in one state, from the stored summaries, with the
//! reports' rule (a snapshot covers the time until the next, at most 3 × the report interval):
//! what the licence views count ([`idlewatch_licences::seats`]).

use std::collections::BTreeMap;

use idlewatch_licences::seats::Span;
use idlewatch_protocol::WatchedState;
use idlewatch_store::Store;

use super::scan::each_summary;
use super::usage::Rules;

/// One app's spans across the selected PCs.
#[derive(Debug, Default)]
pub struct AppSpans {
    /// The app's name as first seen (apps are matched without case).
    pub name: String,
    /// Each PC's spans, in time order (PCs that never reported the app have none here).
    pub hosts: Vec<Vec<Span>>,
}

impl AppSpans {
    /// The PCs that had the app running (interactive, computing or idle) at some time in
    /// `[from_ms, to_ms)`.
    #[must_use]
    pub fn pcs_running(&self, from_ms: i64, to_ms: i64) -> usize {
        self.hosts
            .iter()
            .filter(|spans| {
                spans.iter().any(|s| {
                    s.state != WatchedState::NotRunning && s.start_ms < to_ms && s.end_ms > from_ms
                })
            })
            .count()
    }
}

/// What one snapshot said, kept until the next one says how long it covers.
struct Said {
    at_ms: i64,
    apps: Vec<(String, WatchedState)>,
}

/// Adds the time `said` covers — until `next_ms`, at most `cover_ms`, within `[from, to)` — to
/// each of its apps' spans, extending the last span when the state goes on.
fn add(
    said: &Said,
    next_ms: i64,
    (cover_ms, from_ms, to_ms): (i64, i64, i64),
    spans: &mut BTreeMap<String, Vec<Span>>,
    names: &mut BTreeMap<String, String>,
) {
    let start = said.at_ms.max(from_ms);
    let end = next_ms.min(said.at_ms.saturating_add(cover_ms)).min(to_ms);
    if start >= end {
        return;
    }
    for (name, state) in &said.apps {
        let key = name.to_lowercase();
        if !names.contains_key(&key) {
            names.insert(key.clone(), name.clone());
        }
        let host = spans.entry(key).or_default();
        match host.last_mut() {
            Some(last) if last.end_ms == start && last.state == *state => last.end_ms = end,
            _ => host.push(Span {
                start_ms: start,
                end_ms: end,
                state: *state,
            }),
        }
    }
}

/// Builds every app's spans from summaries fed host after host, each host's in capture order
/// (the XLSX report feeds the rows it walks anyway; [`spans_by_app`] reads them).
pub struct Collector {
    range: (i64, i64, i64),
    apps: BTreeMap<String, AppSpans>,
    names: BTreeMap<String, String>,
    host: BTreeMap<String, Vec<Span>>,
    previous: Option<Said>,
}

impl Collector {
    /// A collector of the spans in `[from_ms, to_ms)`, with the coverage of `rules`.
    #[must_use]
    pub fn new(from_ms: i64, to_ms: i64, rules: &Rules) -> Self {
        Self {
            range: (rules.interval_ms.saturating_mul(3), from_ms, to_ms),
            apps: BTreeMap::new(),
            names: BTreeMap::new(),
            host: BTreeMap::new(),
            previous: None,
        }
    }

    /// How far before the range a snapshot still covers its start.
    #[must_use]
    pub fn lead_ms(&self) -> i64 {
        self.range.0
    }

    /// The current host's next snapshot, captured at `captured_ms`.
    pub fn push(&mut self, captured_ms: i64, apps: &[(String, WatchedState)]) {
        if let Some(said) = self.previous.take() {
            add(
                &said,
                captured_ms,
                self.range,
                &mut self.host,
                &mut self.names,
            );
        }
        self.previous = Some(Said {
            at_ms: captured_ms,
            apps: apps.to_vec(),
        });
    }

    /// The current host has no more snapshots; the next pushed are another host's.
    pub fn end_host(&mut self) {
        if let Some(said) = self.previous.take() {
            add(&said, i64::MAX, self.range, &mut self.host, &mut self.names);
        }
        for (key, spans) in std::mem::take(&mut self.host) {
            self.apps.entry(key).or_default().hosts.push(spans);
        }
    }

    /// Every app's spans, by lower-cased name.
    #[must_use]
    pub fn finish(mut self) -> BTreeMap<String, AppSpans> {
        self.end_host();
        for (key, app) in &mut self.apps {
            app.name = self.names.get(key).cloned().unwrap_or_else(|| key.clone());
        }
        self.apps
    }
}

/// The spans of every watched app reported by `hosts` in `[from_ms, to_ms)`, by lower-cased
/// app name.
///
/// # Errors
/// The store's.
pub fn spans_by_app(
    store: &Store,
    hosts: &[String],
    from_ms: i64,
    to_ms: i64,
    rules: &Rules,
) -> Result<BTreeMap<String, AppSpans>, idlewatch_store::Error> {
    let mut collector = Collector::new(from_ms, to_ms, rules);
    for host in hosts {
        // A snapshot just before the range still covers its start.
        each_summary(
            store,
            host,
            from_ms.saturating_sub(collector.lead_ms()),
            to_ms,
            |row| {
                collector.push(row.captured_ms, &row.summary.apps);
                Ok::<(), idlewatch_store::Error>(())
            },
        )?;
        collector.end_host();
    }
    Ok(collector.finish())
}
