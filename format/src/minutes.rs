//! The minute tier: a host's snapshots folded, once their process detail is no longer kept,
//! into what each minute held — time active, idle and offline, the time of each watched app in
//! each state, mean and peak CPU and memory, the foreground process with the most time, the
//! users logged on and the logons begun — so that usage over a year reads 525,600 small rows
//! per host instead of 6.3 million snapshots, and gives the same seconds as the snapshots did.
//!
//! Folding uses the reports' coverage rule: a snapshot covers the time until the host's next
//! one, at most `cover_ms` (3 × the report interval); what no snapshot covers is offline. A
//! logon is a snapshot whose session differs from the one before it; the host's first snapshot
//! with no earlier one counts when its logon time is unknown or falls on its own UTC day.
//!
//! One row per host-hour ([`HourBlock`]), zstd-compressed: version `1`, varint cover, the
//! block's strings (varint count, each varint length + UTF-8), varint minute count, then per
//! minute with anything in it: its minute of the hour (one byte), a flags byte, and the fields
//! the flags name — active and idle ms (varints), the apps (count, then string index, state
//! byte and ms each), CPU and memory (mean and peak, tenths of a percent, varints), the
//! foreground process (string index), the users (count and string indexes), logons (varint).

use std::sync::Arc;

use idlewatch_protocol::WatchedState;
use smallvec::SmallVec;

use super::slots::{decode_slots, encode_slots};
use super::summary::Summary;

/// Milliseconds in a minute.
pub const MINUTE_MS: i64 = 60_000;
/// Milliseconds in an hour (one stored block).
pub const HOUR_MS: i64 = 3_600_000;

const VERSION: u8 = 1;

/// A time-weighted mean and the peak of a percentage, in tenths of a percent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Level {
    /// Mean over the covered time.
    pub mean_tenths: u16,
    /// Highest value of a snapshot covering part of the minute.
    pub max_tenths: u16,
}

/// One host-minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minute {
    /// Covered by a snapshot whose user was active.
    pub active_ms: u32,
    /// Covered by a snapshot whose user was not (or not known to be) active.
    pub idle_ms: u32,
    /// Each watched app's time in each state (apps in first-seen order). Names are shared
    /// with the block they were read from, and the first two kept inline: a year of a lab
    /// reads millions of rows, most with no more.
    pub apps: SmallVec<[(Arc<str>, WatchedState, u32); 2]>,
    /// Machine CPU.
    pub cpu: Option<Level>,
    /// Machine memory.
    pub memory: Option<Level>,
    /// The foreground process with the most covered time.
    pub foreground: Option<Arc<str>>,
    /// Users named by the snapshots covering part of the minute (none empty, sorted; the
    /// first two inline).
    pub users: SmallVec<[Arc<str>; 2]>,
    /// Sessions begun by snapshots captured in the minute.
    pub logons: u32,
}

impl Minute {
    /// Not reported at all: the minute is offline and no row is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.active_ms == 0 && self.idle_ms == 0 && self.logons == 0 && self.users.is_empty()
    }

    /// Milliseconds no snapshot covered.
    #[must_use]
    pub fn offline_ms(&self) -> i64 {
        (MINUTE_MS - i64::from(self.active_ms) - i64::from(self.idle_ms)).max(0)
    }
}

/// One host-hour: its minutes with anything in them, by minute of the hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourBlock {
    /// How long one snapshot covered at most when this was folded.
    pub cover_ms: i64,
    /// `(minute of the hour, the minute)`, in order.
    pub minutes: Vec<(u8, Minute)>,
}

/// A snapshot as folding sees it.
#[derive(Debug, Clone, Copy)]
pub struct FoldPoint<'a> {
    /// Capture time, epoch ms.
    pub at_ms: i64,
    /// Its summary.
    pub summary: &'a Summary,
}

impl HourBlock {
    /// Folds the hour starting at `hour_ms` from the host's snapshots: `before`, the last one
    /// captured before the hour (it may cover the hour's start); `points`, those captured in
    /// the hour, in capture order; `next_ms`, when the first one after the hour was captured
    /// (it ends the coverage of the hour's last). `cover_ms` caps each snapshot's coverage.
    #[must_use]
    pub fn fold(
        hour_ms: i64,
        cover_ms: i64,
        before: Option<FoldPoint<'_>>,
        points: &[FoldPoint<'_>],
        next_ms: Option<i64>,
    ) -> Self {
        let mut acc: Vec<Accumulator> = (0..60).map(|_| Accumulator::default()).collect();
        let hour_end = hour_ms + HOUR_MS;
        let all: Vec<FoldPoint<'_>> = before.into_iter().chain(points.iter().copied()).collect();
        for (i, p) in all.iter().enumerate() {
            let next = all.get(i + 1).map(|n| n.at_ms).or(next_ms);
            let end = next
                .unwrap_or(i64::MAX)
                .min(p.at_ms.saturating_add(cover_ms))
                .min(hour_end);
            let start = p.at_ms.max(hour_ms);
            let mut at = start;
            while at < end {
                let minute = usize::try_from((at - hour_ms) / MINUTE_MS).unwrap_or(0);
                let minute_end = hour_ms + (minute as i64 + 1) * MINUTE_MS;
                let stop = end.min(minute_end);
                acc[minute].cover(p.summary, u32::try_from(stop - at).unwrap_or(0));
                at = stop;
            }
            if p.at_ms >= hour_ms {
                let previous = i.checked_sub(1).map(|b| all[b]);
                if starts_session(p, previous) {
                    let minute = usize::try_from((p.at_ms - hour_ms) / MINUTE_MS).unwrap_or(0);
                    acc[minute.min(59)].logons += 1;
                }
            }
        }
        let minutes = acc
            .into_iter()
            .enumerate()
            .map(|(m, a)| (u8::try_from(m).unwrap_or(0), a.finish()))
            .filter(|(_, m)| !m.is_empty())
            .collect();
        Self { cover_ms, minutes }
    }

    /// The compressed encoding.
    ///
    /// # Errors
    /// When compression fails.
    pub fn encode(&self) -> Result<Vec<u8>, &'static str> {
        encode_slots(VERSION, self.cover_ms, &self.minutes, true)
    }

