//! Which group (lab, room) a host belongs to, decided in one place, first match wins:
//!
//! 1. `config`: the first `[report.groups]` entry listing it (the server's own word);
//! 2. `directory`: its group in the hosts file, else its OU (or attribute) in LDAP
//!    (`[directory]`);
//! 3. `agent`: the `group` its agent sends.
//!
//! Reports, the hosts API, the seat view, alerts and the Sheets uploader all ask this, so a
//! host is in the same lab everywhere.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::directory::Directory;
use crate::registry::HostRegistry;

/// Where a host's group came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSource {
    /// `[report.groups]`.
    Config,
    /// `[directory]`: the hosts file or LDAP.
    Directory,
    /// The agent's `group` field.
    Agent,
}

impl GroupSource {
    /// As the API names it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Directory => "directory",
            Self::Agent => "agent",
        }
    }
}

/// The configured groups, the directory and the live registry; cheap to clone.
#[derive(Clone)]
pub struct HostGroups {
    /// Host (as [`crate::directory::key`] writes it) → the first configured group listing it.
    configured: Arc<HashMap<String, String>>,
    directory: Option<Arc<Directory>>,
    registry: Arc<HostRegistry>,
}

impl HostGroups {
    /// Groups from `[report.groups]`, then from what each host's agent says.
    #[must_use]
    pub fn new(configured: BTreeMap<String, Vec<String>>, registry: Arc<HostRegistry>) -> Self {
        let mut by_host = HashMap::new();
        for (group, hosts) in &configured {
            for host in hosts {
                by_host
                    .entry(crate::directory::key(host))
                    .or_insert_with(|| group.clone());
            }
        }
        Self {
            configured: Arc::new(by_host),
            directory: None,
            registry,
        }
    }

    /// The same, with the groups `directory` gives taking precedence over the agents'.
    #[must_use]
    pub fn with_directory(mut self, directory: Arc<Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// A host's group, if it has one.
    #[must_use]
    pub fn of(&self, host: &str) -> Option<String> {
        self.with_source(host).map(|(group, _)| group)
    }

    /// Every group named now: the configured ones, the directory's, and those of the hosts
    /// the registry knows.
    #[must_use]
    pub fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.configured.values().cloned().collect();
        if let Some(directory) = &self.directory {
            names.extend(directory.all().values().filter_map(|h| h.group.clone()));
        }
        for view in self.registry.views(std::time::SystemTime::now()) {
            names.extend(self.of(&view.host));
        }
        names
    }

    /// A host's group and where it came from.
    #[must_use]
    pub fn with_source(&self, host: &str) -> Option<(String, GroupSource)> {
        // Names match without case or domain, as the directory's do.
        if let Some(group) = self.configured.get(&crate::directory::key(host)) {
            return Some((group.clone(), GroupSource::Config));
        }
        if let Some(group) = self
            .directory
            .as_ref()
            .and_then(|d| d.lookup(host))
            .and_then(|h| h.group)
        {
            return Some((group, GroupSource::Directory));
        }
        self.registry
            .group_of(host)
            .map(|group| (group, GroupSource::Agent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_configured_group_wins_over_the_agents() {
        let registry = Arc::new(HostRegistry::new(Duration::from_secs(600)));
        let snapshot =
            idlewatch_protocol::Snapshot::parse(r#"{"host":"pc-1","group":"Agent lab"}"#).unwrap();
        registry.record(&snapshot, std::time::SystemTime::now());
        let snapshot =
            idlewatch_protocol::Snapshot::parse(r#"{"host":"pc-2","group":"Agent lab"}"#).unwrap();
        registry.record(&snapshot, std::time::SystemTime::now());
        let groups = HostGroups::new(
            BTreeMap::from([("Lab 1".to_owned(), vec!["pc-1".to_owned()])]),
            registry,
        );
        assert_eq!(groups.of("pc-1").as_deref(), Some("Lab 1"));
        assert_eq!(groups.of("PC-1.college.example").as_deref(), Some("Lab 1"));
        assert_eq!(groups.of("pc-2").as_deref(), Some("Agent lab"));
        assert_eq!(groups.of("pc-3"), None);
        // A directory's group comes between the two.
        let directory = Arc::new(Directory::new(&crate::config::DirectoryConfig::default()));
        directory.replace(
            crate::directory::Source::HostsFile,
            vec![
                ("PC-1".to_owned(), Some("Dir lab".to_owned())),
                (
                    "pc-2.college.example".to_owned(),
                    Some("Dir lab".to_owned()),
                ),
                ("pc-3".to_owned(), None),
            ],
        );
        let groups = groups.with_directory(directory);
        assert_eq!(
            groups.with_source("pc-1"),
            Some(("Lab 1".to_owned(), GroupSource::Config))
        );
        assert_eq!(
            groups.with_source("pc-2"),
            Some(("Dir lab".to_owned(), GroupSource::Directory))
        );
        assert_eq!(groups.with_source("pc-3"), None);
    }
}
