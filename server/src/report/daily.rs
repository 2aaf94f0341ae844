//! Utilization of many hosts over whole local days, read from the store: the rows of the
//! Sheets `Utilization` tab and of `GET /api/v1/usage`. One day of one host's points is held
//! at a time, or a week of its minute rows where the range has aged into minutes.

use jiff::civil::Date;

use super::minutes::aged_days;
use super::scan::{each_summary, first_capture};
use super::stream::DayStream;
use super::usage::{DayUsage, Point, Rules};
use crate::stores::Stores;

/// Why a report could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store could not be read.
    #[error("reading the store: {0}")]
    Store(#[from] idlewatch_store::Error),
    /// A time outside the time zone library's range.
    #[error("time conversion: {0}")]
    Time(#[from] jiff::Error),
}

/// Adds `day` to `days`, into the last one when it is the same date (a day read partly from
/// minutes and partly from snapshots).
fn push_day(days: &mut Vec<DayUsage>, day: DayUsage) {
    match days.last_mut() {
        Some(last) if last.date == day.date => last.absorb(&day),
        _ => days.push(day),
    }
}

/// `host`'s days of `[from, to_ms)`: from its minute rows up to where its snapshots start to
/// count, from the snapshots after — read again should aging move that point meanwhile.
fn tiered_days(
    store: &Stores,
    host: &str,
    from: i64,
    to_ms: i64,
    rules: &Rules,
) -> Result<Vec<DayUsage>, Error> {
    loop {
        let detail_from = store.detail_from(host)?;
        let split = detail_from.unwrap_or(i64::MIN).clamp(from, to_ms);
        let mut days: Vec<DayUsage> = Vec::new();
        if from < split {
            days = aged_days::<Error>(store, host, from, split, detail_from, rules)?;
        }
        if split < to_ms {
            let mut stream = DayStream::new(split, to_ms, rules)?;
            let mut done = |day| {
                push_day(&mut days, day);
                Ok::<(), Error>(())
            };
            // The snapshot before the range covers its start, and tells whether the range's
            // first session is a new one.
            if let Some(lead) = store.record_before(host, i64::MIN, split)? {
                stream.push(Point::of(lead.captured_ms, &lead.summary), &mut done)?;
            }
            each_summary(store, host, split, to_ms, |row| {
                stream.push(Point::of(row.captured_ms, &row.summary), &mut done)
            })?;
            stream.finish(&mut done)?;
        }
        if store.detail_from(host)? == detail_from {
            return Ok(days);
        }
    }
}

/// One host's days.
#[derive(Debug, Clone)]
pub struct HostDays {
    /// The host.
    pub host: String,
    /// Its days, in order; none before the host's first snapshot.
    pub days: Vec<DayUsage>,
}

/// The epoch ms where local date `date` starts in the rules' time zone.
///
/// # Errors
/// A date outside the time zone library's range.
pub fn day_start_ms(date: Date, rules: &Rules) -> Result<i64, jiff::Error> {
    Ok(date
        .to_zoned_datetime(rules.time_zone.clone())?
        .timestamp()
        .as_millisecond())
}

/// Per host, each local day of `[from_ms, to_ms)` (the first and last cut at those times) —
/// skipping the days before the host's first stored snapshot, and hosts with none before
/// `to_ms` unless `expected` says they should have reported (a PC the directory lists that
/// never did: offline all along).
///
/// # Errors
/// When the store cannot be read.
pub fn usage_by_day(
    store: &Stores,
    hosts: &[String],
    from_ms: i64,
    to_ms: i64,
    rules: &Rules,
    expected: &dyn Fn(&str) -> bool,
) -> Result<Vec<HostDays>, Error> {
    let mut out = Vec::with_capacity(hosts.len());
    for host in hosts {
        let Some(first_ms) = first_capture(store, host)? else {
            if expected(host) && from_ms < to_ms {
                let mut days = Vec::new();
                let mut done = |day| {
                    days.push(day);
                    Ok::<(), Error>(())
                };
                DayStream::new(from_ms, to_ms, rules)?.finish(&mut done)?;
                out.push(HostDays {
                    host: host.clone(),
                    days,
                });
            }
            continue;
        };
        if first_ms >= to_ms {
            continue;
        }
        let first_day = jiff::Timestamp::from_millisecond(first_ms)?
            .to_zoned_datetime(rules.time_zone.clone())
            .date();
        // The days before the host's first snapshot are not counted at all.
        let from = from_ms.max(day_start_ms(first_day, rules)?);
        let days = if from < to_ms {
            tiered_days(store, host, from, to_ms, rules)?
        } else {
            Vec::new()
        };
        out.push(HostDays {
            host: host.clone(),
            days,
        });
    }
    Ok(out)
}
