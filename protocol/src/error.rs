//! Error bodies and acks: what the server answers when it accepts or refuses input.
//!
//! The same `{"code", "message"}` object is used in `agent_snapshot` acks, in the `error`
//! event, and in HTTP error responses (`{"error": {...}}`).

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. Clients branch on it; the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload is not valid JSON.
    InvalidJson,
    /// The payload is valid JSON but not of the expected shape (e.g. not an object).
    InvalidPayload,
    /// A known field has the wrong type or an out-of-range value.
    InvalidField,
    /// The message is larger than the configured limit.
    TooLarge,
    /// The snapshot lists more processes than allowed.
    TooManyProcesses,
    /// No credentials, or credentials that match no role.
    Unauthorized,
    /// Valid credentials whose role may not do this.
    Forbidden,
    /// The server is saturated; retry later.
    Busy,
    /// The durable store failed; the snapshot was not stored.
    Storage,
    /// The resource does not exist.
    NotFound,
    /// A request parameter is malformed.
    BadRequest,
    /// A dependency (store, exporter) is not available right now.
    Unavailable,
    /// A server-side fault; details are in the server log.
    Internal,
    /// An outside service the server depends on (Google Sheets) failed or refused.
    Upstream,
    /// The feature asked for is not configured on this server.
    NotConfigured,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidPayload => "invalid_payload",
            Self::InvalidField => "invalid_field",
            Self::TooLarge => "too_large",
            Self::TooManyProcesses => "too_many_processes",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Busy => "busy",
            Self::Storage => "storage",
            Self::NotFound => "not_found",
            Self::BadRequest => "bad_request",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::Upstream => "upstream",
            Self::NotConfigured => "not_configured",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"code": ..., "message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong and what to do about it, for people.
    pub message: String,
}

impl ErrorBody {
    /// An error body with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The answer to an `agent_snapshot` sent with an ack callback.
///
/// On the wire: `{"ok": true, "seq": n}` once the snapshot is accepted (durably committed when
/// the server has a journal), or `{"ok": false, "error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Accepted; `seq` is the server's sequence number for the stored snapshot.
    Ok {
        /// Server-assigned, strictly increasing sequence number of the accepted snapshot.
        seq: u64,
    },
    /// Refused, with the reason.
    Err(ErrorBody),
}

#[derive(Serialize, Deserialize)]
struct AckWire {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

impl Serialize for Ack {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wire = match self {
            Self::Ok { seq } => AckWire {
                ok: true,
                seq: Some(*seq),
                error: None,
            },
            Self::Err(body) => AckWire {
                ok: false,
                seq: None,
                error: Some(body.clone()),
            },
        };
        wire.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Ack {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = AckWire::deserialize(deserializer)?;
        match (wire.ok, wire.seq, wire.error) {
            (true, Some(seq), _) => Ok(Self::Ok { seq }),
            (false, _, Some(body)) => Ok(Self::Err(body)),
            (true, None, _) => Err(D::Error::custom("an ok ack needs `seq`")),
            (false, _, None) => Err(D::Error::custom("a failed ack needs `error`")),
        }
    }
}

/// Why a snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SnapshotError {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// Human-readable reason naming the field at fault.
    pub message: String,
}

impl SnapshotError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The wire error body for this refusal.
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code, self.message.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ok_ack_has_the_wire_shape() {
        let v = serde_json::to_value(Ack::Ok { seq: 7 }).unwrap();
        assert_eq!(v, json!({"ok": true, "seq": 7}));
    }

    #[test]
    fn error_ack_has_the_wire_shape() {
        let ack = Ack::Err(ErrorBody::new(ErrorCode::Busy, "queue full"));
        let v = serde_json::to_value(&ack).unwrap();
        assert_eq!(
            v,
            json!({"ok": false, "error": {"code": "busy", "message": "queue full"}})
        );
        assert_eq!(serde_json::from_value::<Ack>(v).unwrap(), ack);
    }

    #[test]
    fn ack_without_seq_is_refused() {
        assert!(serde_json::from_value::<Ack>(json!({"ok": true})).is_err());
    }

    #[test]
    fn code_strings_match_serde_names() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::TooManyProcesses,
            ErrorCode::Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        }
    }
}
