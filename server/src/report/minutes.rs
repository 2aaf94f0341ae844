//! Utilization and timelines from the minute and day tiers: the part of a range before a host's
//! `detail_from` is read from its minute rows, which hold the seconds its snapshots covered
//! minute by minute, and — for whole hours of days folded whole — from its day rows, which hold
//! them hour by hour; so the days and bands add up to what the snapshots gave (exactly, for
//! ranges that start and end on whole minutes; a minute counts in a range when it starts in
//! it). Usage reads an hour's minutes only where a local day cuts it, or opening hours off the
//! quarter hour (each hour keeps its active time per quarter); past
//! `[retention] minutes` only the hours are left, and an hour counts when it starts in the
//! range. Within a row, bands are laid out active, then idle, then offline: the order inside
//! it is not kept, the seconds are.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use idlewatch_store::{DAY_MS, HOUR_MS, MinuteRow, QUARTER_MS, day_of};

use super::scan::each_summary;
use super::usage::{
    Band, DayUsage, Point, Rules, each_day, extend_bands, overlap, push_band, timeline,
};
use crate::stores::Stores;

/// A host's bands and each watched app's.
pub type Bands = (Vec<Band>, BTreeMap<String, Vec<Band>>);

/// Per local day of `[from_ms, to_ms)`, what one host did, from its minute and hour rows (in
/// order).
///
/// # Errors
/// When a time falls outside what the time zone library supports.
pub fn minute_days(
    rows: &[MinuteRow],
    from_ms: i64,
    to_ms: i64,
    rules: &Rules,
) -> Result<Vec<DayUsage>, jiff::Error> {
    let mut days = Vec::new();
    each_day(from_ms, to_ms, rules, |date, range, open| {
        let mut usage = DayUsage::new(date);
        usage.open_ms = open.iter().map(|o| (o.1 - o.0).max(0)).sum();
        let first = rows.partition_point(|r| r.at_ms < range.0);
        let end = rows.partition_point(|r| r.at_ms < range.1);
        let mut covered = 0;
        for row in &rows[first..end] {
            let m = &row.minute;
            let (active, idle) = (i64::from(m.active_ms), i64::from(m.idle_ms));
            usage.active_ms += active;
            usage.idle_ms += idle;
            covered += active + idle;
            usage.active_open_ms += active_open(row, open);
            // Names are cloned only the first time a day sees them: a year of a lab reads
            // ~9,000 rows per PC.
            for (app, state, ms) in &m.apps {
                match usage.apps.get_mut(&**app) {
                    Some(time) => time.add(*state, i64::from(*ms)),
                    None => usage
                        .apps
                        .entry(app.to_string())
                        .or_default()
                        .add(*state, i64::from(*ms)),
                }
            }
            for user in &m.users {
                if !usage.users.contains(&**user) {
                    usage.users.insert(user.to_string());
                }
            }
            usage.logons += u64::from(m.logons);
        }
        usage.offline_ms = (range.1 - range.0 - covered).max(0);
        days.push(usage);
    })?;
    Ok(days)
}

/// The active time of `row` inside opening hours `open`: an hour's quarters split it; a part
/// of a minute or quarter partly inside (opening hours need not start on the minute when the
/// range does not) counts its share.
fn active_open(row: &MinuteRow, open: &[(i64, i64)]) -> i64 {
    let share = |at: i64, length: i64, active: i64| {
        let open_ms: i64 = open.iter().map(|o| overlap((at, at + length), *o)).sum();
        if open_ms >= length {
            active
        } else {
            active * open_ms / length
        }
    };
    match row.active_quarters {
        Some(quarters) => (0..4)
            .map(|q| {
                share(
                    row.at_ms + q * QUARTER_MS,
                    QUARTER_MS,
                    i64::from(quarters[q as usize]),
                )
            })
            .sum(),
        None => share(row.at_ms, row.span_ms, i64::from(row.minute.active_ms)),
    }
}

/// The bands of `[from_ms, to_ms)` from minute and hour rows (in order): per row its active,
/// idle and offline time in that order, and each watched app's states; time without a row is
/// offline.
#[must_use]
pub fn minute_bands(rows: &[MinuteRow], from_ms: i64, to_ms: i64) -> Bands {
    let mut bands = Vec::new();
    let mut apps: BTreeMap<String, Vec<Band>> = BTreeMap::new();
    let mut at = from_ms;
    for row in rows
        .iter()
        .filter(|r| r.at_ms >= from_ms && r.at_ms < to_ms)
    {
        let end_of_minute = (row.at_ms + row.span_ms).min(to_ms);
        push_band(&mut bands, at, row.at_ms, "offline");
        let mut t = row.at_ms;
        for (ms, state) in [
            (row.minute.active_ms, "active"),
            (row.minute.idle_ms, "idle"),
        ] {
            let end = (t + i64::from(ms)).min(end_of_minute);
            push_band(&mut bands, t, end, state);
            t = end;
        }
        push_band(&mut bands, t, end_of_minute, "offline");
        let mut by_app: BTreeMap<&str, i64> = BTreeMap::new();
        for (app, state, ms) in &row.minute.apps {
            let start = by_app.entry(&**app).or_insert(row.at_ms);
            let end = (*start + i64::from(*ms)).min(end_of_minute);
            push_band(
                apps.entry(app.to_string()).or_default(),
                *start,
                end,
                state.as_str(),
            );
            *start = end;
        }
        at = end_of_minute;
    }
    push_band(&mut bands, at, to_ms, "offline");
    (bands, apps)
}

