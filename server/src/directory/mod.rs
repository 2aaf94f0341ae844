//! Which PCs should report: the lab PCs an LDAP / Active Directory search ([`ldap`]) or a hosts
//! file lists (`[directory]`), read at start and every `interval`. A PC listed here but never
//! heard from is `never_seen`; one heard from but not now is silent — so a PC whose agent was
//! never installed, or died before its first snapshot, is no longer invisible.
//!
//! Names match without case and without the domain (`PC01.college.example` is `pc01`). A
//! source that cannot be read is one log line, and its last good list is kept.

pub mod ldap;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use idlewatch_protocol::time::now_ms;
use tracing::{info, warn};

use crate::config::DirectoryConfig;

/// Where a PC was listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The LDAP / Active Directory search.
    Ldap,
    /// The hosts file.
    HostsFile,
}

impl Source {
    /// As the API names it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ldap => "ldap",
            Self::HostsFile => "hosts_file",
        }
    }
}

/// A PC the directory lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHost {
    /// Its name as listed (without the domain).
    pub host: String,
    /// Its group (lab), when the source gives one.
    pub group: Option<String>,
    /// Which source listed it (the hosts file when both do).
    pub source: Source,
    /// When this server first saw it listed, epoch ms.
    pub listed_since_ms: i64,
}

/// A host name without its domain (an IP address is kept whole), trimmed.
#[must_use]
pub fn short_name(host: &str) -> &str {
    let host = host.trim();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host;
    }
    host.split('.').next().unwrap_or(host)
}

/// A host name as the directory compares it: [`short_name`], lower-cased.
#[must_use]
pub fn key(host: &str) -> String {
    short_name(host).to_lowercase()
}

/// The PCs listed, by [`key`].
pub type Listing = HashMap<String, KnownHost>;

/// The PCs of `listed` that none of `known` names (compared by [`key`]): those that should
/// report and never did. The seat view, the hosts API, the reports' selection and the alerts
/// all count them through this.
#[must_use]
pub fn never_seen<S: AsRef<str>>(
    listed: &Listing,
    known: impl IntoIterator<Item = S>,
) -> Vec<&KnownHost> {
    let seen: std::collections::HashSet<String> =
        known.into_iter().map(|h| key(h.as_ref())).collect();
    let mut silent: Vec<&KnownHost> = listed
        .iter()
        .filter(|(k, _)| !seen.contains(*k))
        .map(|(_, h)| h)
        .collect();
    silent.sort_by(|a, b| a.host.cmp(&b.host));
    silent
}

/// The last good list of each source and their merge.
#[derive(Default)]
struct Lists {
    ldap: Option<Vec<(String, Option<String>)>>,
    file: Option<Vec<(String, Option<String>)>>,
    merged: Arc<Listing>,
}

/// The directory of PCs that should report.
pub struct Directory {
    config: DirectoryConfig,
    lists: RwLock<Lists>,
}

impl Directory {
    /// A directory for `config`, empty until [`Directory::refresh`].
    #[must_use]
    pub fn new(config: &DirectoryConfig) -> Self {
        Self {
            config: config.clone(),
            lists: RwLock::default(),
        }
    }

    /// Whether any source is configured.
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.config.is_set()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Lists> {
        self.lists
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every PC listed now.
    #[must_use]
    pub fn all(&self) -> Arc<Listing> {
        self.read().merged.clone()
    }

    /// The listing of `host`, if listed.
    #[must_use]
    pub fn lookup(&self, host: &str) -> Option<KnownHost> {
        self.read().merged.get(&key(host)).cloned()
    }

    /// Reads every configured source once; a source that fails keeps its last good list.
    pub async fn refresh(&self) {
        if let Some(path) = self.config.hosts_file.clone() {
            let read =
                tokio::task::spawn_blocking(move || idlewatch_protocol::hosts_file::read(&path))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
            match read {
                Ok(hosts) => {
                    let list = hosts.into_iter().map(|h| (h.host, h.group)).collect();
                    self.replace(Source::HostsFile, list);
                }
                Err(why) => warn!("directory: {why}; keeping the last list read"),
            }
        }
        if let Some(url) = self.config.url.as_deref() {
            match ldap::read(&self.config).await {
                Ok(hosts) => {
                    info!(url, hosts = hosts.len(), "directory: PCs read from LDAP");
                    self.replace(Source::Ldap, hosts);
                }
                Err(why) => warn!("directory: {why}; keeping the last list read"),
            }
        }
    }

    /// Sets the list of `source` and merges the lists again (the hosts file's entries win).
    pub fn replace(&self, source: Source, list: Vec<(String, Option<String>)>) {
        let mut lists = self
            .lists
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match source {
            Source::Ldap => lists.ldap = Some(list),
            Source::HostsFile => lists.file = Some(list),
        }
        let now = now_ms();
        let before = lists.merged.clone();
        let mut merged = Listing::new();
        for (source, list) in [
            (Source::Ldap, &lists.ldap),
            (Source::HostsFile, &lists.file),
        ] {
            for (host, group) in list.iter().flatten() {
                let k = key(host);
                let since = before.get(&k).map_or(now, |h| h.listed_since_ms);
                let name = short_name(host).to_owned();
                let group = group
                    .clone()
                    .or_else(|| merged.get(&k).and_then(|h: &KnownHost| h.group.clone()));
                merged.insert(
                    k,
                    KnownHost {
                        host: name,
                        group,
                        source,
                        listed_since_ms: since,
                    },
                );
            }
        }
        lists.merged = Arc::new(merged);
    }

    /// Reads the sources now and every `interval` until aborted.
    pub async fn run(self: Arc<Self>) {
        if !self.is_set() {
            return std::future::pending().await;
        }
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.refresh().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_case_or_domain() {
        assert_eq!(key("PC01.college.example"), "pc01");
        assert_eq!(key(" Lab-PC "), "lab-pc");
        assert_eq!(key("10.0.0.5"), "10.0.0.5");
        assert_eq!(short_name(" 10.0.0.5 "), "10.0.0.5");
    }

    #[test]
    fn the_hosts_file_wins_and_listing_times_are_kept() {
        let d = Directory::new(&DirectoryConfig::default());
        d.replace(
            Source::Ldap,
            vec![
                (
                    "PC01.college.example".to_owned(),
                    Some("Lab CTI".to_owned()),
                ),
                ("PC02".to_owned(), Some("Lab CTI".to_owned())),
            ],
        );
        let since = d.lookup("pc01").unwrap().listed_since_ms;
        d.replace(
            Source::HostsFile,
            vec![
                ("pc02".to_owned(), Some("Library".to_owned())),
                ("pc01".to_owned(), None),
            ],
        );
        let pc01 = d.lookup("PC01.other.example").unwrap();
        assert_eq!(pc01.host, "pc01");
        assert_eq!(
            pc01.group.as_deref(),
            Some("Lab CTI"),
            "a group from LDAP stays"
        );
        assert_eq!(pc01.source, Source::HostsFile);
        assert_eq!(pc01.listed_since_ms, since);
        assert_eq!(d.lookup("pc02").unwrap().group.as_deref(), Some("Library"));
        // A PC no longer listed is forgotten.
        d.replace(Source::Ldap, vec![]);
        d.replace(Source::HostsFile, vec![("pc02".to_owned(), None)]);
        assert!(d.lookup("pc01").is_none());
        assert_eq!(d.all().len(), 1);
    }
}
