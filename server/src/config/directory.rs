//! `[directory]`: where the server learns which PCs should report — an LDAP / Active Directory
//! search, a hosts file, or both — and its checks.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// `[directory]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryConfig {
    /// The LDAP server, `ldap://host[:port]` or `ldaps://host[:port]`; unset: no LDAP.
    pub url: Option<String>,
    /// The account to bind as (unset: an anonymous bind).
    pub bind_dn: Option<String>,
    /// A file holding that account's password (first line), readable by the server only.
    pub password_file: Option<PathBuf>,
    /// Where to search, e.g. `OU=Labs,DC=college,DC=example`.
    pub base_dn: String,
    /// Which entries are PCs.
    pub filter: String,
    /// The attribute holding a PC's name.
    pub name_attribute: String,
    /// Where a PC's group comes from: `"ou"` (the nearest OU of its entry), `"none"`, or the
    /// name of one of its attributes.
    pub group_from: String,
    /// Upgrade `ldap://` to TLS with StartTLS.
    pub starttls: bool,
    /// A file of PC names, one per line with an optional group; unset: none.
    pub hosts_file: Option<PathBuf>,
    /// Time between two readings of the directory and the file.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Longest one LDAP reading may take.
    #[serde(with = "duration")]
    pub timeout: Duration,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            url: None,
            bind_dn: None,
            password_file: None,
            base_dn: String::new(),
            filter: "(objectClass=computer)".to_owned(),
            name_attribute: "cn".to_owned(),
            group_from: "ou".to_owned(),
            starttls: false,
            hosts_file: None,
            interval: Duration::from_secs(3600),
            timeout: Duration::from_secs(30),
        }
    }
}

impl DirectoryConfig {
    /// Whether any source is configured.
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.url.is_some() || self.hosts_file.is_some()
    }
}

/// Checks `[directory]`.
///
/// # Errors
/// The first setting that cannot be used, naming it and what to fix.
pub fn check(d: &DirectoryConfig) -> Result<(), Error> {
    let bad = |what: String| Err(Error::Invalid(format!("directory.{what}")));
    if let Some(url) = &d.url {
        if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
            return bad(format!(
                "url = {url:?} is not an LDAP address; write ldaps://dc1.college.example (or \
                 ldap://host:389 with starttls = true)"
            ));
        }
        if d.base_dn.trim().is_empty() {
            return bad(
                "base_dn is empty; give where the lab PCs are, e.g. \"OU=Labs,DC=college,DC=example\""
                    .to_owned(),
            );
        }
        if d.bind_dn.is_some() != d.password_file.is_some() {
            return bad(
                "bind_dn and password_file go together: give both to bind as an account, or \
                 neither for an anonymous bind"
                    .to_owned(),
            );
        }
        if d.starttls && url.starts_with("ldaps://") {
            return bad("starttls is for ldap:// addresses; ldaps:// is TLS already".to_owned());
        }
        if !d.filter.trim().starts_with('(') {
            return bad(format!(
                "filter = {:?} is not an LDAP filter; write one in parentheses, e.g. \
                 \"(objectClass=computer)\"",
                d.filter
            ));
        }
        if d.name_attribute.trim().is_empty() || d.group_from.trim().is_empty() {
            return bad(
                "name_attribute and group_from may not be empty (defaults \"cn\" and \"ou\")"
                    .to_owned(),
            );
        }
    } else if d.bind_dn.is_some() || d.password_file.is_some() || !d.base_dn.is_empty() {
        return bad(
            "url is unset: give the LDAP server's address, e.g. ldaps://dc1.college.example"
                .to_owned(),
        );
    }
    if d.interval < Duration::from_secs(10) {
        return bad(format!(
            "interval = {:?} is too short; give at least \"10s\" (default \"1h\")",
            d.interval
        ));
    }
    if d.timeout < Duration::from_secs(1) {
        return bad(format!(
            "timeout = {:?} is too short; give at least \"1s\" (default \"30s\")",
            d.timeout
        ));
    }
    Ok(())
}