/// The days of `[from_ms, to_ms)` read from `host`'s day and minute rows (`detail_from`: its
/// [`Store::detail_from`], as the caller read it), a month of day rows
/// or a week of minute rows (at most 10,080) at a time, a day cut by a window's end added up
/// again.
///
/// # Errors
/// The store's, or a time outside the time zone library's range.
pub fn aged_days<E: From<idlewatch_store::Error> + From<jiff::Error>>(
    store: &Stores,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    detail_from: Option<i64>,
    rules: &Rules,
) -> Result<Vec<DayUsage>, E> {
    let mut out: Vec<DayUsage> = Vec::new();
    // Days folded whole are read as hours (and the minutes of their few cut hours): a month
    // at a time holds at most 744 hour rows.
    let whole_days_end = detail_from.map_or(i64::MIN, day_of);
    let mut window = from_ms;
    // One buffer for every window: a year reads ~9,000 rows per PC.
    let mut rows = Vec::new();
    while window < to_ms {
        let days = if window < whole_days_end { 31 } else { 7 };
        let end = window.saturating_add(days * DAY_MS).min(to_ms);
        let cut = cut_hours(window, end, rules)?;
        rows.clear();
        store.each_tier_row(
            host,
            window,
            end,
            |hour| cut.contains(&hour),
            |row| {
                rows.push(row);
                Ok::<bool, idlewatch_store::Error>(true)
            },
        )?;
        for day in minute_days(&rows, window, end, rules)? {
            match out.last_mut() {
                Some(last) if last.date == day.date => last.absorb(&day),
                _ => out.push(day),
            }
        }
        window = end;
    }
    Ok(out)
}

/// The hours of `[from_ms, to_ms)` that a local day starts or ends inside of, or opening hours
/// off the quarter hour: their minutes are needed to split them.
fn cut_hours(from_ms: i64, to_ms: i64, rules: &Rules) -> Result<BTreeSet<i64>, jiff::Error> {
    let mut cut = BTreeSet::new();
    each_day(from_ms, to_ms, rules, |_, range, open| {
        let days = [range.0, range.1].into_iter().map(|at| (at, HOUR_MS));
        let ends = open
            .iter()
            .flat_map(|o| [(o.0, QUARTER_MS), (o.1, QUARTER_MS)]);
        for (at, unit) in days.chain(ends) {
            if at.rem_euclid(unit) != 0 {
                cut.insert(at.div_euclid(HOUR_MS) * HOUR_MS);
            }
        }
    })?;
    Ok(cut)
}

/// `host`'s activity over `[from_ms, to_ms)` as bands, and each watched app's states: from its
/// minute rows up to where its snapshots start to count, from the snapshots after (the one
/// just before covering the start), by the reports' coverage rule.
///
/// # Errors
/// The store's.
pub fn host_timeline(
    store: &Stores,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    interval_ms: i64,
) -> Result<Bands, idlewatch_store::Error> {
    loop {
        let detail_from = store.detail_from(host)?;
        let bands = tiered_timeline(store, host, from_ms, to_ms, interval_ms, detail_from)?;
        // Aging moved the split meanwhile: what was read may miss its hours.
        if store.detail_from(host)? == detail_from {
            return Ok(bands);
        }
    }
}

fn tiered_timeline(
    store: &Stores,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    interval_ms: i64,
    detail_from: Option<i64>,
) -> Result<Bands, idlewatch_store::Error> {
    let split = detail_from.unwrap_or(i64::MIN).clamp(from_ms, to_ms);
    let minutes = store.tier_rows(host, from_ms, split, |_| true)?;
    let mut points = Vec::new();
    if let Some(lead) = store.record_before(host, split - interval_ms.saturating_mul(3), split)? {
        points.push(Point::of(lead.captured_ms, &lead.summary));
    }
    each_summary(store, host, split, to_ms, |row| {
        points.push(Point::of(row.captured_ms, &row.summary));
        Ok::<(), idlewatch_store::Error>(())
    })?;
    let (mut bands, mut apps) = minute_bands(&minutes, from_ms, split);
    let (later, later_apps) = timeline(&points, split, to_ms, interval_ms);
    extend_bands(&mut bands, later);
    for (app, app_bands) in later_apps {
        extend_bands(apps.entry(app).or_default(), app_bands);
    }
    Ok((bands, apps))
}

#[cfg(test)]
pub(crate) mod tests;
