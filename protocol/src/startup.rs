//! What a started server tells whoever started it — a service manager, a script, the tests,
//! the load generator: the log line that says where it listens, and the role tokens it
//! generated into its data dir on first start.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config_file::{self, FileError};

/// The start of the line the server logs once it accepts connections; its URL follows.
pub const LISTENING: &str = "idlewatch-server listening on ";

/// The URL in a log line that announces the server listening (`http://127.0.0.1:5000`).
#[must_use]
pub fn listening_url(line: &str) -> Option<&str> {
    let at = line.find(LISTENING)?;
    Some(line[at + LISTENING.len()..].trim())
}

/// The file in the data dir that holds the generated role tokens.
pub const TOKEN_FILE: &str = "tokens.toml";

/// One token per role; the shared agent token only where it is enabled. (No `Debug`: these
/// are secrets, and a log line must never show them.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleTokens {
    /// The token every agent may share (`auth.shared_agent_token`); per-host tokens otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_token: Option<String>,
    /// Viewers' token.
    pub viewer_token: String,
    /// Administrators' token.
    pub admin_token: String,
}

impl RoleTokens {
    /// The tokens a server generated in `data_dir`.
    ///
    /// # Errors
    /// The file missing (the server runs `--open`, or has not started yet) or unreadable.
    pub fn load(data_dir: &Path) -> Result<Self, FileError> {
        config_file::load(&data_dir.join(TOKEN_FILE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_url_in_the_servers_log_line() {
        let line = "2026-12-02T11:00:00.000Z  INFO idlewatch_server: idlewatch-server listening \
                    on https://127.0.0.1:5443 ";
        assert_eq!(listening_url(line), Some("https://127.0.0.1:5443"));
        assert_eq!(listening_url("store open: 3 hosts restored"), None);
    }

    #[test]
    fn reads_the_generated_tokens() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(TOKEN_FILE),
            "viewer_token = \"v\"\nadmin_token = \"a\"\n",
        )
        .unwrap();
        let tokens = RoleTokens::load(dir.path()).unwrap();
        assert_eq!(
            (tokens.agent_token, tokens.viewer_token.as_str()),
            (None, "v")
        );
        std::fs::write(dir.path().join(TOKEN_FILE), "viewer = \"v\"\n").unwrap();
        let message = RoleTokens::load(dir.path()).err().unwrap().to_string();
        assert!(message.contains("tokens.toml is invalid"), "{message}");
    }
}