    /// Decodes a block encoded by [`HourBlock::encode`].
    ///
    /// # Errors
    /// What is malformed.
    pub fn decode(bytes: &[u8]) -> Result<Self, &'static str> {
        let (cover_ms, minutes) = decode_slots(bytes, VERSION, 60, MINUTE_MS)?;
        Ok(Self { cover_ms, minutes })
    }
}

/// Whether `p` begins a session, `previous` being the host's snapshot before it.
fn starts_session(p: &FoldPoint<'_>, previous: Option<FoldPoint<'_>>) -> bool {
    let Some(session) = &p.summary.session else {
        return false;
    };
    match previous {
        Some(before) => before.summary.session.as_ref() != Some(session),
        None => session
            .since_ms
            .is_none_or(|since| since >= crate::day_of(p.at_ms)),
    }
}

/// One minute being filled.
#[derive(Default)]
struct Accumulator {
    active_ms: u32,
    idle_ms: u32,
    apps: Vec<(String, WatchedState, u32)>,
    cpu: Weighted,
    memory: Weighted,
    foreground: Vec<(String, u32)>,
    users: Vec<String>,
    logons: u32,
}

/// A time-weighted sum and a peak.
#[derive(Default)]
struct Weighted {
    sum: f64,
    ms: u64,
    max: f64,
}

impl Weighted {
    fn add(&mut self, value: Option<f64>, ms: u32) {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            self.sum += v * f64::from(ms);
            self.ms += u64::from(ms);
            self.max = if self.ms == u64::from(ms) {
                v
            } else {
                self.max.max(v)
            };
        }
    }

    fn level(&self) -> Option<Level> {
        if self.ms == 0 {
            return None;
        }
        let tenths = |v: f64| (v * 10.0).round().clamp(0.0, f64::from(u16::MAX)) as u16;
        Some(Level {
            mean_tenths: tenths(self.sum / self.ms as f64),
            max_tenths: tenths(self.max),
        })
    }
}

impl Accumulator {
    fn cover(&mut self, summary: &Summary, ms: u32) {
        if ms == 0 {
            return;
        }
        if summary.user_active == Some(true) {
            self.active_ms += ms;
        } else {
            self.idle_ms += ms;
        }
        for (app, state) in &summary.apps {
            match self
                .apps
                .iter_mut()
                .find(|(a, s, _)| a == app && s == state)
            {
                Some(slot) => slot.2 += ms,
                None => self.apps.push((app.clone(), *state, ms)),
            }
        }
        self.cpu.add(summary.cpu_percent, ms);
        self.memory.add(summary.memory_percent, ms);
        if let Some(fg) = &summary.foreground_process {
            match self.foreground.iter_mut().find(|(f, _)| f == fg) {
                Some(slot) => slot.1 += ms,
                None => self.foreground.push((fg.clone(), ms)),
            }
        }
        if let Some(session) = &summary.session
            && !session.user.is_empty()
            && !self.users.contains(&session.user)
        {
            self.users.push(session.user.clone());
        }
    }

    fn finish(mut self) -> Minute {
        self.users.sort();
        // The first-seen foreground process wins a tie.
        let mut foreground: Option<(String, u32)> = None;
        for (name, ms) in self.foreground {
            if foreground.as_ref().is_none_or(|(_, best)| ms > *best) {
                foreground = Some((name, ms));
            }
        }
        Minute {
            active_ms: self.active_ms,
            idle_ms: self.idle_ms,
            apps: self
                .apps
                .into_iter()
                .map(|(app, state, ms)| (Arc::from(app), state, ms))
                .collect(),
            cpu: self.cpu.level(),
            memory: self.memory.level(),
            foreground: foreground.map(|(name, _)| Arc::from(name)),
            users: self.users.into_iter().map(Arc::from).collect(),
            logons: self.logons,
        }
    }
}

#[cfg(test)]
mod tests;
