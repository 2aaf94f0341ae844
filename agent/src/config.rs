//! The agent's configuration: built-in defaults < `agent.toml` (`--config`) < `IDLEWATCH_*`
//! environment < flags. Unknown keys in the file are refused by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use idlewatch_protocol::config_file::{self, FileError};
use idlewatch_protocol::time::duration;
use serde::Deserialize;

/// Everything the agent needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The server's base URL, or several separated by commas (a list in the file): servers of
    /// one cluster, tried in turn ([`Self::servers`]).
    #[serde(deserialize_with = "one_or_many")]
    pub server: String,
    /// The agent token (not needed when the server runs `--open`).
    pub token: Option<String>,
    /// A file holding the agent token, read at start when `token` is unset: the token then
    /// stays out of a config file that session helpers or users may read.
    pub token_file: Option<PathBuf>,
    /// Where session helpers connect: a Unix socket path, or a Windows pipe name.
    pub session_channel: PathBuf,
    /// PEM certificate(s) of the authority that signed an `https://` server's certificate;
    /// unset: the system's authorities.
    pub ca_file: Option<PathBuf>,
    /// Time between two snapshots.
    #[serde(deserialize_with = "duration::deserialize")]
    pub interval: Duration,
    /// Idle below this is an active user.
    #[serde(deserialize_with = "duration::deserialize")]
    pub idle_threshold: Duration,
    /// CPU percent of a watched app's processes from which it counts as computing.
    pub busy_cpu: f64,
    /// Where unacked snapshots and the agent's identity are kept.
    pub spool_dir: PathBuf,
    /// Send the foreground window's title (off by default: privacy).
    pub collect_titles: bool,
    /// The host name to report (default: the machine's).
    pub host: Option<String>,
    /// The lab or room this machine belongs to.
    pub group: Option<String>,
    /// Oldest unacked snapshot kept; older ones are dropped (counted in the log).
    #[serde(deserialize_with = "duration::deserialize")]
    pub spool_max_age: Duration,
    /// Most bytes of unacked snapshots kept; the oldest go first beyond it.
    pub spool_max_bytes: u64,
    /// Watched applications: name → executable names.
    pub watch: BTreeMap<String, Vec<String>>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            server: "http://127.0.0.1:5000".to_owned(),
            token: None,
            token_file: None,
            session_channel: crate::session::transport::default_path(),
            ca_file: None,
            interval: Duration::from_secs(5),
            idle_threshold: Duration::from_secs(60),
            busy_cpu: 5.0,
            spool_dir: default_spool_dir(),
            collect_titles: false,
            host: None,
            group: None,
            spool_max_age: Duration::from_secs(24 * 3600),
            spool_max_bytes: 100 << 20,
            watch: BTreeMap::new(),
        }
    }
}

fn default_spool_dir() -> PathBuf {
    if cfg!(windows) {
        program_data().join("spool")
    } else {
        PathBuf::from("/var/lib/idlewatch-agent/spool")
    }
}

/// `%ProgramData%\Idlewatch` on Windows: configuration, spool, identity and token. The folder
/// is asked of the system (a service's environment may name another one), then the
/// environment, then `C:\ProgramData`.
#[must_use]
pub fn program_data() -> PathBuf {
    #[cfg(windows)]
    if let Some(dir) = crate::collect::known_program_data() {
        return dir.join("Idlewatch");
    }
    std::env::var_os("ProgramData")
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
        .join("Idlewatch")
}

/// The system's configuration file: `%ProgramData%\Idlewatch\agent.toml` on Windows,
/// `/etc/idlewatch/agent.toml` elsewhere.
#[must_use]
pub fn system_config_file() -> PathBuf {
    if cfg!(windows) {
        program_data().join("agent.toml")
    } else {
        PathBuf::from("/etc/idlewatch/agent.toml")
    }
}

/// The configuration file read when none is given: [`system_config_file`], when it exists.
#[must_use]
pub fn default_config_file() -> Option<PathBuf> {
    let path = system_config_file();
    path.is_file().then_some(path)
}

