//! Which watched apps each PC has: an app is installed on a PC that was seen running it within
//! `[seats] installed_within` (30 days by default). Filled from the stored history at start
//! (host-day rollups and summaries) and from each PC's latest snapshot as the seat view is
//! refreshed; answers in memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use idlewatch_protocol::{SnapshotFields, WatchedState};

/// One PC's apps by lower-cased name: the name as first seen and when it was last seen
/// running, epoch ms.
type Apps = HashMap<String, (String, i64)>;

/// Per PC (lower-cased), its apps.
#[derive(Debug, Default)]
pub struct Installed {
    by_host: RwLock<HashMap<String, Apps>>,
}

fn running(state: Option<WatchedState>) -> bool {
    state.is_some_and(|s| s != WatchedState::NotRunning)
}

impl Installed {
    /// Notes that `host` ran `app` at `at_ms`.
    pub fn seen(&self, host: &str, app: &str, at_ms: i64) {
        let mut by_host = self
            .by_host
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let apps = by_host.entry(host.to_lowercase()).or_default();
        let entry = apps
            .entry(app.to_lowercase())
            .or_insert_with(|| (app.to_owned(), at_ms));
        entry.1 = entry.1.max(at_ms);
    }

    /// Notes the apps `fields` (a snapshot of `host` taken at `at_ms`) shows running.
    pub fn observe(&self, host: &str, fields: &SnapshotFields, at_ms: i64) {
        for (app, state) in fields.watched_apps() {
            if running(state.effective_state()) {
                self.seen(host, &app, at_ms);
            }
        }
    }

    /// Forgets every PC but `hosts`.
    pub fn keep_only(&self, hosts: &std::collections::HashSet<&str>) {
        let kept: std::collections::HashSet<String> =
            hosts.iter().map(|h| h.to_lowercase()).collect();
        self.by_host
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|h, _| kept.contains(h));
    }

    /// The PCs with apps noted.
    #[must_use]
    pub fn hosts(&self) -> usize {
        self.by_host
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// The apps seen running on `host` at or after `since_ms`, sorted without case.
    #[must_use]
    pub fn on(&self, host: &str, since_ms: i64) -> Vec<String> {
        let by_host = self
            .by_host
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut apps: Vec<String> = by_host
            .get(&host.to_lowercase())
            .into_iter()
            .flat_map(|apps| apps.iter())
            .filter(|(_, (_, last))| *last >= since_ms)
            .map(|(_, (name, _))| name.clone())
            .collect();
        apps.sort_by_key(|a| a.to_lowercase());
        apps
    }
}

/// The apps of `apps` (the installed lists of the PCs shown), one spelling each (the first
/// met), sorted without case: what a seat view's software filter offers.
#[must_use]
pub fn distinct<'a>(apps: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<String> = apps
        .into_iter()
        .filter(|a| seen.insert(a.to_lowercase()))
        .cloned()
        .collect();
    out.sort_by_key(|a| a.to_lowercase());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use idlewatch_protocol::Snapshot;

    #[test]
    fn an_app_is_installed_where_it_ran_recently() {
        let installed = Installed::default();
        let s = Snapshot::parse(
            r#"{"host":"PC-1","watched":{"MATLAB":{"running":true},"Ansys":{"running":false}}}"#,
        )
        .unwrap();
        installed.observe("PC-1", s.fields(), 1_000);
        installed.seen("pc-2", "matlab", 500);
        installed.seen("pc-2", "Rocky", 2_000);
        assert_eq!(installed.on("pc-1", 0), ["MATLAB"]);
        assert_eq!(installed.on("PC-2", 0), ["matlab", "Rocky"]);
        assert_eq!(installed.on("pc-2", 1_000), ["Rocky"]);
        assert!(installed.on("pc-3", 0).is_empty());
        // One spelling per app, whichever PC shown first named it.
        let shown = [installed.on("pc-1", 0), installed.on("pc-2", 0)];
        assert_eq!(distinct(shown.iter().flatten()), ["MATLAB", "Rocky"]);
        assert_eq!(distinct(installed.on("pc-2", 1_500).iter()), ["Rocky"]);
        // A later sighting moves the time on, an earlier one does not move it back.
        installed.seen("pc-2", "MATLAB", 3_000);
        installed.seen("pc-2", "MATLAB", 100);
        assert_eq!(installed.on("pc-2", 2_500), ["matlab"]);
    }
}
