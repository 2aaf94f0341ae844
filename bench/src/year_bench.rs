//! The year measurement: the minute and day tiers of a generated year of a lab (by default 100
//! PCs × 365 days), written as aging writes them, then read the way the reports read them — a
//! year of utilization of the whole group (`usage_by_day`) from the day rows, from the day rows
//! with the hours a local day cuts read from their minutes, and from the minute
//! rows alone (how it was read before day rows) — and the bytes each tier takes. Zones and
//! opening hours: UTC and 08:00–20:00 (whole hours), UTC+1 and 08:30–17:45 (quarters), UTC+5:30
//! (local days cut hours).
//!
//! The rows are generated from a model of a lab PC's day rather than folded from a year of
//! snapshots (63 million per 10 PCs: hours here), since folding is measured on its own by
//! `idlewatch-store-bench --age`: open 08:00–20:00, sessions of 20 minutes to 3 hours by one of
//! 400 students, active most of their minutes, a watched application open in a third of them
//! and computing or idle for part of it, CPU and memory levels, one of a few foreground
//! programs; the PC on and idle between sessions, off at night.

use std::path::Path;
use std::time::Instant;

use idlewatch_format::days::build_day;
use idlewatch_format::minutes::{HOUR_MS, HourBlock, Level, MINUTE_MS, Minute};
use idlewatch_format::{DAY_MS, DETAIL_FROM, HOST_IDS, HOST_NAMES, MINUTES};
use idlewatch_protocol::WatchedState;
use idlewatch_server::report::daily::usage_by_day;
use idlewatch_server::report::hours::OpenHours;
use idlewatch_server::report::minutes::minute_days;
use idlewatch_server::report::usage::Rules;
use idlewatch_store::{OpenOptions, STORE_FILE, Store};
use jiff::tz::{Offset, TimeZone};
use serde::Serialize;