/// A configuration that cannot be used, with what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file cannot be read or parsed (names the file and key).
    #[error(transparent)]
    File(#[from] FileError),
    /// The token file cannot be read.
    #[error(
        "cannot read token_file {path}: {source}; put the agent token in it (idlewatch-admin tokens issue --host HOST)"
    )]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error (missing, unreadable, ...).
        source: std::io::Error,
    },
    /// A value given on the command line or in the environment is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Values from the command line and environment; `None` means not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--server` / `IDLEWATCH_SERVER`.
    pub server: Option<String>,
    /// `--token` / `IDLEWATCH_AGENT_TOKEN`.
    pub token: Option<String>,
    /// `--ca-file` / `IDLEWATCH_CA_FILE`.
    pub ca_file: Option<PathBuf>,
    /// `--interval`.
    pub interval: Option<Duration>,
    /// `--idle-threshold`.
    pub idle_threshold: Option<Duration>,
    /// `--busy-cpu`.
    pub busy_cpu: Option<f64>,
    /// `--spool-dir`.
    pub spool_dir: Option<PathBuf>,
    /// `--session-channel`.
    pub session_channel: Option<PathBuf>,
    /// `--collect-titles`.
    pub collect_titles: bool,
    /// `--host`.
    pub host: Option<String>,
    /// `--group`.
    pub group: Option<String>,
    /// `--watch NAME=exe1,exe2`, repeatable.
    pub watch: Vec<String>,
}

impl AgentConfig {
    /// Builds the configuration from the file (if any) and the overrides.
    ///
    /// # Errors
    /// The first layer that cannot be used, naming the file, key or flag.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Error> {
        let mut config = match file {
            Some(path) => config_file::load(path)?,
            None => Self::default(),
        };
        config.apply(overrides)?;
        config.check()?;
        config.read_token_file()?;
        Ok(config)
    }

    /// Takes the token from `token_file` when no token was given otherwise.
    fn read_token_file(&mut self) -> Result<(), Error> {
        let Some(path) = self.token_file.as_ref().filter(|_| self.token.is_none()) else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path).map_err(|source| Error::TokenFile {
            path: path.clone(),
            source,
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Error::Invalid(format!(
                "token_file {} is empty; put the agent token in it (idlewatch-admin tokens \
                 issue --host HOST)",
                path.display()
            )));
        }
        self.token = Some(token.to_owned());
        Ok(())
    }

    /// Parses TOML text over the defaults.
    ///
    /// # Errors
    /// The parser's message, naming unknown keys and wrong types.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        config_file::parse(text)
    }

    fn apply(&mut self, o: &Overrides) -> Result<(), Error> {
        if let Some(v) = &o.server {
            self.server.clone_from(v);
        }
        if let Some(v) = &o.token {
            self.token = Some(v.clone());
        }
        if let Some(v) = &o.ca_file {
            self.ca_file = Some(v.clone());
        }
        if let Some(v) = o.interval {
            self.interval = v;
        }
        if let Some(v) = o.idle_threshold {
            self.idle_threshold = v;
        }
        if let Some(v) = o.busy_cpu {
            self.busy_cpu = v;
        }
        if let Some(v) = &o.spool_dir {
            self.spool_dir.clone_from(v);
        }
        if let Some(v) = &o.session_channel {
            self.session_channel.clone_from(v);
        }
        if o.collect_titles {
            self.collect_titles = true;
        }
        if let Some(v) = &o.host {
            self.host = Some(v.clone());
        }
        if let Some(v) = &o.group {
            self.group = Some(v.clone());
        }
        for rule in &o.watch {
            let (name, exes) = parse_watch(rule)?;
            self.watch.insert(name, exes);
        }
        Ok(())
    }

    /// The servers' URLs, in the order given (`server` split at commas, blanks dropped).
    #[must_use]
    pub fn servers(&self) -> Vec<String> {
        self.server
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Checks the values types alone do not (the server URLs, the interval, the watch rules).
    ///
    /// # Errors
    /// The first value that cannot be used, with what to write instead.
    pub fn check(&self) -> Result<(), Error> {
        let servers = self.servers();
        if servers.is_empty() {
            return Err(Error::Invalid(
                "server is empty; give the server's URL, e.g. http://monitor:5000 (several, \
                 separated by commas, for the servers of a cluster)"
                    .to_owned(),
            ));
        }
        for server in &servers {
            if !(server.starts_with("http://") || server.starts_with("https://")) {
                return Err(Error::Invalid(format!(
                    "server {server:?} must be an http:// or https:// URL, e.g. \
                     http://monitor:5000"
                )));
            }
        }
        if self.interval < Duration::from_millis(200) {
            return Err(Error::Invalid(
                "interval must be at least 200 ms (e.g. --interval 5)".to_owned(),
            ));
        }
        if !self.busy_cpu.is_finite() || self.busy_cpu < 0.0 {
            return Err(Error::Invalid(
                "busy_cpu must be a non-negative percentage".to_owned(),
            ));
        }
        for (name, exes) in &self.watch {
            if name.is_empty() || exes.iter().all(|e| e.trim().is_empty()) {
                return Err(Error::Invalid(format!(
                    "watch entry {name:?} needs a name and at least one executable"
                )));
            }
        }
        Ok(())
    }
}

