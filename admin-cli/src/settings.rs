//! Where the server is, which token to present and which CA to trust: flags, then environment
//! (`IDLEWATCH_SERVER`, `IDLEWATCH_ADMIN_TOKEN`, `IDLEWATCH_CA_FILE`, read by clap), then a small TOML file
//! (`~/.config/idlewatch/admin.toml`, or `$XDG_CONFIG_HOME/idlewatch/admin.toml`, or
//! `--config` / `IDLEWATCH_ADMIN_CONFIG`), then the default server `http://127.0.0.1:5000`.

use std::path::{Path, PathBuf};

use idlewatch_protocol::config_file;
use serde::Deserialize;

use crate::error::CliError;

/// The server when none is given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:5000";

/// `admin.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    server: Option<String>,
    token: Option<String>,
    ca_file: Option<PathBuf>,
}

/// The resolved connection settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server's base URL, without a trailing slash.
    pub server: String,
    /// The admin token, if any was given.
    pub token: Option<String>,
    /// The only CA trusted for an `https://` server (a private CA); `None`: the system's.
    pub ca_file: Option<PathBuf>,
}

/// The default config file's path, if a home is known.
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("idlewatch").join("admin.toml"))
}

fn read(path: &Path, explicit: bool) -> Result<FileSettings, CliError> {
    match config_file::load(path) {
        Err(e) if e.is_missing() && !explicit => Ok(FileSettings::default()),
        loaded => loaded.map_err(|e| CliError::Usage(e.to_string())),
    }
}

/// Resolves the settings from the parsed flags (which already include the environment).
///
/// # Errors
/// An unreadable or invalid config file, or a server that is not an http(s) URL.
pub fn resolve(
    server: Option<&str>,
    token: Option<&str>,
    ca_file: Option<&Path>,
    config: Option<&Path>,
) -> Result<Settings, CliError> {
    let file = match config {
        Some(path) => read(path, true)?,
        None => match default_path() {
            Some(path) => read(&path, false)?,
            None => FileSettings::default(),
        },
    };
    let server = server
        .map(str::to_owned)
        .or(file.server)
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let server = server.trim().trim_end_matches('/').to_owned();
    if !server.starts_with("http://") && !server.starts_with("https://") {
        return Err(CliError::Usage(format!(
            "--server {server:?} is not an address such as http://127.0.0.1:5000"
        )));
    }
    let token = token
        .map(str::to_owned)
        .or(file.token)
        .filter(|t| !t.trim().is_empty());
    let ca_file = ca_file.map(Path::to_path_buf).or(file.ca_file);
    Ok(Settings {
        server,
        token,
        ca_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.toml");
        std::fs::write(
            &path,
            "server = \"http://lab:5000/\"\ntoken = \"from-file\"\n",
        )
        .unwrap();
        let s = resolve(None, None, None, Some(&path)).unwrap();
        assert_eq!(
            (s.server.as_str(), s.token.as_deref()),
            ("http://lab:5000", Some("from-file"))
        );
        let s = resolve(Some("http://other:1"), Some("flag"), None, Some(&path)).unwrap();
        assert_eq!(
            (s.server.as_str(), s.token.as_deref()),
            ("http://other:1", Some("flag"))
        );
        std::fs::write(&path, "sever = \"x\"\n").unwrap();
        let err = resolve(None, None, None, Some(&path))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sever"), "{err}");
        assert!(resolve(Some("lab:5000"), None, None, Some(&path)).is_err());
        let missing = dir.path().join("none.toml");
        assert!(resolve(None, None, None, Some(&missing)).is_err());
    }
}
