//! Utilization, defined once: each snapshot covers the time until the host's next one, capped at
//! 3 × the report interval; beyond that the host is offline. Time is split into the report time
//! zone's days; for each host and day it adds up active time (`user_active`), idle time, offline
//! time, the time each watched application spent in each state, and the active time inside
//! opening hours over their length (utilization). Sessions count too: a logon is a snapshot
//! whose session (user and logon time) differs from the one before it, and a day's users are
//! those named by the snapshots covering part of it.

use std::collections::{BTreeMap, BTreeSet};

use idlewatch_store::SessionSummary;

use idlewatch_protocol::WatchedState;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::hours::OpenHours;

/// A snapshot reduced to what utilization needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Capture time, epoch ms.
    pub at_ms: i64,
    /// Whether the user was active (unknown counts as not).
    pub user_active: bool,
    /// Each watched application's state.
    pub apps: Vec<(String, WatchedState)>,
    /// The user session at the machine, if the snapshot names one.
    pub session: Option<SessionSummary>,
}

impl Point {
    /// Whether this point starts a session (a logon): it names one that `before` (the host's
    /// previous point) did not. With no previous point, a session whose logon time is known
    /// counts only when it began at or after `counted_from` (the start of the counted part of
    /// the point's day): one already running before is not that day's logon.
    fn starts_session(&self, before: Option<&Self>, counted_from: i64) -> bool {
        let Some(session) = &self.session else {
            return false;
        };
        match before {
            Some(before) => before.session.as_ref() != Some(session),
            None => session.since_ms.is_none_or(|since| since >= counted_from),
        }
    }
}

/// How to count.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The hosts' report interval; a snapshot covers at most 3 × this.
    pub interval_ms: i64,
    /// Days are this zone's days.
    pub time_zone: TimeZone,
    /// Opening hours, in that zone.
    pub open: OpenHours,
}

/// Milliseconds a watched application spent in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppTime {
    /// In focus, user active.
    pub interactive_ms: i64,
    /// Using CPU without the user.
    pub computing_ms: i64,
    /// Running, unused.
    pub idle_ms: i64,
    /// Not running (while the host was online).
    pub not_running_ms: i64,
}

impl AppTime {
    pub(super) fn add(&mut self, state: WatchedState, ms: i64) {
        let slot = match state {
            WatchedState::Interactive => &mut self.interactive_ms,
            WatchedState::Computing => &mut self.computing_ms,
            WatchedState::Idle => &mut self.idle_ms,
            WatchedState::NotRunning => &mut self.not_running_ms,
        };
        *slot += ms;
    }
}

/// One host's day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayUsage {
    /// The local date.
    pub date: Date,
    /// Reporting, user active.
    pub active_ms: i64,
    /// Reporting, user not active.
    pub idle_ms: i64,
    /// Not reporting.
    pub offline_ms: i64,
    /// Length of the day's opening hours (within the counted range).
    pub open_ms: i64,
    /// Active time inside opening hours.
    pub active_open_ms: i64,
    /// Per watched application.
    pub apps: BTreeMap<String, AppTime>,
    /// Sessions begun this day.
    pub logons: u64,
    /// The users logged on at some time of the day (names as the agents report them).
    pub users: BTreeSet<String>,
}

impl DayUsage {
    pub(super) fn new(date: Date) -> Self {
        Self {
            date,
            active_ms: 0,
            idle_ms: 0,
            offline_ms: 0,
            open_ms: 0,
            active_open_ms: 0,
            apps: BTreeMap::new(),
            logons: 0,
            users: BTreeSet::new(),
        }
    }

    /// Adds another host's figures for the same day (group totals).
    pub fn absorb(&mut self, other: &Self) {
        self.active_ms += other.active_ms;
        self.idle_ms += other.idle_ms;
        self.offline_ms += other.offline_ms;
        self.open_ms += other.open_ms;
        self.active_open_ms += other.active_open_ms;
        for (app, time) in &other.apps {
            let mine = self.apps.entry(app.clone()).or_default();
            mine.interactive_ms += time.interactive_ms;
            mine.computing_ms += time.computing_ms;
            mine.idle_ms += time.idle_ms;
            mine.not_running_ms += time.not_running_ms;
        }
        self.logons += other.logons;
        self.users.extend(other.users.iter().cloned());
    }

