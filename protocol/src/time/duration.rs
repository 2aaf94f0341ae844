//! Durations in config files and flags: plain seconds (`30`) or jiff's friendly format
//! (`"30s"`, `"5m"`, `"1h 30m"`, `"90d"`: days of 24 hours), for the server, the agent and the
//! admin CLI alike.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses `30`, `"30"`, `"30s"`, `"5m"`, `"1h 30m"`.
///
/// # Errors
/// A message saying which forms are accepted.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let hint = "use seconds or e.g. 30s, 5m, 1h, 7d";
    let span: jiff::Span = text
        .parse()
        .map_err(|e| format!("`{text}` is not a duration ({e}); {hint}"))?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("`{text}` is not a duration ({e}); {hint}"))?;
    Duration::try_from(signed)
        .map_err(|_| format!("`{text}` is negative; a duration is a length of time ({hint})"))
}

/// Serde `deserialize_with` for a [`Duration`] given as a number of seconds or a string.
///
/// # Errors
/// When the value is neither a non-negative number nor a duration string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Float(f64),
        Text(String),
    }
    match Raw::deserialize(deserializer)
        .map_err(|_| serde::de::Error::custom("expected seconds or a duration such as \"30s\""))?
    {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Float(f) if f.is_finite() && f >= 0.0 => Ok(Duration::from_secs_f64(f)),
        Raw::Float(f) => Err(serde::de::Error::custom(format!("{f} is not a duration"))),
        Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom),
    }
}

/// Serde `with` for an optional [`Duration`] (`#[serde(default, with = "duration::optional")]`):
/// absent is `None`, present is read as [`deserialize`] reads it.
pub mod optional {
    use std::time::Duration;

    use serde::Deserializer;

    /// Reads a present value.
    ///
    /// # Errors
    /// As [`super::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_seconds_and_friendly_durations() {
        assert_eq!(parse("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(parse("2 hours").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse("soon").unwrap_err().contains("soon"));
        assert!(parse("-5s").unwrap_err().contains("negative"));
    }
}
