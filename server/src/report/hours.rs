//! Opening hours: weekly windows such as `Mon-Fri 08:00-22:00; Sat 09:00-13:00`, in the
//! report's time zone. Utilization is active time within them over their length (as LabStats
//! reports it). No hours configured means always open.

use jiff::civil::Weekday;

/// One weekly window: these weekdays, from `start` to `end` minutes after midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    days: [bool; 7],
    start: u16,
    end: u16,
}

/// The weekly opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenHours {
    windows: Vec<Window>,
}

/// The weekdays' English names, Monday first (as `jiff`'s Monday-zero offsets).
pub const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn day_index(day: Weekday) -> usize {
    usize::try_from(day.to_monday_zero_offset()).unwrap_or(0)
}

/// `Mon`, `mon`, `Monday`: a three-letter abbreviation or the full English name.
fn parse_day(text: &str) -> Option<usize> {
    let lower = text.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|name| lower == *name || (lower.len() == 3 && name.starts_with(&lower)))
}

fn parse_minutes(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl OpenHours {
    /// Always open.
    #[must_use]
    pub fn always() -> Self {
        Self::default()
    }

    /// Parses `Mon-Fri 08:00-22:00; Sat 09:00-13:00` (days: ranges or comma lists; `;`
    /// between windows). An empty text means always open.
    ///
    /// # Errors
    /// A message naming the part that does not parse and the expected form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut windows = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                format!(
                    "open hours {part:?} are not like \"Mon-Fri 08:00-22:00\" (days, then start-end)"
                )
            };
            let (days_text, times) = part.rsplit_once(' ').ok_or_else(bad)?;
            let (start, end) = times.split_once('-').ok_or_else(bad)?;
            let (start, end) = (
                parse_minutes(start).ok_or_else(bad)?,
                parse_minutes(end).ok_or_else(bad)?,
            );
            if start >= end {
                return Err(format!(
                    "open hours {part:?}: the end must come after the start"
                ));
            }
            let mut days = [false; 7];
            for item in days_text.split(',') {
                match item.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (parse_day(a).ok_or_else(bad)?, parse_day(b).ok_or_else(bad)?);
                        let mut d = a;
                        loop {
                            days[d] = true;
                            if d == b {
                                break;
                            }
                            d = (d + 1) % 7;
                        }
                    }
                    None => days[parse_day(item).ok_or_else(bad)?] = true,
                }
            }
            windows.push(Window { days, start, end });
        }
        Ok(Self { windows })
    }

    /// Whether no hours are configured (always open).
    #[must_use]
    pub fn is_always(&self) -> bool {
        self.windows.is_empty()
    }

    /// Whether the hours are open at the civil time `at` (a weekday, and a minute of its day).
    #[must_use]
    pub fn is_open_at(&self, day: Weekday, minute_of_day: u16) -> bool {
        self.is_always()
            || self.windows.iter().any(|w| {
                w.days[day_index(day)] && w.start <= minute_of_day && minute_of_day < w.end
            })
    }

    /// The open spans of a day, as minutes after midnight, sorted and merged.
    #[must_use]
    pub fn spans(&self, day: Weekday) -> Vec<(u16, u16)> {
        if self.is_always() {
            return vec![(0, 24 * 60)];
        }
        let mut spans: Vec<(u16, u16)> = self
            .windows
            .iter()
            .filter(|w| w.days[day_index(day)])
            .map(|w| (w.start, w.end))
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(spans.len());
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekday_ranges_lists_and_several_windows() {
        let h = OpenHours::parse("Mon-Fri 08:00-22:00; Sat 09:00-13:00; fri 21:00-23:30").unwrap();
        assert_eq!(h.spans(Weekday::Monday), [(480, 1320)]);
        assert_eq!(
            h.spans(Weekday::Friday),
            [(480, 1410)],
            "overlapping windows merge"
        );
        assert_eq!(h.spans(Weekday::Saturday), [(540, 780)]);
        assert!(h.spans(Weekday::Sunday).is_empty());
        let wrap = OpenHours::parse("Sat-Mon 10:00-12:00, Wed 1:00-2:00").unwrap_err();
        assert!(wrap.contains("Sat-Mon"), "{wrap}");
        let h = OpenHours::parse("Sat-Mon 10:00-12:00").unwrap();
        assert_eq!(
            h.spans(Weekday::Sunday),
            [(600, 720)],
            "ranges wrap past Sunday"
        );
        assert!(h.spans(Weekday::Tuesday).is_empty());
        assert!(
            h.is_open_at(Weekday::Sunday, 600),
            "the first minute is open"
        );
        assert!(!h.is_open_at(Weekday::Sunday, 720), "the end is not");
        assert!(!h.is_open_at(Weekday::Tuesday, 660));
        assert!(OpenHours::always().is_open_at(Weekday::Tuesday, 0));
    }

    #[test]
    fn empty_means_always_open_and_nonsense_is_named() {
        assert_eq!(
            OpenHours::parse("").unwrap().spans(Weekday::Sunday),
            [(0, 1440)]
        );
        for bad in [
            "Mon-Fri",
            "Someday 08:00-10:00",
            "Mon 10:00-09:00",
            "Mon 25:00-26:00",
        ] {
            assert!(OpenHours::parse(bad).is_err(), "{bad}");
        }
    }
}
