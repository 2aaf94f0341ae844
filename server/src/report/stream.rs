//! Utilization day by day from a stream of points: the same figures as [`host_days`] over the
//! whole range, holding only one local day's points at a time. A point covers the time until
//! the next one (at most 3 × the interval), so each day is computed from its own points plus
//! the last point before it (whose coverage may run into the day) and the first point after it
//! (which ends the coverage of the day's last point). Memory stays flat whatever the range, and
//! the work is linear in points plus days.

use jiff::Timestamp;
use jiff::civil::Date;

use super::usage::{DayUsage, Point, Rules, host_days};

/// Days of `[from_ms, to_ms)` computed as points arrive (in capture order).
pub struct DayStream<'r> {
    rules: &'r Rules,
    from_ms: i64,
    to_ms: i64,
    /// The day being filled, and where it ends (epoch ms).
    date: Date,
    day_end_ms: i64,
    lead: Option<Point>,
    points: Vec<Point>,
}

impl<'r> DayStream<'r> {
    /// A stream starting with the local day holding `from_ms`.
    ///
    /// # Errors
    /// A time outside what the time zone library supports.
    pub fn new(from_ms: i64, to_ms: i64, rules: &'r Rules) -> Result<Self, jiff::Error> {
        let date = Timestamp::from_millisecond(from_ms)?
            .to_zoned_datetime(rules.time_zone.clone())
            .date();
        let mut me = Self {
            rules,
            from_ms,
            to_ms,
            date,
            day_end_ms: 0,
            lead: None,
            points: Vec::new(),
        };
        me.day_end_ms = me.end_of(date)?;
        Ok(me)
    }

    fn end_of(&self, date: Date) -> Result<i64, jiff::Error> {
        Ok(date
            .tomorrow()?
            .to_zoned_datetime(self.rules.time_zone.clone())?
            .timestamp()
            .as_millisecond())
    }

    fn day_start_ms(&self) -> Result<i64, jiff::Error> {
        Ok(self
            .date
            .to_zoned_datetime(self.rules.time_zone.clone())?
            .timestamp()
            .as_millisecond())
    }

    /// Adds the next point; `done` gets every day that ends before it.
    ///
    /// # Errors
    /// A time outside what the time zone library supports, or `done`'s error.
    pub fn push<E: From<jiff::Error>>(
        &mut self,
        point: Point,
        done: &mut impl FnMut(DayUsage) -> Result<(), E>,
    ) -> Result<(), E> {
        while point.at_ms >= self.day_end_ms && self.day_start_ms()? < self.to_ms {
            self.close_day(Some(&point), done)?;
        }
        self.points.push(point);
        Ok(())
    }

    /// Ends the stream: `done` gets the remaining days up to `to_ms`.
    ///
    /// # Errors
    /// As [`DayStream::push`].
    pub fn finish<E: From<jiff::Error>>(
        mut self,
        done: &mut impl FnMut(DayUsage) -> Result<(), E>,
    ) -> Result<(), E> {
        while self.day_start_ms()? < self.to_ms {
            self.close_day(None, done)?;
        }
        Ok(())
    }

    fn close_day<E: From<jiff::Error>>(
        &mut self,
        next: Option<&Point>,
        done: &mut impl FnMut(DayUsage) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.day_start_ms()?.max(self.from_ms);
        let end = self.day_end_ms.min(self.to_ms);
        let mut points = Vec::with_capacity(self.points.len() + 2);
        points.extend(self.lead.take());
        points.append(&mut self.points);
        points.extend(next.cloned());
        let days = host_days(&points, start, end, self.rules)?;
        if next.is_some() {
            points.pop();
        }
        self.lead = points.pop();
        for day in days {
            done(day)?;
        }
        self.date = self.date.tomorrow()?;
        self.day_end_ms = self.end_of(self.date)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::hours::OpenHours;
    use idlewatch_protocol::WatchedState;
    use idlewatch_store::SessionSummary;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    fn rules(zone: &str) -> Rules {
        Rules {
            interval_ms: 5_000,
            time_zone: TimeZone::get(zone).unwrap(),
            open: OpenHours::parse("Mon-Fri 08:00-22:00").unwrap(),
        }
    }

    fn streamed(points: &[Point], from: i64, to: i64, rules: &Rules) -> Vec<DayUsage> {
        let mut out = Vec::new();
        let mut stream = DayStream::new(from, to, rules).unwrap();
        let mut done = |d| {
            out.push(d);
            Ok::<(), jiff::Error>(())
        };
        for p in points {
            stream.push(p.clone(), &mut done).unwrap();
        }
        stream.finish(&mut done).unwrap();
        out
    }

    proptest! {
        #[test]
        fn streaming_gives_the_same_days_as_the_whole_range(
            gaps in prop::collection::vec(
                (1i64..40_000_000, any::<bool>(), 0u8..4, 0usize..5),
                0..200,
            ),
            start_offset in 0i64..86_400_000,
            span_days in 1i64..6,
            zone in prop::sample::select(vec!["UTC", "America/Sao_Paulo", "Europe/Lisbon"]),
        ) {
            // 2026-03-25: a week holding Europe's switch to summer time.
            let from = 1_774_396_800_000 + start_offset;
            let to = from + span_days * 86_400_000 + 12_345;
            let mut at = from - 10_000;
            let states = [
                WatchedState::Interactive,
                WatchedState::Computing,
                WatchedState::Idle,
                WatchedState::NotRunning,
            ];
            // Nobody, two sessions with known logon times (one well before the data), and
            // two users whose logon time is unknown.
            let sessions = [
                None,
                Some(SessionSummary { user: "ana".to_owned(), since_ms: Some(from - 3_600_000) }),
                Some(SessionSummary { user: "ana".to_owned(), since_ms: Some(from + 1_000) }),
                Some(SessionSummary { user: "bo".to_owned(), since_ms: None }),
                Some(SessionSummary { user: String::new(), since_ms: None }),
            ];
            let points: Vec<Point> = gaps
                .iter()
                .map(|(gap, active, s, session)| {
                    at += gap / 4;
                    Point {
                        at_ms: at,
                        user_active: *active,
                        apps: vec![("ansys".to_owned(), states[usize::from(*s)])],
                        session: sessions[*session].clone(),
                    }
                })
                .filter(|p| p.at_ms >= from && p.at_ms < to)
                .collect();
            let rules = rules(zone);
            let whole = host_days(&points, from, to, &rules).unwrap();
            prop_assert_eq!(streamed(&points, from, to, &rules), whole);
        }
    }
}