    /// Active share of opening hours, 0–1 (`None` on a closed day).
    #[must_use]
    pub fn utilization(&self) -> Option<f64> {
        (self.open_ms > 0).then(|| self.active_open_ms as f64 / self.open_ms as f64)
    }
}

/// A span of time and what the host was doing (`None`: offline).
struct Span<'a> {
    start: i64,
    end: i64,
    state: Option<&'a Point>,
}

/// Covered and uncovered spans over `[from_ms, to_ms)`, from points sorted by time.
fn spans<'a>(points: &'a [Point], from_ms: i64, to_ms: i64, interval_ms: i64) -> Vec<Span<'a>> {
    let cap = interval_ms.saturating_mul(3);
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    let mut cursor = from_ms;
    for (i, p) in points.iter().enumerate() {
        let next = points.get(i + 1).map_or(to_ms, |n| n.at_ms);
        let start = p.at_ms.max(from_ms);
        let end = next.min(p.at_ms.saturating_add(cap)).min(to_ms);
        if end <= start {
            continue;
        }
        if start > cursor {
            out.push(Span {
                start: cursor,
                end: start,
                state: None,
            });
        }
        out.push(Span {
            start,
            end,
            state: Some(p),
        });
        cursor = end;
    }
    if cursor < to_ms {
        out.push(Span {
            start: cursor,
            end: to_ms,
            state: None,
        });
    }
    out
}

pub(super) fn overlap(a: (i64, i64), b: (i64, i64)) -> i64 {
    (a.1.min(b.1) - a.0.max(b.0)).max(0)
}

fn ms_of(zdt: &jiff::ZonedDateTime) -> i64 {
    zdt.timestamp().as_millisecond()
}

/// Per local day of `[from_ms, to_ms)`, what one host did, from its points (sorted by time).
///
/// # Errors
/// When a time falls outside what the time zone library supports.
pub fn host_days(
    points: &[Point],
    from_ms: i64,
    to_ms: i64,
    rules: &Rules,
) -> Result<Vec<DayUsage>, jiff::Error> {
    let spans = spans(points, from_ms, to_ms, rules.interval_ms);
    let mut days = Vec::new();
    each_day(from_ms, to_ms, rules, |date, range, open| {
        let mut usage = DayUsage::new(date);
        usage.open_ms = open.iter().map(|o| (o.1 - o.0).max(0)).sum();
        for span in &spans {
            let ms = overlap((span.start, span.end), range);
            if ms == 0 {
                continue;
            }
            let Some(point) = span.state else {
                usage.offline_ms += ms;
                continue;
            };
            if point.user_active {
                usage.active_ms += ms;
                let clipped = (span.start.max(range.0), span.end.min(range.1));
                usage.active_open_ms += open.iter().map(|o| overlap(clipped, *o)).sum::<i64>();
            } else {
                usage.idle_ms += ms;
            }
            for (app, state) in &point.apps {
                usage.apps.entry(app.clone()).or_default().add(*state, ms);
            }
            if let Some(session) = &point.session
                && !session.user.is_empty()
                && !usage.users.contains(&session.user)
            {
                usage.users.insert(session.user.clone());
            }
        }
        let first = points.partition_point(|p| p.at_ms < range.0);
        let end = points.partition_point(|p| p.at_ms < range.1);
        usage.logons = (first..end)
            .filter(|&i| points[i].starts_session(i.checked_sub(1).map(|b| &points[b]), range.0))
            .count() as u64;
        days.push(usage);
    })?;
    Ok(days)
}