/// 2025-09-01T00:00:00Z, a Monday: the generated year starts there.
const START_MS: i64 = 1_756_684_800_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct YearBenchOptions {
    /// PCs.
    pub hosts: u32,
    /// Days.
    pub days: u32,
    /// Seed of the model.
    pub seed: u64,
    /// Reads of each kind (the fastest is reported).
    pub repeats: u32,
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct YearReport {
    /// Host-days of day rows.
    pub day_rows: u64,
    /// Bytes of a host-day's day row (the compressed value alone).
    pub day_row_bytes: f64,
    /// Host-hours of minute rows.
    pub minute_hours: u64,
    /// Bytes of a host-hour's minute row.
    pub minute_hour_bytes: f64,
    /// The file after writing both tiers, bytes.
    pub file_bytes: u64,
    /// Time to generate and write the tiers, s.
    pub write_s: f64,
    /// A year of the group in UTC, opening hours on the hour: day rows only, ms.
    pub year_from_days_ms: f64,
    /// The same in a zone an hour from UTC with opening hours on the quarter (08:30–17:45):
    /// day rows, their quarters splitting the cut hours, ms.
    pub year_quarters_ms: f64,
    /// The same in a zone 5:30 from UTC: each local day's first and last hour read from
    /// minutes, ms.
    pub year_cut_hours_ms: f64,
    /// The same year from minute rows alone, ms.
    pub year_from_minutes_ms: f64,
    /// The year's active hours the day rows gave and the minutes gave (they must agree).
    pub active_hours: (f64, f64),
}

/// Generates the tiers in `dir` (an empty directory) and measures them.
///
/// # Errors
/// The store's, or a time outside the time zone library's range.
pub fn run(dir: &Path, options: &YearBenchOptions) -> anyhow::Result<YearReport> {
    {
        let (_, writer, _) = Store::open(dir, &OpenOptions::default())?;
        writer.stop();
    }
    let started = Instant::now();
    write_tiers(&dir.join(STORE_FILE), options)?;
    let write_s = started.elapsed().as_secs_f64();
    let (store, writer, _) = Store::open(dir, &OpenOptions::default())?;
    let store = idlewatch_server::stores::Stores::from(store);
    let (day_rows, day_bytes) = store.local().day_sizes()?;
    let (minute_hours, minute_bytes) = store.local().minute_sizes()?;
    let hosts: Vec<String> = (0..options.hosts).map(host_name).collect();
    let (from, to) = (START_MS, START_MS + i64::from(options.days) * DAY_MS);
    let utc = Rules {
        interval_ms: 5_000,
        time_zone: TimeZone::UTC,
        open: OpenHours::parse("Mon-Fri 08:00-20:00").map_err(anyhow::Error::msg)?,
    };
    let quarters = Rules {
        time_zone: TimeZone::fixed(Offset::from_seconds(3_600)?),
        open: OpenHours::parse("Mon-Fri 08:30-17:45").map_err(anyhow::Error::msg)?,
        ..utc.clone()
    };
    let cut = Rules {
        time_zone: TimeZone::fixed(Offset::from_seconds(19_800)?),
        ..quarters.clone()
    };
    let fastest = |f: &dyn Fn() -> anyhow::Result<f64>| -> anyhow::Result<(f64, f64)> {
        let mut best = f64::MAX;
        let mut value = 0.0;
        for _ in 0..options.repeats.max(1) {
            let t = Instant::now();
            value = f()?;
            best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok((best, value))
    };
    let active_hours = |days: &[idlewatch_server::report::usage::DayUsage]| -> f64 {
        days.iter().map(|d| d.active_ms as f64).sum::<f64>() / HOUR_MS as f64
    };
    let (year_from_days_ms, days_active) = fastest(&|| {
        let out = usage_by_day(&store, &hosts, from, to, &utc, &|_| false)?;
        Ok(out.iter().map(|h| active_hours(&h.days)).sum())
    })?;
    let (year_quarters_ms, _) = fastest(&|| {
        let out = usage_by_day(&store, &hosts, from, to, &quarters, &|_| false)?;
        Ok(out.iter().map(|h| active_hours(&h.days)).sum())
    })?;
    let (year_cut_hours_ms, _) = fastest(&|| {
        let out = usage_by_day(&store, &hosts, from, to, &cut, &|_| false)?;
        Ok(out.iter().map(|h| active_hours(&h.days)).sum())
    })?;
    let (year_from_minutes_ms, minutes_active) = fastest(&|| {
        let mut total = 0.0;
        for host in &hosts {
            let mut window = from;
            while window < to {
                let end = (window + 7 * DAY_MS).min(to);
                let rows = store.local().minutes(host, window, end)?;
                total += active_hours(&minute_days(&rows, window, end, &utc)?);
                window = end;
            }
        }
        Ok(total)
    })?;
    let file_bytes = std::fs::metadata(dir.join(STORE_FILE)).map_or(0, |m| m.len());
    writer.stop();
    let per = |bytes: u64, n: u64| if n == 0 { 0.0 } else { bytes as f64 / n as f64 };
    Ok(YearReport {
        day_rows,
        day_row_bytes: per(day_bytes, day_rows),
        minute_hours,
        minute_hour_bytes: per(minute_bytes, minute_hours),
        file_bytes,
        write_s,
        year_from_days_ms,
        year_quarters_ms,
        year_cut_hours_ms,
        year_from_minutes_ms,
        active_hours: (days_active, minutes_active),
    })
}

/// One line per figure.
#[must_use]
pub fn summary(r: &YearReport, o: &YearBenchOptions) -> String {
    format!(
        "{hosts} PCs × {days} days generated and written in {w:.1} s ({file:.1} MiB)\n\
         day rows: {dr} host-days, {drb:.0} B each\n\
         minute rows: {mh} host-hours, {mhb:.0} B each\n\
         a year of the group, UTC, opening hours on the hour (day rows): {a:.1} ms\n\
         the same, UTC+1, opening hours on the quarter (day rows, their quarters): {q:.1} ms\n\
         the same, UTC+5:30 (each local day's first and last hour from minutes): {b:.1} ms\n\
         the same from minute rows alone: {c:.1} ms\n\
         active hours (day rows / minutes): {d:.1} / {e:.1}",
        hosts = o.hosts,
        days = o.days,
        w = r.write_s,
        file = r.file_bytes as f64 / (1 << 20) as f64,
        dr = r.day_rows,
        drb = r.day_row_bytes,
        mh = r.minute_hours,
        mhb = r.minute_hour_bytes,
        a = r.year_from_days_ms,
        q = r.year_quarters_ms,
        b = r.year_cut_hours_ms,
        c = r.year_from_minutes_ms,
        d = r.active_hours.0,
        e = r.active_hours.1,
    )
}

fn host_name(i: u32) -> String {
    format!("lab-{i:03}")
}

/// Writes every PC's minute rows, day by day, and builds each day's row as aging does.
fn write_tiers(path: &Path, o: &YearBenchOptions) -> anyhow::Result<()> {
    let db = redb::Database::create(path)?;
    let mut rng = Rng(o.seed.max(1));
    for i in 0..o.hosts {
        let id = i + 1;
        let name = host_name(i);
        let txn = db.begin_write()?;
        txn.open_table(HOST_IDS)?.insert(name.as_str(), id)?;
        txn.open_table(HOST_NAMES)?.insert(id, name.as_str())?;
        for d in 0..i64::from(o.days) {
            let day_ms = START_MS + d * DAY_MS;
            let weekend = d % 7 >= 5;
            let hours = lab_day(&mut rng, weekend);
            {
                let mut minutes = txn.open_table(MINUTES)?;
                for (h, block) in &hours {
                    let bytes = block.encode().map_err(anyhow::Error::msg)?;
                    minutes.insert((id, day_ms + i64::from(*h) * HOUR_MS), bytes.as_slice())?;
                }
            }
            build_day(&txn, id, day_ms)?;
        }
        txn.open_table(DETAIL_FROM)?
            .insert(id, START_MS + i64::from(o.days) * DAY_MS)?;
        txn.commit()?;
    }
    Ok(())
}

/// One PC's day by the model in the module header: its hours with anything in them.
fn lab_day(rng: &mut Rng, weekend: bool) -> Vec<(u8, HourBlock)> {
    let mut minutes: Vec<Option<Minute>> = vec![None; 24 * 60];
    let (open, close) = if weekend {
        (10 * 60, 16 * 60)
    } else {
        (8 * 60, 20 * 60)
    };
    if weekend && rng.below(3) != 0 {
        return Vec::new();
    }
    for slot in &mut minutes[open..close] {
        *slot = Some(Minute {
            idle_ms: 60_000,
            cpu: Some(level(rng, 10)),
            memory: Some(level(rng, 300)),
            foreground: Some("explorer.exe".into()),
            ..Minute::default()
        });
    }
    let mut at = open + rng.below(60);
    while at < close {
        let length = (20 + rng.below(160)).min(close - at);
        let user = format!("s{:04}", rng.below(400));
        let app = rng.below(3) == 0;
        let program = ["code.exe", "chrome.exe", "word.exe", "ansys.exe"][rng.below(4)];
        for (k, slot) in minutes[at..at + length].iter_mut().enumerate() {
            let active = rng.below(6) != 0;
            let covered: u32 = 60_000;
            let mut m = Minute {
                active_ms: if active { covered } else { 0 },
                idle_ms: if active { 0 } else { covered },
                cpu: Some(level(rng, if active { 250 } else { 30 })),
                memory: Some(level(rng, 450)),
                foreground: Some(program.into()),
                users: std::iter::once(user.as_str().into()).collect(),
                logons: u32::from(k == 0),
                ..Minute::default()
            };
            if app {
                let state = match rng.below(10) {
                    0..=5 => WatchedState::Interactive,
                    6 | 7 => WatchedState::Computing,
                    _ => WatchedState::Idle,
                };
                m.apps.push(("Ansys".into(), state, covered));
            }
            *slot = Some(m);
        }
        at += length + rng.below(45);
    }
    let mut out = Vec::new();
    for h in 0..24u8 {
        let first = usize::from(h) * 60;
        let block = HourBlock {
            cover_ms: 15_000,
            minutes: minutes[first..first + 60]
                .iter()
                .enumerate()
                .filter_map(|(m, v)| v.clone().map(|v| (m as u8, v)))
                .collect(),
        };
        if !block.minutes.is_empty() {
            out.push((h, block));
        }
    }
    debug_assert!(
        out.iter()
            .all(|(_, b)| b.minutes.len() <= (HOUR_MS / MINUTE_MS) as usize)
    );
    out
}

fn level(rng: &mut Rng, around: usize) -> Level {
    let mean = around / 2 + rng.below(around.max(1));
    let mean_tenths = u16::try_from(mean.min(1000)).unwrap_or(1000);
    Level {
        mean_tenths,
        max_tenths: mean_tenths.saturating_add(u16::try_from(rng.below(100)).unwrap_or(0)),
    }
}

/// xorshift64: a reproducible model without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
