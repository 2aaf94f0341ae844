//! Which group (lab, room) a host belongs to, decided in one place: the first `[report.groups]`
//! entry listing it, else the `group` its agent sends. Reports, the hosts API and the Sheets
//! uploader all ask this, so a host is in the same lab everywhere.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::registry::HostRegistry;

/// The configured groups and the live registry; cheap to clone.
#[derive(Clone)]
pub struct HostGroups {
    /// Host → the first configured group listing it.
    configured: Arc<HashMap<String, String>>,
    registry: Arc<HostRegistry>,
}

impl HostGroups {
    /// Groups from `[report.groups]`, then from what each host's agent says.
    #[must_use]
    pub fn new(configured: BTreeMap<String, Vec<String>>, registry: Arc<HostRegistry>) -> Self {
        let mut by_host = HashMap::new();
        for (group, hosts) in &configured {
            for host in hosts {
                by_host.entry(host.clone()).or_insert_with(|| group.clone());
            }
        }
        Self {
            configured: Arc::new(by_host),
            registry,
        }
    }

    /// A host's group, if it has one.
    #[must_use]
    pub fn of(&self, host: &str) -> Option<String> {
        self.configured
            .get(host)
            .cloned()
            .or_else(|| self.registry.group_of(host))
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
        assert_eq!(groups.of("pc-2").as_deref(), Some("Agent lab"));
        assert_eq!(groups.of("pc-3"), None);
    }
}
