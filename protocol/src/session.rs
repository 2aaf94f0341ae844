//! The user session a snapshot's idle time and foreground app come from: on a shared lab PC
//! the agent runs as a system service, and a small helper in each user session reports that
//! session's input and windows. A snapshot carries `session` (`user`, `since`, `source`) when
//! one is known, and `idle_source` says where its idle time came from — or, with
//! [`NO_SESSION`] and [`HELPER_MISSING`], why there is none.

use serde::{Deserialize, Serialize};

use crate::timestamp::CapturedAt;

/// `idle_source` when nobody is logged on at the machine.
pub const NO_SESSION: &str = "no_session";
/// `idle_source` when a user is logged on but their session helper has not reported for two
/// intervals: it was stopped or never started (a tamper signal).
pub const HELPER_MISSING: &str = "helper_missing";

/// `session.source` when the session's own helper reported it.
pub const SOURCE_HELPER: &str = "helper";
/// `session.source` when the operating system told the agent who is logged on (Windows
/// Terminal Services, systemd-logind), without a helper.
pub const SOURCE_SYSTEM: &str = "system";

/// Who is at the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The logged-on user's name, when known.
    #[serde(default)]
    pub user: Option<String>,
    /// When they logged on, when known (RFC 3339 on the wire; epoch ms also accepted).
    #[serde(default, with = "since")]
    pub since: Option<CapturedAt>,
    /// How the agent knows: [`SOURCE_HELPER`] or [`SOURCE_SYSTEM`].
    #[serde(default)]
    pub source: Option<String>,
}

/// `since` as an RFC 3339 string (read: a string or epoch ms, like `captured_at`).
mod since {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::timestamp::CapturedAt;

    pub fn serialize<S: Serializer>(v: &Option<CapturedAt>, s: S) -> Result<S::Ok, S::Error> {
        let text = v.and_then(|c| {
            jiff::Timestamp::from_millisecond(c.epoch_ms())
                .ok()
                .map(|t| t.to_string())
        });
        match text {
            Some(t) => s.serialize_str(&t),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CapturedAt>, D::Error> {
        Option::<CapturedAt>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_with_an_rfc3339_since() {
        let s = SessionInfo {
            user: Some("ana".to_owned()),
            since: Some(CapturedAt(1_795_680_000_000)),
            source: Some(SOURCE_HELPER.to_owned()),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"user": "ana", "since": "2026-11-26T08:00:00Z", "source": "helper"})
        );
        assert_eq!(serde_json::from_value::<SessionInfo>(v).unwrap(), s);
        let partial: SessionInfo = serde_json::from_str(r#"{"user":"bo"}"#).unwrap();
        assert_eq!(partial.since, None);
    }
}