/// Calls `each` with every local day of `[from_ms, to_ms)`: its date, the part of it in the
/// range, and its opening hours within that part.
///
/// # Errors
/// When a time falls outside what the time zone library supports.
pub(super) fn each_day(
    from_ms: i64,
    to_ms: i64,
    rules: &Rules,
    mut each: impl FnMut(Date, (i64, i64), &[(i64, i64)]),
) -> Result<(), jiff::Error> {
    let mut day_start = Timestamp::from_millisecond(from_ms)?
        .to_zoned_datetime(rules.time_zone.clone())
        .start_of_day()?;
    while ms_of(&day_start) < to_ms {
        let date = day_start.date();
        let next = date
            .tomorrow()?
            .to_zoned_datetime(rules.time_zone.clone())?;
        let range = (ms_of(&day_start).max(from_ms), ms_of(&next).min(to_ms));
        let open: Vec<(i64, i64)> = rules
            .open
            .spans(date.weekday())
            .into_iter()
            .map(|(s, e)| {
                let at = |minutes: u16| -> Result<i64, jiff::Error> {
                    if minutes >= 24 * 60 {
                        return Ok(ms_of(&next));
                    }
                    let t = date
                        .at(
                            i8::try_from(minutes / 60).unwrap_or(0),
                            i8::try_from(minutes % 60).unwrap_or(0),
                            0,
                            0,
                        )
                        .to_zoned_datetime(rules.time_zone.clone())?;
                    Ok(ms_of(&t))
                };
                Ok((at(s)?.max(range.0), at(e)?.min(range.1)))
            })
            .collect::<Result<_, jiff::Error>>()?;
        each(date, range, &open);
        day_start = next;
    }
    Ok(())
}

pub use idlewatch_protocol::api::Band;

/// Appends a band, merged with the last when they touch and agree; empty ones are dropped.
pub(super) fn push_band(bands: &mut Vec<Band>, start: i64, end: i64, state: &'static str) {
    if end <= start {
        return;
    }
    match bands.last_mut() {
        Some(last) if last.end == start && last.state == state => last.end = end,
        _ => bands.push(Band {
            start,
            end,
            state: std::borrow::Cow::Borrowed(state),
        }),
    }
}

/// Appends `more` (later bands) to `bands`, merging where they meet in the same state.
pub fn extend_bands(bands: &mut Vec<Band>, more: Vec<Band>) {
    for band in more {
        match bands.last_mut() {
            Some(last) if last.end == band.start && last.state == band.state => {
                last.end = band.end;
            }
            _ => bands.push(band),
        }
    }
}

/// The host's activity over `[from_ms, to_ms)` as bands (`active`, `idle`, `offline`, adjacent
/// equal ones merged), and each watched app's states (gaps where the app was not reported),
/// by the same coverage rule as [`host_days`].
#[must_use]
pub fn timeline(
    points: &[Point],
    from_ms: i64,
    to_ms: i64,
    interval_ms: i64,
) -> (Vec<Band>, BTreeMap<String, Vec<Band>>) {
    let mut bands = Vec::new();
    let mut apps: BTreeMap<String, Vec<Band>> = BTreeMap::new();
    for span in spans(points, from_ms, to_ms, interval_ms) {
        let Some(point) = span.state else {
            push_band(&mut bands, span.start, span.end, "offline");
            continue;
        };
        let state = if point.user_active { "active" } else { "idle" };
        push_band(&mut bands, span.start, span.end, state);
        for (app, app_state) in &point.apps {
            push_band(
                apps.entry(app.clone()).or_default(),
                span.start,
                span.end,
                app_state.as_str(),
            );
        }
    }
    (bands, apps)
}

/// Totals per group and day from per-host days: `hosts` pairs each host's group (`None` for
/// hosts without one, totalled under "") with its days.
#[must_use]
pub fn group_totals<'a>(
    hosts: impl IntoIterator<Item = (Option<&'a str>, &'a [DayUsage])>,
) -> BTreeMap<(String, Date), DayUsage> {
    let mut totals: BTreeMap<(String, Date), DayUsage> = BTreeMap::new();
    for (group, days) in hosts {
        for day in days {
            totals
                .entry((group.unwrap_or_default().to_owned(), day.date))
                .or_insert_with(|| DayUsage::new(day.date))
                .absorb(day);
        }
    }
    totals
}

#[cfg(test)]
mod tests;
