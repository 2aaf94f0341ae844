//! `idlewatch-agent configure`: what the Windows installer runs with its public properties
//! (`SERVER`, `TOKEN` or `TOKEN_FILE`, `GROUP`, `WATCH`) to write the agent's configuration,
//! and what an administrator may run by hand on any system. An empty setting keeps what the
//! file already says, so a silent upgrade without properties keeps the configuration. The
//! token goes into a file beside it that only the system and administrators may read
//! ([`crate::secure`]), never into the configuration itself. Other keys and comments of an
//! existing file are kept; its layout is rewritten.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{AgentConfig, parse_watch};
use crate::secure;

/// The installer's properties; empty means "keep".
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `SERVER`.
    pub server: String,
    /// `TOKEN`.
    pub token: String,
    /// `TOKEN_FILE`.
    pub token_file: String,
    /// `GROUP`.
    pub group: String,
    /// `WATCH`: `name=exe1,exe2;name2=exe3`.
    pub watch: String,
}

/// The token file written beside the configuration.
pub const TOKEN_FILE: &str = "token";

/// Writes `path` from `settings` over what it already holds; returns it.
///
/// # Errors
/// A setting that does not make a valid configuration (naming it), or a file that cannot be
/// read or written.
pub fn configure(path: &Path, settings: &Settings) -> anyhow::Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    secure::private_dir(&dir)
        .with_context(|| format!("cannot create {} for the configuration", dir.display()))?;
    let mut table: toml::Table = match std::fs::read_to_string(path) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{} is not valid TOML; fix or remove it", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let set = |table: &mut toml::Table, key: &str, value: &str| {
        if !value.trim().is_empty() {
            table.insert(key.to_owned(), toml::Value::String(value.trim().to_owned()));
        }
    };
    set(&mut table, "server", &settings.server);
    set(&mut table, "group", &settings.group);
    if !settings.watch.trim().is_empty() {
        let mut watch = toml::Table::new();
        for rule in settings.watch.split(';').filter(|r| !r.trim().is_empty()) {
            let (name, exes) =
                parse_watch(rule.trim()).map_err(|e| anyhow::anyhow!("WATCH: {e}"))?;
            watch.insert(
                name,
                toml::Value::Array(exes.into_iter().map(toml::Value::String).collect()),
            );
        }
        table.insert("watch".to_owned(), toml::Value::Table(watch));
    }
    let token_file = if !settings.token.trim().is_empty() {
        let file = dir.join(TOKEN_FILE);
        secure::write_private(&file, settings.token.trim().as_bytes())
            .with_context(|| format!("cannot write the token to {}", file.display()))?;
        Some(file)
    } else if !settings.token_file.trim().is_empty() {
        Some(PathBuf::from(settings.token_file.trim()))
    } else {
        None
    };
    if let Some(file) = token_file {
        table.remove("token");
        table.insert(
            "token_file".to_owned(),
            toml::Value::String(file.to_string_lossy().into_owned()),
        );
    }
    let text = format!(
        "# Written by `idlewatch-agent configure` (the installer); keys it was not given are\n\
         # kept. Every key is documented in the agent's example agent.toml.\n{}",
        toml::to_string(&table).context("cannot write the configuration as TOML")?
    );
    AgentConfig::from_toml(&text)
        .map_err(|e| anyhow::anyhow!("the configuration would be invalid: {e}"))?
        .check()
        .map_err(|e| anyhow::anyhow!("the configuration would be invalid: {e}"))?;
    secure::write_private(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_written_and_empty_ones_keep_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        let first = Settings {
            server: "https://idlewatch.lab:5000".to_owned(),
            token: "iwh_secret".to_owned(),
            group: "Lab CTI".to_owned(),
            watch: "ansys=ansysedt.exe,runwb2.exe;rocky=Rocky.exe".to_owned(),
            ..Settings::default()
        };
        configure(&path, &first).unwrap();
        let config = AgentConfig::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(config.server, "https://idlewatch.lab:5000");
        assert_eq!(config.group.as_deref(), Some("Lab CTI"));
        assert_eq!(config.watch["ansys"], ["ansysedt.exe", "runwb2.exe"]);
        assert_eq!(config.token, None, "the token is not in the configuration");
        let token_file = config.token_file.clone().unwrap();
        assert_eq!(std::fs::read_to_string(&token_file).unwrap(), "iwh_secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&token_file), 0o600);
            assert_eq!(mode(&path), 0o600);
        }
        // An upgrade without properties keeps everything.
        configure(&path, &Settings::default()).unwrap();
        let again = AgentConfig::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(again, config);
        // A bad property is refused, naming it, and the file is left as it was.
        let bad = Settings {
            server: "idlewatch.lab:5000".to_owned(),
            ..Settings::default()
        };
        let err = configure(&path, &bad).unwrap_err().to_string();
        assert!(err.contains("http://"), "{err}");
        assert_eq!(
            AgentConfig::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap(),
            config
        );
    }
}
