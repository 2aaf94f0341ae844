//! The server's typed configuration and its layering:
//! built-in defaults < `--config` TOML file < `IDLEWATCH_*` environment < command-line flags.
//!
//! This module only builds a [`Config`]; it never reads the data dir or binds sockets.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::config_file::{self, FileError};
use idlewatch_protocol::time::duration;

mod alerts;
pub mod cluster;
mod directory;
mod licences;
mod limits;
mod retention;
mod seats;
mod sheets;
pub use alerts::{AlertKind, AlertRule, NotifierConfig, SmtpConfig, SmtpTls, WebhookFormat};
pub use cluster::ClusterConfig;
pub use directory::DirectoryConfig;
pub use licences::LicenceServerConfig;
pub use limits::LimitsConfig;
pub use retention::{Deltas, RetentionConfig};
pub use seats::{SeatMapConfig, SeatsConfig};
pub use sheets::SheetsConfig;

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the store and generated tokens.
    pub data_dir: PathBuf,
    /// Who may do what.
    pub auth: AuthConfig,
    /// Size and time limits.
    pub limits: LimitsConfig,
    /// How long history is kept.
    pub retention: RetentionConfig,
    /// How reports count time.
    pub report: ReportConfig,
    /// Scheduled Google Sheets uploads.
    pub sheets: SheetsConfig,
    /// The free-seat view and the labs' rooms.
    pub seats: SeatsConfig,
    /// Which PCs should report (LDAP / Active Directory, a hosts file).
    pub directory: DirectoryConfig,
    /// FlexNet licence servers to poll (`[[licence_servers]]`).
    pub licence_servers: Vec<LicenceServerConfig>,
    /// Alert rules (`[[alerts]]`).
    pub alerts: Vec<AlertRule>,
    /// Where alerts are told (`[notifiers.NAME]`).
    pub notifiers: std::collections::BTreeMap<String, NotifierConfig>,
    /// The mail server for e-mailed alerts.
    pub smtp: Option<SmtpConfig>,
    /// HTTPS on the listener.
    pub tls: TlsConfig,
    /// Several servers sharing one live view (`[cluster]`).
    pub cluster: ClusterConfig,
}

/// `[tls]`: serve HTTPS and WSS on the listener instead of plain HTTP.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

impl TlsConfig {
    /// The certificate and key files when TLS is on.
    #[must_use]
    pub fn files(&self) -> Option<(&Path, &Path)> {
        Some((self.cert_file.as_deref()?, self.key_file.as_deref()?))
    }
}

/// `[report]`: how utilization is counted in exports.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// IANA time zone whose days reports use (e.g. `America/Sao_Paulo`).
    pub time_zone: String,
    /// Opening hours, e.g. `Mon-Fri 08:00-22:00; Sat 09:00-13:00`; empty means always open.
    pub open_hours: String,
    /// The agents' report interval: a snapshot covers at most 3 × this.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Groups (labs, rooms): name → host names. A host's `group` field counts too.
    pub groups: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            time_zone: "UTC".to_owned(),
            open_hours: String::new(),
            interval: Duration::from_secs(5),
            groups: std::collections::BTreeMap::new(),
        }
    }
}

impl ReportConfig {
    /// The rules reports count by (the values were validated when the configuration was
    /// loaded).
    #[must_use]
    pub fn rules(&self) -> crate::report::usage::Rules {
        crate::report::usage::Rules {
            interval_ms: i64::try_from(self.interval.as_millis()).unwrap_or(5_000),
            time_zone: jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC),
            open: crate::report::hours::OpenHours::parse(&self.open_hours).unwrap_or_default(),
        }
    }
}

/// `[auth]`: the three role tokens, or open mode.
#[derive(Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// No authentication at all, as the Python original (trusted networks only).
    pub open: bool,
    /// Token agents present to register and send snapshots.
    pub agent_token: Option<String>,
    /// Accept one agent token shared by every agent (`agent_token`). Unset: on where one
    /// exists (configured, or in the token file of an existing install), off for a new install,
    /// whose agents get per-host tokens (`idlewatch-admin tokens issue --host H`).
    pub shared_agent_token: Option<bool>,
    /// Token dashboards and viewers present to read.
    pub viewer_token: Option<String>,
    /// Token administrators present for everything, exports included.
    pub admin_token: Option<String>,
    /// Serve `/metrics` without a token (for scrapers on a trusted network).
    pub public_metrics: bool,
    /// Web origins (`https://intranet.example`) whose pages may call the API and Socket.IO
    /// from a browser; `"*"` allows any. Empty (the default): same-origin only.
    pub allowed_origins: Vec<String>,
}

