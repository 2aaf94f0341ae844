//! `[[licence_servers]]`: FlexNet licence servers, each polled with `lmutil lmstat -a` and
//! counted as one watched app's seats, and their checks.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// One licence server to poll.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceServerConfig {
    /// A short name for views and logs (`ansys`, `lic1`).
    pub name: String,
    /// The program and its arguments, run without a shell, e.g.
    /// `["lmutil", "lmstat", "-a", "-c", "1055@lic1"]`.
    pub command: Vec<String>,
    /// Time between two polls.
    #[serde(default = "default_interval", with = "duration")]
    pub interval: Duration,
    /// Longest one poll may take; a slower command is killed and the poll counts as failed.
    /// Unset: 30 s, or half the interval when that is shorter ([`Self::timeout`]).
    #[serde(default, rename = "timeout", with = "duration::optional")]
    pub timeout_setting: Option<Duration>,
    /// The watched app whose seats these are (as agents name it; case does not matter).
    pub app: String,
    /// The features that count as the app's seats; empty: every feature the server lists.
    #[serde(default)]
    pub features: Vec<String>,
}

fn default_interval() -> Duration {
    Duration::from_secs(300)
}

impl LicenceServerConfig {
    /// The longest one poll may take: as configured, else 30 s or half the interval.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout_setting
            .unwrap_or_else(|| Duration::from_secs(30).min(self.interval / 2))
    }
}

/// The shortest poll interval accepted: `lmstat -a` is heavy on a busy licence server.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// Checks every `[[licence_servers]]` entry.
///
/// # Errors
/// The first entry that cannot be used, naming it and what to fix.
pub fn check(servers: &[LicenceServerConfig]) -> Result<(), Error> {
    let mut names = HashSet::new();
    for (i, s) in servers.iter().enumerate() {
        let which = if s.name.trim().is_empty() {
            format!("licence_servers[{i}]")
        } else {
            format!("licence server {:?}", s.name)
        };
        let bad = |what: String| Err(Error::Invalid(format!("{which}: {what}")));
        if s.name.trim().is_empty() {
            return bad("`name` is empty; give each licence server a short name".to_owned());
        }
        if !names.insert(s.name.to_lowercase()) {
            return bad("the name is used twice; give each licence server its own".to_owned());
        }
        if s.command.first().is_none_or(|p| p.trim().is_empty()) {
            return bad(
                "`command` is empty; give the program and its arguments, e.g. [\"lmutil\", \
                 \"lmstat\", \"-a\", \"-c\", \"1055@lic1\"]"
                    .to_owned(),
            );
        }
        if s.app.trim().is_empty() {
            return bad("`app` is empty; name the watched app whose seats these are".to_owned());
        }
        if s.interval < MIN_INTERVAL {
            return bad(format!(
                "`interval` is {:?}; poll at most every {}s (lmstat -a is heavy on the licence \
                 server)",
                s.interval,
                MIN_INTERVAL.as_secs()
            ));
        }
        let timeout = s.timeout();
        if timeout.is_zero() || timeout >= s.interval {
            return bad(format!(
                "`timeout` ({timeout:?}) must be above zero and below `interval` ({:?})",
                s.interval
            ));
        }
    }
    Ok(())
}
