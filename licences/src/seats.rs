//! Seats over time, from what the PCs report: how many PCs held a watched app at once
//! (`running`: interactive, computing or idle) and how many used it (`in use`: interactive or
//! computing), the peak of each and when it came, licence-hours per state, the shape of a week
//! (per hour of the week, the mean and peak in use), and what releasing every seat idle longer
//! than a limit would have needed ([`reclaim`]). Pure: the caller turns stored snapshots into
//! [`StateSpan`]s per PC.

use idlewatch_protocol::{StateSpan, WatchedState};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Hours in a week: the grid's cells, Monday 00:00–01:00 first.
pub const WEEK_HOURS: usize = 7 * 24;

const HOUR_MS: i64 = 3_600_000;

fn is_running(state: WatchedState) -> bool {
    !matches!(state, WatchedState::NotRunning)
}

fn is_in_use(state: WatchedState) -> bool {
    matches!(state, WatchedState::Interactive | WatchedState::Computing)
}

/// The most seats held at once, and when that was first reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Peak {
    /// Seats.
    pub seats: u32,
    /// When first reached (epoch ms); `None` when no seat was ever held.
    pub at_ms: Option<i64>,
}

impl Peak {
    fn see(&mut self, seats: u32, at_ms: i64) {
        if seats > self.seats {
            self.seats = seats;
            self.at_ms = Some(at_ms);
        }
    }
}

/// Licence-hours (seat-hours) in each state of a running app.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StateHours {
    /// In focus with the user active.
    pub interactive: f64,
    /// Computing (a solver running).
    pub computing: f64,
    /// Open, unused.
    pub idle: f64,
}

/// Seats in use per hour of the week (Monday 00:00 first, in the report's time zone).
#[derive(Debug, Clone, PartialEq)]
pub struct WeekGrid {
    /// Seat-milliseconds in use in each hour of the week, summed over every week of the range.
    in_use_ms: Vec<f64>,
    /// Milliseconds of each hour of the week the range covers.
    covered_ms: Vec<i64>,
    /// The most seats in use at once in each hour of the week.
    peak: Vec<u32>,
}

impl Default for WeekGrid {
    fn default() -> Self {
        Self {
            in_use_ms: vec![0.0; WEEK_HOURS],
            covered_ms: vec![0; WEEK_HOURS],
            peak: vec![0; WEEK_HOURS],
        }
    }
}

impl WeekGrid {
    /// The mean seats in use in hour `hour` (0–23) of weekday `day` (0 = Monday); `None` when
    /// the range does not cover it.
    #[must_use]
    pub fn mean(&self, day: usize, hour: usize) -> Option<f64> {
        let i = day * 24 + hour;
        let covered = *self.covered_ms.get(i)?;
        (covered > 0).then(|| self.in_use_ms[i] / covered as f64)
    }

    /// The most seats in use at once in hour `hour` of weekday `day` (0 = Monday).
    #[must_use]
    pub fn peak(&self, day: usize, hour: usize) -> u32 {
        self.peak.get(day * 24 + hour).copied().unwrap_or(0)
    }
}

/// What [`seats`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Seats {
    /// The most PCs holding the app at once.
    pub peak_running: Peak,
    /// The most PCs using it at once.
    pub peak_in_use: Peak,
    /// Licence-hours per state.
    pub hours: StateHours,
    /// The week's shape.
    pub week: WeekGrid,
}

/// The local hours of `[from_ms, to_ms)` in `tz`: each hour's start (clipped to the range)
/// and its cell of the week.
struct Hours {
    starts: Vec<i64>,
    cells: Vec<usize>,
    to_ms: i64,
}

impl Hours {
    fn of(from_ms: i64, to_ms: i64, tz: &TimeZone) -> Self {
        let mut starts = Vec::new();
        let mut cells = Vec::new();
        let mut t = from_ms;
        while t < to_ms {
            let Ok(at) = Timestamp::from_millisecond(t) else {
                break;
            };
            let local = at.to_zoned_datetime(tz.clone());
            let into_hour = (i64::from(local.minute()) * 60 + i64::from(local.second())) * 1000
                + i64::from(local.millisecond());
            let day = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
            let hour = usize::try_from(local.hour()).unwrap_or(0);
            starts.push(t);
            cells.push(day * 24 + hour);
            t = t - into_hour + HOUR_MS;
        }
        Self {
            starts,
            cells,
            to_ms,
        }
    }

    /// The index of the hour holding `t` (`t` within the range).
    fn index_of(&self, t: i64) -> usize {
        self.starts.partition_point(|&s| s <= t).saturating_sub(1)
    }

    fn end_of(&self, i: usize) -> i64 {
        self.starts.get(i + 1).copied().unwrap_or(self.to_ms)
    }
}

/// Calls `each(start, end, running, in_use)` for every stretch of `[from_ms, to_ms)` during
/// which the counts of PCs holding and using the app stay the same (stretches with no PC at
/// all included), in time order.
pub fn sweep(
    hosts: &[Vec<StateSpan>],
    from_ms: i64,
    to_ms: i64,
    mut each: impl FnMut(i64, i64, u32, u32),
) {
    let mut events: Vec<(i64, i32, i32)> = Vec::new();
    for spans in hosts {
        for s in spans {
            let (start, end) = (s.start_ms.max(from_ms), s.end_ms.min(to_ms));
            if start >= end {
                continue;
            }
            let r = i32::from(is_running(s.state));
            let u = i32::from(is_in_use(s.state));
            if r + u > 0 {
                events.push((start, r, u));
                events.push((end, -r, -u));
            }
        }
    }
    events.sort_unstable_by_key(|e| e.0);
    let (mut running, mut in_use) = (0i32, 0i32);
    let mut at = from_ms;
    let mut i = 0;
    while at < to_ms {
        while i < events.len() && events[i].0 <= at {
            running += events[i].1;
            in_use += events[i].2;
            i += 1;
        }
        let next = events.get(i).map_or(to_ms, |e| e.0.min(to_ms));
        each(
            at,
            next,
            u32::try_from(running).unwrap_or(0),
            u32::try_from(in_use).unwrap_or(0),
        );
        at = next;
    }
}