impl std::fmt::Debug for AuthConfig {
    // Tokens are secrets: never print them, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |t: &Option<String>| if t.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("AuthConfig")
            .field("open", &self.open)
            .field("agent_token", &shown(&self.agent_token))
            .field("shared_agent_token", &self.shared_agent_token)
            .field("viewer_token", &shown(&self.viewer_token))
            .field("admin_token", &shown(&self.admin_token))
            .field("public_metrics", &self.public_metrics)
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 5000)),
            data_dir: PathBuf::from("./data"),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            retention: RetentionConfig::default(),
            report: ReportConfig::default(),
            sheets: SheetsConfig::default(),
            seats: SeatsConfig::default(),
            directory: DirectoryConfig::default(),
            licence_servers: Vec::new(),
            alerts: Vec::new(),
            notifiers: std::collections::BTreeMap::new(),
            smtp: None,
            tls: TlsConfig::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

/// A configuration that cannot be used, with what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file cannot be read or parsed (names the file and key).
    #[error(transparent)]
    File(#[from] FileError),
    /// An environment variable has a value of the wrong form.
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Its value (never a token: token variables cannot be malformed).
        value: String,
        /// What was expected.
        reason: String,
    },
    /// The combination of settings makes no sense.
    #[error("{0}")]
    Invalid(String),
}

/// Values given on the command line; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--open`.
    pub open: bool,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
}

