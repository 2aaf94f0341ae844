//! Each PC's watched apps as spans of time in one state, with the reports' rule (a snapshot
//! covers the time until the next, at most 3 × the report interval): what the licence views
//! count ([`idlewatch_licences::seats`]). Settled days come from the host-day rollups
//! ([`super::host_days`]), the rest from the stored summaries; both give the same spans.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use idlewatch_protocol::{StateSpan, WatchedState};
use idlewatch_store::{DAY_MS, HostDay};

use super::scan::each_summary;
use super::usage::Rules;
use crate::stores::Stores;

mod aged;

/// One app's spans across the selected PCs.
#[derive(Debug, Default)]
pub struct AppSpans {
    /// The app's name as first seen (apps are matched without case).
    pub name: String,
    /// Each PC's spans, in time order (PCs that never reported the app have none here).
    pub hosts: Vec<Vec<StateSpan>>,
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

/// One PC's apps: by lower-cased name, the name as first seen and the spans in time order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HostSpans(BTreeMap<String, (String, Vec<StateSpan>)>);

impl HostSpans {
    /// Adds `span` of the app `name` after its spans so far, extending the last one when the
    /// state goes on.
    fn push(&mut self, name: &str, span: StateSpan) {
        let key = name.to_lowercase();
        let (_, spans) = self
            .0
            .entry(key)
            .or_insert_with(|| (name.to_owned(), Vec::new()));
        match spans.last_mut() {
            Some(last) if last.end_ms == span.start_ms && last.state == span.state => {
                last.end_ms = span.end_ms;
            }
            _ => spans.push(span),
        }
    }

    /// Adds what follows: another stretch of the same PC's time, later than all so far.
    pub fn extend(&mut self, later: Self) {
        for (_, (name, spans)) in later.0 {
            for span in spans {
                self.push(&name, span);
            }
        }
    }

    /// Each app's name as first seen and spans, in app order.
    #[must_use]
    pub fn into_apps(self) -> Vec<(String, Vec<StateSpan>)> {
        self.0.into_values().collect()
    }