/// `server` in the file: one URL, several separated by commas, or a list of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    match Raw::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom(
            "expected a URL (\"http://monitor:5000\") or a list of them (one per server of a \
             cluster)",
        )
    })? {
        Raw::One(url) => Ok(url),
        Raw::Many(urls) => Ok(urls.join(",")),
    }
}

/// Parses `NAME=exe1,exe2`.
///
/// # Errors
/// A message showing the expected form.
pub fn parse_watch(rule: &str) -> Result<(String, Vec<String>), Error> {
    let invalid = || {
        Error::Invalid(format!(
            "--watch {rule:?} is not NAME=exe1,exe2 (e.g. --watch ansys=ansys.exe,runwb2.exe)"
        ))
    };
    let (name, exes) = rule.split_once('=').ok_or_else(invalid)?;
    let name = name.trim().to_ascii_lowercase();
    let exes: Vec<String> = exes
        .split(',')
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    if name.is_empty() || exes.is_empty() {
        return Err(invalid());
    }
    Ok((name, exes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design() {
        let c = AgentConfig::default();
        assert_eq!(c.interval, Duration::from_secs(5));
        assert_eq!(c.idle_threshold, Duration::from_secs(60));
        assert!((c.busy_cpu - 5.0).abs() < f64::EPSILON);
        assert_eq!(c.spool_max_bytes, 100 << 20);
    }

    #[test]
    fn file_then_flags() {
        let mut c = AgentConfig::from_toml(
            "server = \"http://a:5000\"\ninterval = \"10s\"\n[watch]\nansys = [\"ansys.exe\"]\n",
        )
        .unwrap();
        assert_eq!(c.interval, Duration::from_secs(10));
        let o = Overrides {
            interval: Some(Duration::from_secs(2)),
            watch: vec!["rocky=Rocky.exe,rocky".to_owned()],
            ..Overrides::default()
        };
        c.apply(&o).unwrap();
        assert_eq!(c.interval, Duration::from_secs(2));
        assert_eq!(c.watch["ansys"], ["ansys.exe"]);
        assert_eq!(c.watch["rocky"], ["Rocky.exe", "rocky"]);
    }

    #[test]
    fn a_cluster_is_a_list_of_servers_in_the_file_or_separated_by_commas() {
        let two = ["http://a:5000".to_owned(), "https://b:5000".to_owned()];
        for text in [
            "server = \"http://a:5000, https://b:5000\"",
            "server = [\"http://a:5000\", \"https://b:5000\"]",
        ] {
            let c = AgentConfig::from_toml(text).unwrap();
            assert_eq!(c.servers(), two, "{text}");
            c.check().unwrap();
        }
        assert_eq!(AgentConfig::default().servers(), ["http://127.0.0.1:5000"]);
        let err = AgentConfig::from_toml("server = 5").unwrap_err();
        assert!(err.contains("list of them"), "{err}");
        for (server, says) in [
            (" , ", "server is empty"),
            ("http://a:5000,b:5000", "\"b:5000\" must be an http://"),
        ] {
            let c = AgentConfig {
                server: server.to_owned(),
                ..AgentConfig::default()
            };
            let err = c.check().unwrap_err().to_string();
            assert!(err.contains(says), "{server}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_rules_are_named() {
        assert!(
            AgentConfig::from_toml("intervall = 5")
                .unwrap_err()
                .contains("intervall")
        );
        assert!(
            parse_watch("ansys")
                .unwrap_err()
                .to_string()
                .contains("NAME=exe1,exe2")
        );
        assert!(parse_watch("=a.exe").is_err());
        let bad = AgentConfig::load(
            None,
            &Overrides {
                server: Some("monitor:5000".to_owned()),
                ..Overrides::default()
            },
        );
        assert!(bad.unwrap_err().to_string().contains("http://"));
    }
}

#[cfg(all(test, target_os = "linux"))]
mod example {
    use super::*;

    #[test]
    fn the_documented_example_is_valid_and_shows_the_defaults() {
        let text = include_str!("../../config/agent.toml");
        assert_eq!(
            AgentConfig::from_toml(text).unwrap(),
            AgentConfig::default()
        );
    }
}
