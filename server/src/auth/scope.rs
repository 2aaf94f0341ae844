//! A viewer token's scope: the groups (labs) it may read. A host is in scope when its group —
//! as [`crate::groups::HostGroups`] decides it — is one of them, compared without case; a host
//! in no group is in no scope. Routes, events and the seat view all ask [`Scope::admits`], so
//! a lab's supervisor sees the same PCs everywhere.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use idlewatch_protocol::api::Alert;

use crate::groups::HostGroups;

/// The groups one viewer token reads.
#[derive(Debug)]
pub struct Scope {
    /// The token's id (revoking it ends the scope's open connections).
    pub id: u64,
    /// The groups as issued.
    pub groups: Vec<String>,
    /// The same, lower-cased.
    keys: HashSet<String>,
    /// Set when the token is revoked: its open connections close at their next event.
    revoked: AtomicBool,
}

/// How a group name is compared: without case (as the seat view's rooms name labs).
#[must_use]
pub fn group_key(group: &str) -> String {
    group.to_lowercase()
}

impl Scope {
    /// The scope of token `id` over `groups`.
    #[must_use]
    pub fn new(id: u64, groups: Vec<String>) -> Self {
        let keys = groups.iter().map(|g| group_key(g)).collect();
        Self {
            id,
            groups,
            keys,
            revoked: AtomicBool::new(false),
        }
    }

    /// Marks the token revoked.
    pub fn revoke(&self) {
        self.revoked.store(true, Relaxed);
    }

    /// Whether the token was revoked.
    #[must_use]
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Relaxed)
    }

    /// Whether a host of `group` is in scope.
    #[must_use]
    pub fn admits(&self, group: Option<&str>) -> bool {
        group.is_some_and(|g| self.keys.contains(&group_key(g)))
    }

    /// Whether `host` is in scope, in the group `groups` gives it now.
    #[must_use]
    pub fn admits_host(&self, groups: &HostGroups, host: &str) -> bool {
        self.admits(groups.of(host).as_deref())
    }

    /// Whether `alert` is in scope: one about a host by the host's group now (else the group
    /// it fired in), one about a group by that group; one about neither — a licence server,
    /// shared by every lab — always.
    #[must_use]
    pub fn admits_alert(&self, groups: &HostGroups, alert: &Alert) -> bool {
        match (&alert.host, &alert.group) {
            (Some(host), fired_in) => {
                self.admits(groups.of(host).as_deref().or(fired_in.as_deref()))
            }
            (None, Some(group)) => self.admits(Some(group)),
            (None, None) => true,
        }
    }

    /// The groups, lower-cased, sorted.
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.keys.iter().cloned().collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_admits_its_groups_without_case_and_nothing_else() {
        let scope = Scope::new(3, vec!["Lab CTI".to_owned(), "Library".to_owned()]);
        assert!(scope.admits(Some("Lab CTI")));
        assert!(scope.admits(Some("lab cti")));
        assert!(scope.admits(Some("LIBRARY")));
        assert!(!scope.admits(Some("Lab B")));
        assert!(!scope.admits(Some("Lab")));
        assert!(!scope.admits(None));
        assert_eq!(scope.keys(), ["lab cti", "library"]);
    }
}