    fn from_day(day: HostDay) -> Self {
        let mut out = Self::default();
        for (name, spans) in day.apps {
            for span in spans {
                out.push(&name, span);
            }
        }
        out
    }
}

/// What one snapshot said, kept until the next one says how long it covers.
struct Said {
    at_ms: i64,
    apps: Vec<(String, WatchedState)>,
}

/// `apps` with one entry per app without case: a PC configured to watch "Ansys" and "ANSYS"
/// holds one seat, in the most used of the states its entries report.
fn one_per_app(apps: &[(String, WatchedState)]) -> Vec<(String, WatchedState)> {
    fn rank(state: WatchedState) -> u8 {
        match state {
            WatchedState::Interactive => 3,
            WatchedState::Computing => 2,
            WatchedState::Idle => 1,
            WatchedState::NotRunning => 0,
        }
    }
    let mut out: Vec<(String, WatchedState)> = Vec::with_capacity(apps.len());
    // A PC watches a few apps: compare in place, without allocating.
    if apps.len() <= 16 {
        let same = |a: &str, b: &str| {
            a.chars()
                .flat_map(char::to_lowercase)
                .eq(b.chars().flat_map(char::to_lowercase))
        };
        for (name, state) in apps {
            match out.iter_mut().find(|(seen, _)| same(seen, name)) {
                Some(seen) if rank(*state) > rank(seen.1) => seen.1 = *state,
                Some(_) => {}
                None => out.push((name.clone(), *state)),
            }
        }
        return out;
    }
    let mut at: HashMap<String, usize> = HashMap::with_capacity(apps.len());
    for (name, state) in apps {
        match at.entry(name.to_lowercase()) {
            Entry::Occupied(seen) => {
                let seen = &mut out[*seen.get()].1;
                if rank(*state) > rank(*seen) {
                    *seen = *state;
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push((name.clone(), *state));
            }
        }
    }
    out
}

/// Turns one PC's snapshots, in capture order, into its spans within `[from_ms, to_ms)`.
struct HostCollector {
    cover_ms: i64,
    from_ms: i64,
    to_ms: i64,
    spans: HostSpans,
    previous: Option<Said>,
}

impl HostCollector {
    fn new(cover_ms: i64, from_ms: i64, to_ms: i64) -> Self {
        Self {
            cover_ms,
            from_ms,
            to_ms,
            spans: HostSpans::default(),
            previous: None,
        }
    }

    fn push(&mut self, captured_ms: i64, apps: &[(String, WatchedState)]) {
        if let Some(said) = self.previous.take() {
            self.add(&said, captured_ms);
        }
        self.previous = Some(Said {
            at_ms: captured_ms,
            apps: one_per_app(apps),
        });
    }

    /// Adds the time `said` covers — until `next_ms`, at most the cover, within the range.
    fn add(&mut self, said: &Said, next_ms: i64) {
        let start = said.at_ms.max(self.from_ms);
        let end = next_ms
            .min(said.at_ms.saturating_add(self.cover_ms))
            .min(self.to_ms);
        if start >= end {
            return;
        }
        for (name, state) in &said.apps {
            self.spans.push(
                name,
                StateSpan {
                    start_ms: start,
                    end_ms: end,
                    state: *state,
                },
            );
        }
    }

    fn finish(mut self) -> HostSpans {
        if let Some(said) = self.previous.take() {
            self.add(&said, i64::MAX);
        }
        self.spans
    }
}

/// `host`'s spans in `[from_ms, to_ms)` from its stored summaries, and the record just before
/// the range (kept even where older ones were folded into minutes), which may cover its start.
///
/// # Errors
/// The store's.
pub fn host_spans_from_summaries(
    store: &Stores,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    cover_ms: i64,
) -> Result<HostSpans, idlewatch_store::Error> {
    let mut collector = HostCollector::new(cover_ms, from_ms, to_ms);
    if let Some(lead) = store.record_before(host, from_ms.saturating_sub(cover_ms), from_ms)? {
        collector.push(lead.captured_ms, &lead.summary.apps);
    }
    each_summary(store, host, from_ms, to_ms, |row| {
        collector.push(row.captured_ms, &row.summary.apps);
        Ok::<(), idlewatch_store::Error>(())
    })?;
    Ok(collector.finish())
}

/// `host`'s spans in `[from_ms, to_ms)` where no rollup serves: from its minute and hour rows
/// before its whole snapshots start (`detail_from`), from the summaries after.
fn gap_spans(
    store: &Stores,
    host: &str,
    (from_ms, to_ms): (i64, i64),
    cover_ms: i64,
    detail_from: Option<i64>,
) -> Result<HostSpans, idlewatch_store::Error> {
    let split = detail_from.unwrap_or(i64::MIN).clamp(from_ms, to_ms);
    let mut out = HostSpans::default();
    if from_ms < split {
        out = aged::host_spans_from_tiers(store, host, from_ms, split)?;
    }
    if split < to_ms {
        out.extend(host_spans_from_summaries(
            store, host, split, to_ms, cover_ms,
        )?);
    }
    Ok(out)
}

/// `host`'s spans in `[from_ms, to_ms)`: whole days from their rollups where built under the
/// same cover, everything else from the minute rows where the snapshots were folded and from
/// the summaries after.
///
/// # Errors
/// The store's.
pub fn host_spans(
    store: &Stores,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    cover_ms: i64,
) -> Result<HostSpans, idlewatch_store::Error> {
    let first_day = from_ms
        .div_euclid(DAY_MS)
        .saturating_add(i64::from(from_ms.rem_euclid(DAY_MS) != 0));
    let (first_day, end_day) = (
        first_day.saturating_mul(DAY_MS),
        to_ms.div_euclid(DAY_MS).saturating_mul(DAY_MS),
    );
    let rows = if first_day < end_day {
        store.local().host_days(host, first_day, end_day)?
    } else {
        Vec::new()
    };
    let detail_from = store.detail_from(host)?;
    let mut out = HostSpans::default();
    let mut at = from_ms;
    for (day_ms, bytes) in rows {
        let Ok(day) = HostDay::decode(day_ms, &bytes) else {
            tracing::warn!(host, day_ms, "an unreadable host-day rollup was skipped");
            continue;
        };
        if day.cover_ms != cover_ms {
            continue;
        }
        if at < day_ms {
            out.extend(gap_spans(store, host, (at, day_ms), cover_ms, detail_from)?);
        }
        out.extend(HostSpans::from_day(day));
        at = day_ms + DAY_MS;
    }
    if at < to_ms {
        out.extend(gap_spans(store, host, (at, to_ms), cover_ms, detail_from)?);
    }
    Ok(out)
}

/// Builds every app's spans from summaries fed host after host, each host's in capture order
/// (the XLSX report feeds the rows it walks anyway; [`spans_by_app`] reads them).
pub struct Collector {
    range: (i64, i64, i64),
    apps: Apps,
    host: HostCollector,
}

/// Every app's spans, by lower-cased name, as they are gathered host by host.
#[derive(Default)]
struct Apps(BTreeMap<String, AppSpans>);

impl Apps {
    fn add_host(&mut self, host: HostSpans) {
        for (key, (name, spans)) in host.0 {
            let app = self.0.entry(key).or_insert_with(|| AppSpans {
                name,
                hosts: Vec::new(),
            });
            app.hosts.push(spans);
        }
    }
}

impl Collector {
    /// A collector of the spans in `[from_ms, to_ms)`, with the coverage of `rules`.
    #[must_use]
    pub fn new(from_ms: i64, to_ms: i64, rules: &Rules) -> Self {
        let cover_ms = rules.interval_ms.saturating_mul(3);
        Self {
            range: (cover_ms, from_ms, to_ms),
            apps: Apps::default(),
            host: HostCollector::new(cover_ms, from_ms, to_ms),
        }
    }

    /// How far before the range a snapshot still covers its start.
    #[must_use]
    pub fn lead_ms(&self) -> i64 {
        self.range.0
    }

    /// The current host's spans until `until_ms` (the part of the range it had folded into
    /// minute rows: [`host_spans`] of it), before its snapshots pushed next, which count from
    /// there.
    pub fn extend(&mut self, earlier: HostSpans, until_ms: i64) {
        let mut spans = earlier;
        spans.extend(std::mem::take(&mut self.host.spans));
        self.host.spans = spans;
        self.host.from_ms = self.host.from_ms.max(until_ms);
    }

    /// The current host's next snapshot, captured at `captured_ms`.
    pub fn push(&mut self, captured_ms: i64, apps: &[(String, WatchedState)]) {
        self.host.push(captured_ms, apps);
    }

    /// The current host has no more snapshots; the next pushed are another host's.
    pub fn end_host(&mut self) {
        let (cover, from, to) = self.range;
        let host = std::mem::replace(&mut self.host, HostCollector::new(cover, from, to));
        self.apps.add_host(host.finish());
    }

    /// Every app's spans, by lower-cased name.
    #[must_use]
    pub fn finish(mut self) -> BTreeMap<String, AppSpans> {
        self.end_host();
        self.apps.0
    }
}

/// The spans of every watched app reported by `hosts` in `[from_ms, to_ms)`, by lower-cased
/// app name.
///
/// # Errors
/// The store's.
pub fn spans_by_app(
    store: &Stores,
    hosts: &[String],
    from_ms: i64,
    to_ms: i64,
    rules: &Rules,
) -> Result<BTreeMap<String, AppSpans>, idlewatch_store::Error> {
    let cover_ms = rules.interval_ms.saturating_mul(3);
    let mut apps = Apps::default();
    for host in hosts {
        apps.add_host(host_spans(store, host, from_ms, to_ms, cover_ms)?);
    }
    Ok(apps.0)
}
