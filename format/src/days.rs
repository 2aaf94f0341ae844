//! The day tier: a host's minute rows of one UTC day added up hour by hour, kept after the
//! minute rows are deleted (`[retention] minutes`) and read instead of them wherever a range
//! covers whole hours, so a year of a lab reads 365 small rows per PC instead of 525,600
//! minutes — and a local day in any zone a whole number of hours from UTC still adds up from
//! whole hours.
//!
//! An hour is summed from its minutes: milliseconds active and idle, each watched app's
//! milliseconds per state and the logons add up exactly; users are their union; CPU and memory
//! are the means of the minutes' means weighted by the time each minute was covered, and their
//! peak; the foreground process is the one that led the most covered time of its minutes.
//!
//! Layout: the minute blocks' ([`super::minutes`]), with a slot per hour of the day (0–23)
//! instead of per minute of the hour, and version byte `1` of its own table.

use redb::{ReadableTable, WriteTransaction};

use super::minutes::{HOUR_MS, HourBlock, Level, Minute, decode_slots, encode_slots};
use crate::{DAY_MS, DAYS, Error, MINUTES};

const VERSION: u8 = 1;

/// One host-day: its hours with anything in them, each the sum of its minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayBlock {
    /// How long one snapshot covered at most when the minutes were folded (the longest, when
    /// the report interval changed during the day).
    pub cover_ms: i64,
    /// `(hour of the day, the hour's sum)`, in order.
    pub hours: Vec<(u8, Minute)>,
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
            day.hours
                .push((hour, sum_of(block.minutes.iter().map(|(_, m)| m))));
        }
        day
    }

    /// The day without the hours `drop` says to remove (by hour of the day).
    #[must_use]
    pub fn without(mut self, drop: impl Fn(u8) -> bool) -> Self {
        self.hours.retain(|(h, _)| !drop(*h));
        self
    }

    /// The compressed encoding.
    ///
    /// # Errors
    /// When compression fails.
    pub fn encode(&self) -> Result<Vec<u8>, &'static str> {
        encode_slots(VERSION, self.cover_ms, &self.hours)
    }

    /// Decodes a block encoded by [`DayBlock::encode`].
    ///
    /// # Errors
    /// What is malformed.
    pub fn decode(bytes: &[u8]) -> Result<Self, &'static str> {
        let (cover_ms, hours) = decode_slots(bytes, VERSION, 24, HOUR_MS)?;
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
    let mut foreground: Vec<(&str, u64)> = Vec::new();
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
            match foreground.iter_mut().find(|(f, _)| f == fg) {
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
    let mut best: Option<(&str, u64)> = None;
    for (name, ms) in foreground {
        if best.is_none_or(|(_, top)| ms > top) {
            best = Some((name, ms));
        }
    }
    out.foreground = best.map(|(name, _)| name.to_owned());
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