impl Config {
    /// Builds the configuration from all layers.
    ///
    /// `env` looks a variable up (pass `|k| std::env::var(k).ok()`; tests pass a map).
    ///
    /// # Errors
    /// The first layer that cannot be used, naming the file, key or variable at fault.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        flags: &Overrides,
    ) -> Result<Self, Error> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        config.apply_flags(flags);
        config.check()?;
        Ok(config)
    }

    /// Reads a TOML file over the defaults.
    ///
    /// # Errors
    /// [`Error::File`], naming the file and key.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        Ok(config_file::load(path)?)
    }

    /// Parses TOML text over the defaults.
    ///
    /// # Errors
    /// The parser's message (it names unknown keys and wrong types with their line).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        config_file::parse(text)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("IDLEWATCH_LISTEN") {
            self.listen = parse_env("IDLEWATCH_LISTEN", &v, "an address such as 0.0.0.0:5000")?;
        }
        if let Some(v) = non_empty("IDLEWATCH_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = non_empty("IDLEWATCH_TLS_CERT") {
            self.tls.cert_file = Some(PathBuf::from(v));
        }
        if let Some(v) = non_empty("IDLEWATCH_TLS_KEY") {
            self.tls.key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = non_empty("IDLEWATCH_OPEN") {
            self.auth.open = parse_bool("IDLEWATCH_OPEN", &v)?;
        }
        if let Some(v) = non_empty("IDLEWATCH_SHARED_AGENT_TOKEN") {
            self.auth.shared_agent_token = Some(parse_bool("IDLEWATCH_SHARED_AGENT_TOKEN", &v)?);
        }
        if let Some(v) = non_empty("IDLEWATCH_PUBLIC_METRICS") {
            self.auth.public_metrics = parse_bool("IDLEWATCH_PUBLIC_METRICS", &v)?;
        }
        for (name, slot) in [
            ("IDLEWATCH_AGENT_TOKEN", &mut self.auth.agent_token),
            ("IDLEWATCH_VIEWER_TOKEN", &mut self.auth.viewer_token),
            ("IDLEWATCH_ADMIN_TOKEN", &mut self.auth.admin_token),
        ] {
            if let Some(v) = non_empty(name) {
                *slot = Some(v);
            }
        }
        if let Some(v) = non_empty("IDLEWATCH_RETENTION_DAYS") {
            self.retention.days = parse_env(
                "IDLEWATCH_RETENTION_DAYS",
                &v,
                "a number of days after which everything is deleted (0: day rows are kept until \
                 deleted by hand)",
            )?;
        }
        if let Some(v) = non_empty("IDLEWATCH_REDIS_URL") {
            self.cluster.redis_url = v;
        }
        if let Some(v) = non_empty("IDLEWATCH_POSTGRES_URL") {
            self.cluster.postgres_url = v;
        }
        if let Some(v) = non_empty("IDLEWATCH_SHEETS_ENABLED") {
            self.sheets.enabled = parse_bool("IDLEWATCH_SHEETS_ENABLED", &v)?;
        }
        if let Some(v) = non_empty("IDLEWATCH_SHEETS_SPREADSHEET_ID") {
            self.sheets.spreadsheet_id = v;
        }
        if let Some(v) = non_empty("IDLEWATCH_SHEETS_CREDENTIALS") {
            self.sheets.credentials_file = PathBuf::from(v);
        }
        for (name, slot) in [
            ("IDLEWATCH_SNAPSHOT_RATE", &mut self.limits.snapshot_rate),
            ("IDLEWATCH_CONNECT_RATE", &mut self.limits.connect_rate),
        ] {
            if let Some(v) = non_empty(name) {
                *slot = parse_env(name, &v, "events per second (0 for no limit)")?;
            }
        }
        if let Some(v) = non_empty("IDLEWATCH_MAX_CONNECTIONS") {
            self.limits.max_connections = parse_env(
                "IDLEWATCH_MAX_CONNECTIONS",
                &v,
                "a number of connections (0 for no limit)",
            )?;
        }
        if let Some(v) = non_empty("IDLEWATCH_MAX_MESSAGE_BYTES") {
            self.limits.max_message_bytes =
                parse_env("IDLEWATCH_MAX_MESSAGE_BYTES", &v, "a number of bytes")?;
        }
        for (name, slot) in [
            (
                "IDLEWATCH_CONNECTIONS_PER_TOKEN",
                &mut self.limits.connections_per_token,
            ),
            (
                "IDLEWATCH_PENDING_HANDSHAKES",
                &mut self.limits.pending_handshakes,
            ),
            (
                "IDLEWATCH_IDLE_CONNECTIONS_PER_IP",
                &mut self.limits.idle_connections_per_ip,
            ),
        ] {
            if let Some(v) = non_empty(name) {
                *slot = parse_env(name, &v, "a number (0 for no limit)")?;
            }
        }
        for (name, slot) in [
            (
                "IDLEWATCH_HOST_BYTES_PER_DAY",
                &mut self.limits.host_bytes_per_day,
            ),
            ("IDLEWATCH_MIN_FREE_DISK", &mut self.limits.min_free_disk),
        ] {
            if let Some(v) = non_empty(name) {
                *slot = parse_env(name, &v, "a size such as 500MiB or 2GiB (0 for none)")?;
            }
        }
        Ok(())
    }

    fn apply_flags(&mut self, flags: &Overrides) {
        if let Some(listen) = flags.listen {
            self.listen = listen;
        }
        if let Some(dir) = &flags.data_dir {
            self.data_dir.clone_from(dir);
        }
        if flags.open {
            self.auth.open = true;
        }
        if let Some(cert) = &flags.tls_cert {
            self.tls.cert_file = Some(cert.clone());
        }
        if let Some(key) = &flags.tls_key {
            self.tls.key_file = Some(key.clone());
        }
    }

    fn check(&self) -> Result<(), Error> {
        self.limits.check()?;
        jiff::tz::TimeZone::get(&self.report.time_zone).map_err(|e| {
            Error::Invalid(format!(
                "report.time_zone {:?} is not a known time zone ({e}); use an IANA name such as \
                 \"America/Sao_Paulo\" or \"UTC\"",
                self.report.time_zone
            ))
        })?;
        crate::report::hours::OpenHours::parse(&self.report.open_hours)
            .map_err(|e| Error::Invalid(format!("report.open_hours: {e}")))?;
        if self.report.interval < Duration::from_secs(1)
            || self.report.interval > Duration::from_secs(8 * 3600)
        {
            return Err(Error::Invalid(format!(
                "report.interval = {:?} is out of range; give the agents' report interval, from \"1s\" \
                 to \"8h\" (default \"5s\"): a snapshot counts for up to 3 × it",
                self.report.interval
            )));
        }
        self.retention.check()?;
        self.sheets.check()?;
        seats::check(&self.seats)?;
        directory::check(&self.directory)?;
        licences::check(&self.licence_servers)?;
        alerts::check(&self.alerts, &self.notifiers, self.smtp.as_ref())?;
        cluster::check(&self.cluster)?;
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            let (set, unset) = if self.tls.cert_file.is_some() {
                ("tls.cert_file", "tls.key_file")
            } else {
                ("tls.key_file", "tls.cert_file")
            };
            return Err(Error::Invalid(format!(
                "{set} is set but {unset} is not; give both (--tls-cert and --tls-key) to serve \
                 HTTPS, or neither"
            )));
        }
        for origin in &self.auth.allowed_origins {
            let ok = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin
                        .trim_end_matches('/')
                        .contains(|c: char| c.is_whitespace())
                    && axum::http::HeaderValue::from_str(origin).is_ok()
                    && !origin[origin.find("//").map_or(0, |i| i + 2)..].contains('/'));
            if !ok {
                return Err(Error::Invalid(format!(
                    "auth.allowed_origins: {origin:?} is not an origin; write scheme://host[:port] \
                     without a path, e.g. \"https://intranet.example\", or \"*\""
                )));
            }
        }
        for (name, token) in [
            ("agent_token", &self.auth.agent_token),
            ("viewer_token", &self.auth.viewer_token),
            ("admin_token", &self.auth.admin_token),
        ] {
            if token.as_ref().is_some_and(|t| t.len() < 16) {
                return Err(Error::Invalid(format!(
                    "auth.{name} is shorter than 16 characters; use a long random token \
                     (or leave it unset to have one generated)"
                )));
            }
        }
        Ok(())
    }
}

/// The value of environment variable `name` parsed, or an error saying what was `expected`.
fn parse_env<T>(name: &'static str, v: &str, expected: &str) -> Result<T, Error>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    v.trim().parse().map_err(|e| Error::Env {
        name,
        value: v.to_owned(),
        reason: format!("{e}; expected {expected}"),
    })
}

fn parse_bool(name: &'static str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Env {
            name,
            value: v.to_owned(),
            reason: "expected true or false".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests;
