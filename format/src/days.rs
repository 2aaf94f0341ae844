//! The day tier: a host's minute rows of one UTC day added up hour by hour, kept after the
//! minute rows are deleted (`[retention] minutes`) and read instead of them wherever a range
//! covers whole hours, so a year of a lab reads 365 small rows per PC instead of 525,600
//! minutes — and a local day in any zone a whole number of hours from UTC still adds up from
//! whole hours.
//!
//! An hour is summed from its minutes: milliseconds active and idle, each watched app's
//! milliseconds per state and the logons add up exactly; users are their union; CPU and memory
//! are the means of the minutes' means weighted by the time each minute was covered, and their
//! peak; the foreground process is the one that led the most covered time of its minutes. Each
//! hour also keeps its active time per quarter hour, so opening hours that start or end on a
//! quarter split it exactly without its minutes.
//!
//! Layout: the minute blocks' ([`super::minutes`]), with a slot per hour of the day (0–23)
//! instead of per minute of the hour, version byte `1` of its own table, and not compressed
//! (a lab day is ~400 bytes that zstd brings only to ~365, and a year of a lab reads 36,500
//! of them); then, per hour with active time, the active ms of its first three quarters
//! (varints; the fourth is the rest).

use std::sync::Arc;

use redb::{ReadableTable, WriteTransaction};

use super::minutes::{HOUR_MS, HourBlock, Level, Minute};
use super::slots::{decode_plain_slots, encode_slots};
use super::varint::{get_varint, put_varint};
use crate::{DAY_MS, DAYS, Error, MINUTES};

/// Milliseconds in a quarter hour.
pub const QUARTER_MS: i64 = 900_000;

const VERSION: u8 = 1;

/// One host-day: its hours with anything in them, each the sum of its minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayBlock {
    /// How long one snapshot covered at most when the minutes were folded (the longest, when
    /// the report interval changed during the day).
    pub cover_ms: i64,
    /// The hours with anything in them, in order.
    pub hours: Vec<DayHour>,
}

/// One hour of a day row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayHour {
    /// Its hour of the day (0–23).
    pub hour: u8,
    /// The sum of its minutes.
    pub sum: Minute,
    /// Its active ms per quarter hour (they add up to `sum.active_ms`).
    pub active_quarters: [u32; 4],
}

impl DayBlock {
    /// The day that starts at `day_ms`, from its hour blocks (`(hour start ms, block)`, in
    /// order; hours outside the day are ignored).
    #[must_use]
    pub fn of(day_ms: i64, blocks: &[(i64, HourBlock)]) -> Self {
        let mut day = Self::default();
        for (hour_ms, block) in blocks {
            let hour = (hour_ms - day_ms).div_euclid(HOUR_MS);
            let Ok(hour) = u8::try_from(hour) else {
                continue;
            };
            if hour >= 24 || block.minutes.is_empty() {
                continue;
            }
            day.cover_ms = day.cover_ms.max(block.cover_ms);
            let mut active_quarters = [0u32; 4];
            for (minute, m) in &block.minutes {
                active_quarters[usize::from(minute / 15).min(3)] += m.active_ms;
            }
            day.hours.push(DayHour {
                hour,
                sum: sum_of(block.minutes.iter().map(|(_, m)| m)),
                active_quarters,
            });
        }
        day
    }

    /// The day without the hours `drop` says to remove (by hour of the day).
    #[must_use]
    pub fn without(mut self, drop: impl Fn(u8) -> bool) -> Self {
        self.hours.retain(|h| !drop(h.hour));
        self
    }

    /// The encoding.
    ///
    /// # Errors
    /// A negative cover, or quarters that do not add up to their hour's active time.
    pub fn encode(&self) -> Result<Vec<u8>, &'static str> {
        let slots: Vec<(u8, Minute)> = self.hours.iter().map(|h| (h.hour, h.sum.clone())).collect();
        let mut out = encode_slots(VERSION, self.cover_ms, &slots, false)?;
        for h in self.hours.iter().filter(|h| h.sum.active_ms > 0) {
            let total: u64 = h.active_quarters.iter().map(|q| u64::from(*q)).sum();
            if total != u64::from(h.sum.active_ms) {
                return Err("quarters do not add up to the hour's active time");
            }
            for q in &h.active_quarters[..3] {
                put_varint(&mut out, u64::from(*q));
            }
        }
        Ok(out)
    }

    /// Decodes a block encoded by [`DayBlock::encode`].
    ///
    /// # Errors
    /// What is malformed.
    pub fn decode(bytes: &[u8]) -> Result<Self, &'static str> {
        let (cover_ms, slots, tail) = decode_plain_slots(bytes, VERSION, 24, HOUR_MS)?;
        let mut pos = 0;
        let mut hours = Vec::with_capacity(slots.len());
        for (hour, sum) in slots {
            let mut active_quarters = [0u32; 4];
            if sum.active_ms > 0 {
                let mut left = sum.active_ms;
                for q in &mut active_quarters[..3] {
                    let v = get_varint(tail, &mut pos).ok_or("truncated quarters")?;
                    *q = u32::try_from(v).map_err(|_| "quarter out of range")?;
                    left = left.checked_sub(*q).ok_or("quarters exceed the hour")?;
                }
                active_quarters[3] = left;
                if active_quarters.iter().any(|q| i64::from(*q) > QUARTER_MS) {
                    return Err("a quarter active for longer than it lasts");
                }
            }
            hours.push(DayHour {
                hour,
                sum,
                active_quarters,
            });
        }
        if pos != tail.len() {
            return Err("trailing bytes in day row");
        }
        Ok(Self { cover_ms, hours })
    }
}

