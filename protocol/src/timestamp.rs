//! The agent's own capture time, `captured_at`: an RFC 3339 string or epoch milliseconds.

use serde::de::{self, Deserializer, Visitor};

/// When the agent took a snapshot, as milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CapturedAt(pub i64);

impl CapturedAt {
    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub fn epoch_ms(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp such as `2026-11-26T08:00:00Z`.
    ///
    /// # Errors
    /// A human-readable reason when `text` is not RFC 3339.
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        crate::time::parse_rfc3339_ms(text).map(Self)
    }
}

impl<'de> de::Deserialize<'de> for CapturedAt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CapturedAtVisitor)
    }
}

struct CapturedAtVisitor;

const EXPECTED: &str = "an RFC 3339 time string or epoch milliseconds";

impl Visitor<'_> for CapturedAtVisitor {
    type Value = CapturedAt;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<CapturedAt, E> {
        CapturedAt::parse_rfc3339(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<CapturedAt, E> {
        i64::try_from(v)
            .map(CapturedAt)
            .map_err(|_| E::custom("epoch milliseconds out of range"))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<CapturedAt, E> {
        if v < 0 {
            return Err(E::custom("epoch milliseconds must not be negative"));
        }
        Ok(CapturedAt(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<CapturedAt, E> {
        // Agents written in JavaScript or Python may send `Date.now()`-like floats.
        if !(0.0..=9.0e15).contains(&v) {
            return Err(E::custom(
                "epoch milliseconds must be a non-negative number",
            ));
        }
        #[allow(clippy::cast_possible_truncation)]
        Ok(CapturedAt(v.trunc() as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_and_epoch_ms_agree() {
        let a: CapturedAt = serde_json::from_str("\"2026-11-26T08:00:00.250Z\"").unwrap();
        let b: CapturedAt = serde_json::from_str("1795680000250").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let a: CapturedAt = serde_json::from_str("\"2026-11-26T05:00:00-03:00\"").unwrap();
        let b: CapturedAt = serde_json::from_str("\"2026-11-26T08:00:00Z\"").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn garbage_and_negative_values_are_refused() {
        assert!(serde_json::from_str::<CapturedAt>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<CapturedAt>("-5").is_err());
        assert!(serde_json::from_str::<CapturedAt>("true").is_err());
    }
}
