//! The order in which a host's usage rows are read from the minute and day tiers, written once
//! for every store that keeps them: the redb file of a server on its own, and the PostgreSQL
//! database of a cluster (`idlewatch-store-pg`). A store gives its host's rows through
//! [`TierSource`]; [`each_tier_row`] and [`first_minute`] decide which of them answer, so both
//! stores give a report the same rows.

use idlewatch_format::day_of;
use idlewatch_format::days::DayBlock;
use idlewatch_format::minutes::{HOUR_MS, HourBlock, MINUTE_MS};

use crate::{Error, MinuteRow};

/// Hour blocks read per page.
const PAGE: usize = 168;

/// The earliest start of a range worked with: "from the beginning" (`i64::MIN`) rounded down
/// to its hour or day would not fit in an `i64`.
const EARLIEST: i64 = i64::MIN / 2;

/// One host's minute and day rows in a store.
pub trait TierSource {
    /// Where the host's full records start to count (`None`: nothing of it has aged).
    ///
    /// # Errors
    /// Storage errors.
    fn detail_from(&mut self) -> Result<Option<i64>, Error>;

    /// At most `limit` of the host's day rows starting in `[from_day, to_ms)`, in order, as
    /// stored.
    ///
    /// # Errors
    /// Storage errors.
    fn days(
        &mut self,
        from_day: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error>;

    /// The host's minute rows of the hour starting at `hour`, as stored.
    ///
    /// # Errors
    /// Storage errors.
    fn hour(&mut self, hour: i64) -> Result<Option<Vec<u8>>, Error>;

    /// At most `limit` of the host's hours of minute rows starting in `[from_hour, to_ms)`, in
    /// order, as stored.
    ///
    /// # Errors
    /// Storage errors.
    fn hours(
        &mut self,
        from_hour: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error>;
}

/// The minute block of `host`'s hour starting at `hour`.
pub(crate) fn hour_block(host: &str, hour: i64, bytes: &[u8]) -> Result<HourBlock, Error> {
    HourBlock::decode(bytes)
        .map_err(|e| Error::Corrupt(format!("minutes of {host} at {hour}: {e}")))
}

fn day_block(host: &str, day: i64, bytes: &[u8]) -> Result<DayBlock, Error> {
    DayBlock::decode(bytes).map_err(|e| Error::Corrupt(format!("day row of {host} at {day}: {e}")))
}

/// The rows of `block` (the hour starting at `hour`) that start in `[from_ms, to_ms)`.
fn rows_of(
    block: HourBlock,
    hour: i64,
    from_ms: i64,
    to_ms: i64,
) -> impl Iterator<Item = MinuteRow> {
    block.minutes.into_iter().filter_map(move |(m, minute)| {
        let at_ms = hour + i64::from(m) * MINUTE_MS;
        (from_ms..to_ms).contains(&at_ms).then_some(MinuteRow {
            at_ms,
            span_ms: MINUTE_MS,
            minute,
            active_quarters: None,
        })
    })
}

/// Calls `each` with `host`'s minutes starting in `[from_ms, to_ms)`, in order, one page of
/// hours read at a time, until it answers false.
///
/// # Errors
/// Storage errors; a minute row that does not decode; the first error `each` returns.
pub fn each_minute<E: From<Error>>(
    source: &mut impl TierSource,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    each: &mut impl FnMut(MinuteRow) -> Result<bool, E>,
) -> Result<bool, E> {
    let from_ms = from_ms.max(EARLIEST);
    let mut from_hour = from_ms.div_euclid(HOUR_MS) * HOUR_MS;
    while from_hour < to_ms {
        let page = source.hours(from_hour, to_ms, PAGE)?;
        let full = page.len() == PAGE;
        for (hour, bytes) in page {
            for row in rows_of(hour_block(host, hour, &bytes)?, hour, from_ms, to_ms) {
                if !each(row)? {
                    return Ok(false);
                }
            }
            from_hour = hour + HOUR_MS;
        }
        if !full {
            break;
        }
    }
    Ok(true)
}

/// Calls `each` with `host`'s usage rows over `[from_ms, to_ms)`, in order, until it answers
/// false: each whole hour of a day it folded whole from its day row, unless `fine` asks for
/// that hour's minutes (an hour that a local day, or opening hours off the quarter hour, cut);
/// minute rows for the rest — and for an hour whose minutes were deleted by `[retention]
/// minutes`, its hour row when it starts in the range.
///
/// # Errors
/// Storage errors; a row that does not decode; the first error `each` returns.
pub fn each_tier_row<E: From<Error>>(
    source: &mut impl TierSource,
    host: &str,
    from_ms: i64,
    to_ms: i64,
    fine: impl Fn(i64) -> bool,
    mut each: impl FnMut(MinuteRow) -> Result<bool, E>,
) -> Result<(), E> {
    let from_ms = from_ms.max(EARLIEST);
    if from_ms >= to_ms {
        return Ok(());
    }
    let whole_days_end = source.detail_from()?.map_or(i64::MIN, day_of);
    let hours_end = to_ms.min(whole_days_end);
    if from_ms < hours_end {
        for (day, bytes) in source.days(day_of(from_ms), hours_end, usize::MAX)? {
            for h in day_block(host, day, &bytes)?.hours {
                let at_ms = day + i64::from(h.hour) * HOUR_MS;
                if at_ms + HOUR_MS <= from_ms || at_ms >= hours_end {
                    continue;
                }
                let whole = at_ms >= from_ms && at_ms + HOUR_MS <= to_ms;
                let block = if whole && !fine(at_ms) {
                    None
                } else {
                    source.hour(at_ms)?
                };
                match block {
                    Some(bytes) => {
                        let block = hour_block(host, at_ms, &bytes)?;
                        for row in rows_of(block, at_ms, from_ms, to_ms) {
                            if !each(row)? {
                                return Ok(());
                            }
                        }
                    }
                    // An hour whose minutes are gone counts where it starts in the range.
                    None if at_ms >= from_ms => {
                        let row = MinuteRow {
                            at_ms,
                            span_ms: HOUR_MS,
                            minute: h.sum,
                            active_quarters: Some(h.active_quarters),
                        };
                        if !each(row)? {
                            return Ok(());
                        }
                    }
                    None => {}
                }
            }
        }
    }
    let rest = from_ms.max(hours_end);
    if rest < to_ms {
        each_minute(source, host, rest, to_ms, &mut each)?;
    }
    Ok(())
}

/// `host`'s first minute with anything in it, epoch ms (the start of its first hour with
/// anything in it, once that hour's minutes were deleted and only its day row is left).
///
/// # Errors
/// Storage errors; a row that does not decode.
pub fn first_minute(source: &mut impl TierSource, host: &str) -> Result<Option<i64>, Error> {
    let first_hour = match source.days(i64::MIN, i64::MAX, 1)?.into_iter().next() {
        Some((day, bytes)) => day_block(host, day, &bytes)?
            .hours
            .first()
            .map(|h| day + i64::from(h.hour) * HOUR_MS),
        None => None,
    };
    let Some((hour, bytes)) = source.hours(i64::MIN, i64::MAX, 1)?.into_iter().next() else {
        return Ok(first_hour);
    };
    if first_hour.is_some_and(|h| h < hour) {
        return Ok(first_hour);
    }
    Ok(hour_block(host, hour, &bytes)?
        .minutes
        .first()
        .map(|(m, _)| hour + i64::from(*m) * MINUTE_MS))
}
