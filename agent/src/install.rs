//! `idlewatch-agent configure`: what the Windows installer runs with its public properties
//! (`SERVER`, `TOKEN` or `TOKEN_FILE`, `GROUP`, `WATCH`) to write the agent's configuration,
//! and what an administrator may run by hand on any system. An empty setting keeps what the
//! file already says, so a silent upgrade without properties keeps the configuration. The
//! token goes into a file beside it that only the system and administrators may read
//! ([`crate::secure`]), never into the configuration itself: given as `TOKEN`, or read at
//! install time from `TOKEN_FILE` — whose `{host}` is replaced by this machine's name, so one
//! installer can take each PC's own token from a share (see config/windows-service.md). Other
//! keys of an existing file are kept; its layout and comments are rewritten.

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

/// The name this machine reports under unless configured otherwise (what per-host tokens are
/// issued for).
fn machine_name() -> String {
    sysinfo::System::host_name().unwrap_or_default()
}

/// The token in the file `pattern` names, `{host}` replaced by `host`: its first line, trimmed.
fn read_token_file(pattern: &str, host: &str) -> anyhow::Result<String> {
    if pattern.contains("{host}") && host.is_empty() {
        anyhow::bail!("TOKEN_FILE {pattern} names {{host}}, but this machine's name is unknown");
    }
    let path = pattern.replace("{host}", host);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the token file {path} (TOKEN_FILE); check that it exists and that this \
             machine's account may read it"
        )
    })?;
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        anyhow::bail!("the token file {path} (TOKEN_FILE) is empty: put the agent token in it");
    }
    Ok(token.to_owned())
}

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
    let token = if !settings.token.trim().is_empty() {
        Some(settings.token.trim().to_owned())
    } else if !settings.token_file.trim().is_empty() {
        Some(read_token_file(
            settings.token_file.trim(),
            &machine_name(),
        )?)
    } else {
        None
    };
    if let Some(token) = token {
        let file = dir.join(TOKEN_FILE);
        secure::write_private(&file, token.as_bytes())
            .with_context(|| format!("cannot write the token to {}", file.display()))?;
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

    #[test]
    fn a_token_file_is_read_at_install_with_the_machines_name_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let share = dir.path().join("share");
        std::fs::create_dir(&share).unwrap();
        std::fs::write(share.join("LAB1-PC07.token"), "iwh_pc07\r\n").unwrap();
        let pattern = format!("{}/{{host}}.token", share.display());
        assert_eq!(read_token_file(&pattern, "LAB1-PC07").unwrap(), "iwh_pc07");
        let missing = read_token_file(&pattern, "LAB1-PC08").unwrap_err();
        assert!(
            format!("{missing:#}").contains("LAB1-PC08.token")
                && missing.to_string().contains("may read it"),
            "{missing:#}"
        );
        std::fs::write(share.join("empty.token"), "\n").unwrap();
        let empty = read_token_file(&format!("{}/empty.token", share.display()), "x").unwrap_err();
        assert!(empty.to_string().contains("is empty"), "{empty}");
        assert!(
            read_token_file(&pattern, "")
                .unwrap_err()
                .to_string()
                .contains("unknown")
        );

        // Configured from it: the token copied into the private file, the share not needed
        // after the install.
        let path = dir.path().join("conf/agent.toml");
        std::fs::write(share.join(format!("{}.token", machine_name())), "iwh_me").unwrap();
        let settings = Settings {
            server: "https://idlewatch.lab:5000".to_owned(),
            token_file: pattern,
            ..Settings::default()
        };
        configure(&path, &settings).unwrap();
        std::fs::remove_dir_all(&share).unwrap();
        let config = AgentConfig::from_toml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let token_file = config.token_file.unwrap();
        assert_eq!(token_file, dir.path().join("conf").join(TOKEN_FILE));
        assert_eq!(std::fs::read_to_string(token_file).unwrap(), "iwh_me");
    }
}
