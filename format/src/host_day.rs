//! The host-day rollup: one PC's watched apps over one UTC day as spans of one state each,
//! computed once from the day's summaries when the day has settled and kept beside them, so
//! the licence views read a year of a lab as ~36,500 small rows instead of ~630 million
//! summaries.
//!
//! Layout (version 1): `1`, varint cover (ms a snapshot covered at most when built), varint app
//! count, then per app: name (varint length + UTF-8), varint span count, then per span: varint
//! gap (from the day's start, then from the previous span's end), varint length (ms), the state
//! byte (as in the summary). Spans of an app are in time order and never overlap.

use idlewatch_protocol::StateSpan;

use super::summary::{get_str, put_str, state_byte, state_of_byte};
use super::varint::{get_varint, put_varint};

/// Milliseconds in a rollup's day (UTC).
pub const DAY_MS: i64 = 86_400_000;

const VERSION: u8 = 1;

/// One PC's day: each watched app it reported (its name as first seen that day) and its spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostDay {
    /// How long one snapshot covered at most (3 × the report interval) when this was built: a
    /// rollup built under another interval no longer says what the summaries say.
    pub cover_ms: i64,
    /// Each app and its spans, in time order.
    pub apps: Vec<(String, Vec<StateSpan>)>,
}

impl HostDay {
    /// Encodes the day that starts at `day_ms`.
    ///
    /// # Errors
    /// A span outside the day, reversed, or overlapping its predecessor.
    pub fn encode(&self, day_ms: i64) -> Result<Vec<u8>, &'static str> {
        let mut out = vec![VERSION];
        put_varint(
            &mut out,
            u64::try_from(self.cover_ms).map_err(|_| "negative cover")?,
        );
        put_varint(&mut out, self.apps.len() as u64);
        for (name, spans) in &self.apps {
            put_str(&mut out, name);
            put_varint(&mut out, spans.len() as u64);
            let mut at = day_ms;
            for span in spans {
                if span.start_ms < at
                    || span.end_ms < span.start_ms
                    || span.end_ms > day_ms + DAY_MS
                {
                    return Err("spans out of order or outside the day");
                }
                put_varint(&mut out, (span.start_ms - at).unsigned_abs());
                put_varint(&mut out, (span.end_ms - span.start_ms).unsigned_abs());
                out.push(state_byte(span.state));
                at = span.end_ms;
            }
        }
        Ok(out)
    }

    /// The cover an encoded day was built under, read from its header alone.
    #[must_use]
    pub fn cover_of(bytes: &[u8]) -> Option<i64> {
        if bytes.first() != Some(&VERSION) {
            return None;
        }
        let mut pos = 1;
        get_varint(bytes, &mut pos).and_then(|v| i64::try_from(v).ok())
    }

    /// Decodes the day that starts at `day_ms` from all of `bytes`.
    ///
    /// # Errors
    /// What is malformed.
    pub fn decode(day_ms: i64, bytes: &[u8]) -> Result<Self, &'static str> {
        if bytes.first() != Some(&VERSION) {
            return Err("unknown host-day version");
        }
        let mut pos = 1;
        let number = |pos: &mut usize, what: &'static str| -> Result<i64, &'static str> {
            get_varint(bytes, pos)
                .and_then(|v| i64::try_from(v).ok())
                .filter(|v| *v <= DAY_MS * 4)
                .ok_or(what)
        };
        let cover_ms = get_varint(bytes, &mut pos)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or("truncated cover")?;
        let count = get_varint(bytes, &mut pos).ok_or("truncated app count")?;
        let mut apps = Vec::with_capacity(usize::try_from(count.min(64)).unwrap_or(0));
        for _ in 0..count {
            let name = get_str(bytes, &mut pos)?;
            let n = get_varint(bytes, &mut pos).ok_or("truncated span count")?;
            let mut spans = Vec::with_capacity(usize::try_from(n.min(4096)).unwrap_or(0));
            let mut at = day_ms;
            for _ in 0..n {
                let start_ms = at + number(&mut pos, "truncated span gap")?;
                let end_ms = start_ms + number(&mut pos, "truncated span length")?;
                let state = state_of_byte(*bytes.get(pos).ok_or("truncated span state")?)?;
                pos += 1;
                if end_ms > day_ms + DAY_MS {
                    return Err("span past the day");
                }
                spans.push(StateSpan {
                    start_ms,
                    end_ms,
                    state,
                });
                at = end_ms;
            }
            apps.push((name, spans));
        }
        if pos != bytes.len() {
            return Err("trailing bytes after the host-day");
        }
        Ok(Self { cover_ms, apps })
    }
}

/// The start of the UTC day holding `ms`.
#[must_use]
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

#[cfg(test)]
mod tests {
    use idlewatch_protocol::WatchedState;
    use proptest::prelude::*;

    use super::*;

    const DAY: i64 = 1_795_392_000_000;

    fn states() -> impl Strategy<Value = WatchedState> {
        prop_oneof![
            Just(WatchedState::Interactive),
            Just(WatchedState::Computing),
            Just(WatchedState::Idle),
            Just(WatchedState::NotRunning),
        ]
    }

    fn days() -> impl Strategy<Value = HostDay> {
        let app = (
            "[A-Za-z ]{1,12}",
            prop::collection::vec((0i64..3_600_000, 0i64..7_200_000, states()), 0..20),
        )
            .prop_map(|(name, steps)| {
                let mut at = DAY;
                let mut spans = Vec::new();
                for (gap, len, state) in steps {
                    let start_ms = (at + gap).min(DAY + DAY_MS);
                    let end_ms = (start_ms + len).min(DAY + DAY_MS);
                    spans.push(StateSpan {
                        start_ms,
                        end_ms,
                        state,
                    });
                    at = end_ms;
                }
                (name, spans)
            });
        (0i64..1_000_000, prop::collection::vec(app, 0..6))
            .prop_map(|(cover_ms, apps)| HostDay { cover_ms, apps })
    }

    proptest! {
        #[test]
        fn any_day_round_trips(day in days()) {
            let bytes = day.encode(DAY).unwrap();
            prop_assert_eq!(HostDay::cover_of(&bytes), Some(day.cover_ms));
            prop_assert_eq!(HostDay::decode(DAY, &bytes).unwrap(), day);
        }

        #[test]
        fn any_truncation_is_an_error_not_a_panic(day in days(), cut in 0usize..200) {
            let bytes = day.encode(DAY).unwrap();
            if cut < bytes.len() {
                prop_assert!(HostDay::decode(DAY, &bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn spans_outside_the_day_or_overlapping_are_refused() {
        let span = |start_ms, end_ms| StateSpan {
            start_ms,
            end_ms,
            state: WatchedState::Idle,
        };
        for spans in [
            vec![span(DAY - 1, DAY + 5)],
            vec![span(DAY + 10, DAY + DAY_MS + 1)],
            vec![span(DAY + 10, DAY + 20), span(DAY + 15, DAY + 30)],
            vec![span(DAY + 20, DAY + 10)],
        ] {
            let day = HostDay {
                cover_ms: 15_000,
                apps: vec![("ansys".to_owned(), spans)],
            };
            assert!(day.encode(DAY).is_err(), "{day:?}");
        }
    }

    #[test]
    fn days_are_utc_days() {
        assert_eq!(day_of(DAY + 5), DAY);
        assert_eq!(day_of(DAY - 5), DAY - DAY_MS);
    }
}
