//! The `agent_register` payload: `{"host": str, ...}` with any extra fields kept.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ErrorCode;
use crate::fields::check_host;
use crate::snapshot::SnapshotError;

/// An agent announcing itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AgentRegister {
    /// The agent's host name.
    pub host: String,
    /// Anything else the agent sent (`agent_version`, `os`, ...), in order.
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
    fn extra_fields_are_kept() {
        let r =
            AgentRegister::parse(r#"{"host": "a", "os": "linux", "agent_version": "1"}"#).unwrap();
        assert_eq!(r.extra.keys().collect::<Vec<_>>(), ["os", "agent_version"]);
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
