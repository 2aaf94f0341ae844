//! The `agent_register` payload: `{"host": str, ...}` with any extra fields kept.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ErrorCode;
use crate::error::SnapshotError;
use crate::fields::check_host;

/// An agent announcing itself. The seed's agents send only `host`; the Idlewatch agent adds
/// its identity, version and operating system.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentRegister {
    /// The agent's host name.
    pub host: String,
    /// The agent's stable identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// `idlewatch-agent/<version>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// `linux`, `windows`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Anything else the agent sent, in order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AgentRegister {
    /// Parses and validates a register payload.
    ///
    /// # Errors
    /// A [`SnapshotError`] (the same codes as for snapshots) naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, SnapshotError> {
        crate::structure::check_structure(text)?;
        let value: Value = serde_json::from_str(text).map_err(|e| SnapshotError {
            code: ErrorCode::InvalidJson,
            message: format!("not valid JSON: {e}"),
        })?;
        Self::from_value(value)
    }

    /// Validates an already-parsed register payload.
    ///
    /// # Errors
    /// A [`SnapshotError`] naming what is wrong.
    pub fn from_value(value: Value) -> Result<Self, SnapshotError> {
        if !value.is_object() {
            return Err(SnapshotError {
                code: ErrorCode::InvalidPayload,
                message: "agent_register needs a JSON object with `host`".to_owned(),
            });
        }
        let reg: Self = serde_json::from_value(value).map_err(|e| SnapshotError {
            code: ErrorCode::InvalidField,
            message: format!("agent_register: {e}"),
        })?;
        check_host(&reg.host).map_err(|why| SnapshotError {
            code: ErrorCode::InvalidField,
            message: format!("`host` {why}"),
        })?;
        Ok(reg)
    }
}

/// The answer to an accepted `agent_register`: `{"ok": true, "host": ...}` (a refusal is an
/// [`crate::Ack::Err`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterAck {
    /// Always `true`.
    pub ok: bool,
    /// The host registered.
    pub host: String,
}

impl RegisterAck {
    /// The ack of `host`'s registration.
    #[must_use]
    pub fn new(host: String) -> Self {
        Self { ok: true, host }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_register_parses() {
        let r = AgentRegister::parse(r#"{"host": "LAB-CTI-07"}"#).unwrap();
        assert_eq!(r.host, "LAB-CTI-07");
        assert!(r.extra.is_empty());
    }

    #[test]
    fn known_fields_are_typed_and_extra_ones_kept() {
        let text =
            r#"{"host": "a", "site": "north", "os": "linux", "agent_version": "1", "room": 7}"#;
        let r = AgentRegister::parse(text).unwrap();
        assert_eq!(r.os.as_deref(), Some("linux"));
        assert_eq!(r.agent_version.as_deref(), Some("1"));
        assert_eq!(r.extra.keys().collect::<Vec<_>>(), ["site", "room"]);
    }

    #[test]
    fn the_agents_register_round_trips() {
        let sent = AgentRegister {
            host: "pc-1".to_owned(),
            agent_id: Some("0f3c".to_owned()),
            agent_version: Some("idlewatch-agent/0.1.0".to_owned()),
            os: Some("windows".to_owned()),
            extra: Map::new(),
        };
        let text = serde_json::to_string(&sent).unwrap();
        assert_eq!(
            text,
            r#"{"host":"pc-1","agent_id":"0f3c","agent_version":"idlewatch-agent/0.1.0","os":"windows"}"#
        );
        assert_eq!(AgentRegister::parse(&text).unwrap(), sent);
    }

    #[test]
    fn missing_or_bad_host_is_refused() {
        assert_eq!(
            AgentRegister::parse("{}").unwrap_err().code,
            ErrorCode::InvalidField
        );
        assert_eq!(
            AgentRegister::parse(r#"{"host": 5}"#).unwrap_err().code,
            ErrorCode::InvalidField
        );
        assert_eq!(
            AgentRegister::parse(r#""pc""#).unwrap_err().code,
            ErrorCode::InvalidPayload
        );
    }
}