/// The seats of the app over `[from_ms, to_ms)` across `hosts` (each PC's spans, in time
/// order, not overlapping), with hours of the week read in `tz`.
#[must_use]
pub fn seats(hosts: &[Vec<StateSpan>], from_ms: i64, to_ms: i64, tz: &TimeZone) -> Seats {
    let mut out = Seats::default();
    for s in hosts.iter().flatten() {
        let ms = (s.end_ms.min(to_ms) - s.start_ms.max(from_ms)).max(0) as f64;
        let hours = ms / HOUR_MS as f64;
        match s.state {
            WatchedState::Interactive => out.hours.interactive += hours,
            WatchedState::Computing => out.hours.computing += hours,
            WatchedState::Idle => out.hours.idle += hours,
            WatchedState::NotRunning => {}
        }
    }
    let grid = Hours::of(from_ms, to_ms, tz);
    for i in 0..grid.starts.len() {
        out.week.covered_ms[grid.cells[i]] += grid.end_of(i) - grid.starts[i];
    }
    sweep(hosts, from_ms, to_ms, |start, end, running, in_use| {
        if running > 0 {
            out.peak_running.see(running, start);
        }
        if in_use == 0 {
            return;
        }
        out.peak_in_use.see(in_use, start);
        let mut h = grid.index_of(start);
        let mut t = start;
        while t < end && h < grid.starts.len() {
            let until = grid.end_of(h).min(end);
            let cell = grid.cells[h];
            out.week.in_use_ms[cell] += f64::from(in_use) * (until - t) as f64;
            out.week.peak[cell] = out.week.peak[cell].max(in_use);
            t = until;
            h += 1;
        }
    });
    out
}

/// A PC's spans as if its seat had been released once the app sat idle for `after_ms`: the rest
/// of that idle stretch counts as not running (the seat back in the pool) until the app is used
/// again. A gap between spans (the PC off or silent) ends a stretch.
#[must_use]
pub fn reclaim(spans: &[StateSpan], after_ms: i64) -> Vec<StateSpan> {
    let mut out = Vec::with_capacity(spans.len() + 1);
    let mut idle_since: Option<i64> = None;
    let mut last_end: Option<i64> = None;
    for s in spans {
        if last_end != Some(s.start_ms) {
            idle_since = None;
        }
        last_end = Some(s.end_ms);
        if s.state != WatchedState::Idle {
            idle_since = None;
            out.push(*s);
            continue;
        }
        let release = idle_since
            .get_or_insert(s.start_ms)
            .saturating_add(after_ms);
        let released = StateSpan {
            state: WatchedState::NotRunning,
            ..*s
        };
        if release >= s.end_ms {
            out.push(*s);
        } else if release <= s.start_ms {
            out.push(released);
        } else {
            out.push(StateSpan {
                end_ms: release,
                ..*s
            });
            out.push(StateSpan {
                start_ms: release,
                ..released
            });
        }
    }
    out
}

/// One week of a reclaim simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekPeaks {
    /// Its start (Monday 00:00 local, or the range's start), epoch ms.
    pub start_ms: i64,
    /// The most seats held at once, as it was.
    pub held: Peak,
    /// The most seats needed at once had idle seats been released.
    pub needed: Peak,
}

/// Per week of `[from_ms, to_ms)` (weeks start on Monday 00:00 in `tz`): the peak seats held as
/// it was, and the peak needed had every seat idle longer than `after_ms` been released.
#[must_use]
pub fn simulate(
    hosts: &[Vec<StateSpan>],
    after_ms: i64,
    from_ms: i64,
    to_ms: i64,
    tz: &TimeZone,
) -> Vec<WeekPeaks> {
    let grid = Hours::of(from_ms, to_ms, tz);
    let mut weeks: Vec<WeekPeaks> = Vec::new();
    // The index of the week each hour belongs to.
    let mut week_of_hour = Vec::with_capacity(grid.starts.len());
    for (i, &start) in grid.starts.iter().enumerate() {
        if weeks.is_empty() || grid.cells[i] == 0 {
            weeks.push(WeekPeaks {
                start_ms: start,
                held: Peak::default(),
                needed: Peak::default(),
            });
        }
        week_of_hour.push(weeks.len() - 1);
    }
    let mut record = |spans: &[Vec<StateSpan>], needed: bool| {
        sweep(spans, from_ms, to_ms, |start, end, running, _| {
            if running == 0 {
                return;
            }
            let mut h = grid.index_of(start);
            let mut t = start;
            while t < end && h < grid.starts.len() {
                let week = &mut weeks[week_of_hour[h]];
                let peak = if needed {
                    &mut week.needed
                } else {
                    &mut week.held
                };
                peak.see(running, t);
                // Jump to the next week's first hour.
                let w = week_of_hour[h];
                while h < grid.starts.len() && week_of_hour[h] == w {
                    h += 1;
                }
                t = grid.starts.get(h).copied().unwrap_or(to_ms);
            }
        });
    };
    record(hosts, false);
    let reclaimed: Vec<Vec<StateSpan>> = hosts.iter().map(|s| reclaim(s, after_ms)).collect();
    record(&reclaimed, true);
    weeks
}

#[cfg(test)]
mod tests;