/// Stores (or replaces) host `id`'s day row of the day starting at `day_ms` from its minute rows
/// in `txn`; removes it when the day has none.
///
/// # Errors
/// Storage errors; a minute row that does not decode.
pub fn build_day(txn: &WriteTransaction, id: u32, day_ms: i64) -> Result<(), Error> {
    let mut blocks = Vec::new();
    for entry in txn
        .open_table(MINUTES)?
        .range((id, day_ms)..(id, day_ms + DAY_MS))?
    {
        let (key, value) = entry?;
        let hour = key.value().1;
        let block = HourBlock::decode(value.value()).map_err(|e| Error::Corrupt {
            what: format!("minutes of host {id} at {hour}"),
            reason: e.to_owned(),
        })?;
        blocks.push((hour, block));
    }
    let day = DayBlock::of(day_ms, &blocks);
    let mut days = txn.open_table(DAYS)?;
    if day.hours.is_empty() {
        days.remove((id, day_ms))?;
    } else {
        let bytes = day.encode().map_err(|e| Error::Corrupt {
            what: format!("day row of host {id} at {day_ms}"),
            reason: e.to_owned(),
        })?;
        days.insert((id, day_ms), bytes.as_slice())?;
    }
    Ok(())
}

/// The sum of `minutes` as one slot, by the rules in the module header.
#[must_use]
pub fn sum_of<'a>(minutes: impl IntoIterator<Item = &'a Minute>) -> Minute {
    let mut out = Minute::default();
    let (mut cpu, mut memory) = (Mean::default(), Mean::default());
    let mut foreground: Vec<(&Arc<str>, u64)> = Vec::new();
    for m in minutes {
        out.active_ms += m.active_ms;
        out.idle_ms += m.idle_ms;
        for (app, state, ms) in &m.apps {
            match out.apps.iter_mut().find(|(a, s, _)| a == app && s == state) {
                Some(slot) => slot.2 += ms,
                None => out.apps.push((app.clone(), *state, *ms)),
            }
        }
        let covered = u64::from(m.active_ms) + u64::from(m.idle_ms);
        cpu.add(m.cpu, covered);
        memory.add(m.memory, covered);
        if let Some(fg) = &m.foreground {
            match foreground.iter_mut().find(|(f, _)| *f == fg) {
                Some(slot) => slot.1 += covered,
                None => foreground.push((fg, covered)),
            }
        }
        for user in &m.users {
            if !out.users.contains(user) {
                out.users.push(user.clone());
            }
        }
        out.logons += m.logons;
    }
    out.users.sort();
    out.cpu = cpu.level();
    out.memory = memory.level();
    // The first-seen process wins a tie.
    let mut best: Option<(&Arc<str>, u64)> = None;
    for (name, ms) in foreground {
        if best.is_none_or(|(_, top)| ms > top) {
            best = Some((name, ms));
        }
    }
    out.foreground = best.map(|(name, _)| Arc::clone(name));
    out
}

/// Means of means, weighted by covered time, and the peak.
#[derive(Default)]
struct Mean {
    sum: u64,
    weight: u64,
    max: Option<u16>,
}

impl Mean {
    fn add(&mut self, level: Option<Level>, covered_ms: u64) {
        let Some(level) = level else {
            return;
        };
        self.sum += u64::from(level.mean_tenths) * covered_ms;
        self.weight += covered_ms;
        self.max = Some(
            self.max
                .map_or(level.max_tenths, |m| m.max(level.max_tenths)),
        );
    }

    fn level(&self) -> Option<Level> {
        let max_tenths = self.max?;
        let mean_tenths = (self.sum + self.weight / 2)
            .checked_div(self.weight)
            .map_or(max_tenths, |m| u16::try_from(m).unwrap_or(u16::MAX));
        Some(Level {
            mean_tenths,
            max_tenths,
        })
    }
}

#[cfg(test)]
mod tests;
