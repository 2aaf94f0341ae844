//! The lines of `lmstat -a` output this parser understands, each read on its own.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use super::{Checkout, Pool, Reservation};

/// When a checkout started, as lmstat prints it: weekday, month/day and time, no year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// Day of the week (Monday = 1 … Sunday = 7), when printed.
    pub weekday: Option<u8>,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
}

impl Start {
    /// The instant this start denotes, for output read at `now` (in the licence server's time
    /// zone): the latest such date not more than a day after `now` (clocks differ), preferring
    /// a year in which the printed weekday matches (of this year, the next and the seven
    /// before). `None` for a date no year has (30 February).
    #[must_use]
    pub fn at(&self, now: &ZonedDateTime) -> Option<Timestamp> {
        let latest = now.datetime().checked_add(jiff::Span::new().days(1)).ok()?;
        // Next year too: a licence server whose clock runs ahead, or in a later zone, prints
        // `1/1` before New Year here; the `latest` bound keeps real future dates out.
        let candidates: Vec<DateTime> = (-1..8)
            .filter_map(|back| {
                let year = now.year().checked_sub(back)?;
                let date = Date::new(
                    year,
                    i8::try_from(self.month).ok()?,
                    i8::try_from(self.day).ok()?,
                )
                .ok()?;
                let at = date.at(
                    i8::try_from(self.hour).ok()?,
                    i8::try_from(self.minute).ok()?,
                    0,
                    0,
                );
                (at <= latest).then_some(at)
            })
            .collect();
        let matching = self.weekday.and_then(|w| {
            candidates.iter().find(|at| {
                at.date().weekday().to_monday_one_offset() == i8::try_from(w).unwrap_or(0)
            })
        });
        let chosen = matching.or_else(|| candidates.first())?;
        chosen
            .to_zoned_datetime(now.time_zone().clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

/// `Users of FEATURE:  (...)`: a new pool.
pub fn pool(line: &str) -> Option<Pool> {
    let rest = line.strip_prefix("Users of ")?;
    let (feature, counts) = rest.split_once(':')?;
    let feature = feature.trim();
    // Feature names are one word; anything else is not a pool line.
    if feature.is_empty() || feature.contains(char::is_whitespace) {
        return None;
    }
    let inner = counts
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let mut pool = Pool {
        feature: feature.to_owned(),
        ..Pool::default()
    };
    if inner.starts_with("Error") {
        pool.error = Some(inner.to_owned());
    } else if inner.to_ascii_lowercase().contains("uncounted") {
        pool.uncounted = true;
    } else {
        for part in inner.split(';') {
            let part = part.trim();
            let Some(n) = part
                .strip_prefix("Total of ")
                .and_then(|t| t.split_whitespace().next())
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if part.contains("in use") {
                pool.in_use = Some(n);
            } else if part.contains("issued") || part.contains("available") {
                pool.issued = Some(n);
            }
        }
    }
    Some(pool)
}

/// Lines saying the license server or a vendor daemon is down or unreachable.
pub fn is_problem(line: &str) -> bool {
    const SIGNS: [&str; 7] = [
        "license server down",
        "cannot connect to license server",
        "error getting status",
        "lmgrd is not running",
        "vendor daemon is down",
        "license server machine is down",
        "cannot find license file",
    ];
    let lower = line.to_ascii_lowercase();
    SIGNS.iter().any(|s| lower.contains(s))
}

/// `"FEATURE" vVERSION, vendor: VENDOR, expiry: ...`: the pool's vendor daemon.
pub fn vendor(line: &str) -> Option<String> {
    if !line.starts_with('"') {
        return None;
    }
    let at = line.find("vendor: ")?;
    let vendor = line[at + "vendor: ".len()..].split(',').next()?.trim();
    (!vendor.is_empty()).then(|| vendor.to_owned())
}

/// `N RESERVATION(s) for KIND NAME (SERVER/PORT)`.
pub fn reservation(line: &str) -> Option<Reservation> {
    let mut words = line.split_whitespace();
    let count = words.next()?.parse::<u32>().ok()?;
    if !words
        .next()?
        .to_ascii_uppercase()
        .starts_with("RESERVATION")
        || words.next()? != "for"
    {
        return None;
    }
    let kind = words.next()?.to_owned();
    let rest: Vec<&str> = words.collect();
    let mut name = rest.join(" ");
    if name.ends_with(')')
        && let Some(open) = name.rfind(" (")
    {
        name.truncate(open);
    }
    (!name.is_empty()).then_some(Reservation { count, kind, name })
}

/// A checkout (`…, start …`) or a queued request (`… queued for N license`): the entry and
/// whether it is queued.
pub fn checkout(line: &str) -> Option<(Checkout, bool)> {
    let (who, tail, queued) = if let Some(at) = line.find(", start ") {
        (&line[..at], &line[at + ", start ".len()..], false)
    } else if let Some(at) = line.find(" queued for ") {
        (&line[..at], &line[at + " queued for ".len()..], true)
    } else {
        return None;
    };
    let mut entry = identity(who)?;
    entry.licences = licences(tail, queued).unwrap_or(1);
    if !queued {
        entry.start = start(tail);
        entry.linger_seconds = linger(tail);
    }
    Some((entry, queued))
}

/// `user host display (vVERSION) (SERVER/PORT HANDLE)`; the two groups are what make it a
/// checkout line (at least one must be there).
fn identity(text: &str) -> Option<Checkout> {
    let mut rest = text.trim();
    let mut entry = Checkout::default();
    if let Some((before, inner)) = last_group(rest)
        && inner.contains('/')
    {
        let mut parts = inner.split_whitespace();
        entry.server = parts.next().map(str::to_owned);
        entry.handle = parts.next().map(str::to_owned);
        rest = before;
    }
    if let Some((before, inner)) = last_group(rest)
        && let Some(version) = inner.strip_prefix('v')
    {
        entry.version = Some(version.to_owned());
        rest = before;
    }
    if entry.server.is_none() && entry.version.is_none() {
        return None;
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [] | [_] => return None,
        [user, host] => {
            entry.user = (*user).to_owned();
            entry.host = (*host).to_owned();
            entry.display = (*host).to_owned();
        }
        [user @ .., host, display] => {
            entry.user = user.join(" ");
            entry.host = (*host).to_owned();
            entry.display = (*display).to_owned();
        }
    }
    Some(entry)
}

/// The text before a trailing `(…)` group, and the group's inside.
fn last_group(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_end();
    let inner_end = text.strip_suffix(')')?;
    let open = inner_end.rfind('(')?;
    Some((text[..open].trim_end(), inner_end[open + 1..].trim()))
}

/// `[Weekday] M/D H:MM` at the start of the tail.
fn start(tail: &str) -> Option<Start> {
    let head = tail.split([',', '(']).next()?.trim();
    let mut words = head.split_whitespace().peekable();
    let weekday = match words.peek() {
        Some(w) if w.chars().all(|c| c.is_ascii_alphabetic()) => {
            let w = words.next()?;
            weekday(w)
        }
        _ => None,
    };
    let (month, day) = words.next()?.split_once('/')?;
    let (hour, minute) = words.next()?.split_once(':')?;
    let start = Start {
        weekday,
        month: month.parse().ok()?,
        day: day.parse().ok()?,
        hour: hour.parse().ok()?,
        minute: minute.parse().ok()?,
    };
    let valid = (1..=12).contains(&start.month)
        && (1..=31).contains(&start.day)
        && start.hour < 24
        && start.minute < 60;
    valid.then_some(start)
}

fn weekday(name: &str) -> Option<u8> {
    let day = match name.get(..3)?.to_ascii_lowercase().as_str() {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    };
    u8::try_from(day.to_monday_one_offset()).ok()
}

/// `, N licenses` after a start, or `N license(s)` after `queued for`.
fn licences(tail: &str, queued: bool) -> Option<u32> {
    if queued {
        return tail.split_whitespace().next()?.parse().ok();
    }
    tail.split(',').skip(1).find_map(|part| {
        let mut words = part.split_whitespace();
        let n = words.next()?.parse().ok()?;
        words.next()?.starts_with("license").then_some(n)
    })
}

/// `(linger: N)` or `(linger: N / M)`: N seconds.
fn linger(tail: &str) -> Option<u32> {
    let at = tail.find("(linger:")?;
    tail[at + "(linger:".len()..]
        .split(|c: char| !c.is_ascii_digit() && c != ' ')
        .next()?
        .trim()
        .parse()
        .ok()
}
