//! The in-memory latest state of every host: its latest snapshot, when it was first and last
//! seen, how often it reports, and how many agent sockets it has connected.
//!
//! A std `RwLock` guards the map: every critical section is a few map operations and nothing
//! awaits while holding it. Time is passed in by callers so tests control it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use idlewatch_format::PackedJson;
use idlewatch_protocol::{Snapshot, SnapshotFields};

/// Report interval assumed until a host has sent two snapshots.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// A host silent for this many intervals is offline even with its socket connected.
pub const OFFLINE_AFTER_INTERVALS: u32 = 3;

/// All known hosts.
#[derive(Debug, Default)]
pub struct HostRegistry {
    hosts: RwLock<HashMap<String, HostEntry>>,
    /// How far ahead of the clock a capture time may be and still order the host's snapshots;
    /// a latest snapshot dated later than that (stored before the limit existed, or by a clock
    /// that jumped back) is replaced by the next one to arrive.
    max_ahead: Duration,
}

/// A host's latest snapshot as kept in memory: its typed fields, and its exact JSON text packed
/// (a few KB instead of ~30 KB for 300 processes; unpacked only for `/data`).
#[derive(Debug)]
pub struct Latest {
    fields: SnapshotFields,
    json: Arc<PackedJson>,
}

impl Latest {
    /// Keeps `snapshot`.
    #[must_use]
    pub fn of(snapshot: &Snapshot) -> Self {
        Self {
            fields: snapshot.fields().clone(),
            json: Arc::new(PackedJson::pack(snapshot.raw().get().as_bytes())),
        }
    }

    /// Keeps `snapshot`, already packed as `json` (by another server of a cluster).
    #[must_use]
    pub fn with_packed(snapshot: &Snapshot, json: Arc<PackedJson>) -> Self {
        Self {
            fields: snapshot.fields().clone(),
            json,
        }
    }

    /// The packed JSON, to share with the store's writer (one packed copy per host).
    #[must_use]
    pub fn packed(&self) -> Arc<PackedJson> {
        self.json.clone()
    }

    /// The typed known fields.
    #[must_use]
    pub fn fields(&self) -> &SnapshotFields {
        &self.fields
    }

    /// The JSON text exactly as the agent sent it.
    #[must_use]
    pub fn json(&self) -> String {
        // Packed from a `&str`, so the bytes are UTF-8.
        String::from_utf8(self.json.unpack()).unwrap_or_default()
    }

    /// Length of the JSON text.
    #[must_use]
    pub fn json_len(&self) -> usize {
        self.json.len()
    }
}

#[derive(Debug)]
struct HostEntry {
    latest: Option<Arc<Latest>>,
    latest_received: Option<SystemTime>,
    first_seen: SystemTime,
    last_seen: SystemTime,
    interval: Option<Duration>,
    agents: u32,
    /// Agent sockets on the other servers of a cluster.
    remote_agents: u32,
}

impl HostEntry {
    fn new(now: SystemTime) -> Self {
        Self {
            latest: None,
            latest_received: None,
            first_seen: now,
            last_seen: now,
            interval: None,
            agents: 0,
            remote_agents: 0,
        }
    }
}

/// A point-in-time view of one host.
#[derive(Debug, Clone)]
pub struct HostView {
    /// Host name.
    pub host: String,
    /// Connected and reporting within [`OFFLINE_AFTER_INTERVALS`] × its interval.
    pub online: bool,
    /// Agent sockets connected for this host (to any server of a cluster).
    pub agents: u32,
    /// First register or snapshot this process has seen.
    pub first_seen: SystemTime,
    /// Last register or snapshot.
    pub last_seen: SystemTime,
    /// Estimated report interval.
    pub interval: Duration,
    /// Latest snapshot, if any.
    pub latest: Option<Arc<Latest>>,
    /// When the latest snapshot was received.
    pub latest_received: Option<SystemTime>,
}

/// What [`HostRegistry::record`] did with a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// It is now the host's latest state.
    Latest,
    /// It is older than the latest (a replay): kept out of the live state.
    Older,
}

fn poisoned<T>(e: std::sync::PoisonError<T>) -> T {
    // A panic while holding the lock cannot leave the map half-updated in a way that matters
    // more than losing all live state, so keep serving with what is there.
    e.into_inner()
}

impl HostRegistry {
    /// An empty registry trusting capture times at most `max_ahead` after the clock.
    #[must_use]
    pub fn new(max_ahead: Duration) -> Self {
        Self {
            hosts: RwLock::default(),
            max_ahead,
        }
    }

    /// Agent sockets connected for `host` now.
    #[must_use]
    pub fn agents_of(&self, host: &str) -> u32 {
        self.hosts
            .read()
            .unwrap_or_else(poisoned)
            .get(host)
            .map_or(0, |e| e.agents)
    }

    /// An agent socket for `host` connected. Returns true when it is the host's first.
    pub fn agent_connected(&self, host: &str, now: SystemTime) -> bool {
        let mut hosts = self.hosts.write().unwrap_or_else(poisoned);
        let entry = hosts
            .entry(host.to_owned())
            .or_insert_with(|| HostEntry::new(now));
        entry.agents += 1;
        entry.last_seen = entry.last_seen.max(now);
        entry.agents == 1
    }

    /// An agent socket for `host` went away. Returns true when it was the host's last.
    pub fn agent_disconnected(&self, host: &str) -> bool {
        let mut hosts = self.hosts.write().unwrap_or_else(poisoned);
        match hosts.get_mut(host) {
            Some(entry) if entry.agents > 0 => {
                entry.agents -= 1;
                entry.agents == 0
            }
            _ => false,
        }
    }

    /// Cluster mode: the agents each host has on the other servers now (hosts not named have
    /// none). Returns whether the hosts with an agent anywhere changed.
    pub fn set_remote_agents(&self, counts: &HashMap<String, u32>, now: SystemTime) -> bool {
        let mut hosts = self.hosts.write().unwrap_or_else(poisoned);
        let mut changed = false;
        for (host, entry) in hosts.iter_mut() {
            let remote = counts.get(host).copied().unwrap_or(0);
            changed |= (entry.agents + entry.remote_agents > 0) != (entry.agents + remote > 0);
            entry.remote_agents = remote;
        }
        for (host, &remote) in counts {
            if remote > 0 && !hosts.contains_key(host) {
                let mut entry = HostEntry::new(now);
                entry.remote_agents = remote;
                hosts.insert(host.clone(), entry);
                changed = true;
            }
        }
        changed
    }

    /// Records an accepted snapshot received at `now`.
    pub fn record(&self, snapshot: &Snapshot, now: SystemTime) -> Recorded {
        self.record_latest(snapshot, Arc::new(Latest::of(snapshot)), now)
    }

    /// As [`HostRegistry::record`], with the snapshot already packed by the caller (packing
    /// happens outside the lock).
    pub fn record_latest(
        &self,
        snapshot: &Snapshot,
        latest: Arc<Latest>,
        now: SystemTime,
    ) -> Recorded {
        let captured = snapshot.fields().captured_at;
        let mut hosts = self.hosts.write().unwrap_or_else(poisoned);
        let entry = hosts
            .entry(snapshot.host().to_owned())
            .or_insert_with(|| HostEntry::new(now));
        entry.last_seen = entry.last_seen.max(now);
        let horizon = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from((d + self.max_ahead).as_millis()).ok())
            .unwrap_or(i64::MAX);
        if let Some(prev) = &entry.latest {
            // A capture time beyond the horizon says nothing about order: the agent's clock
            // was unusable, so arrival decides.
            let prev_captured = prev
                .fields()
                .captured_at
                .filter(|c| c.epoch_ms() <= horizon);
            if let (Some(new), Some(old)) = (captured, prev_captured)
                && new < old
            {
                return Recorded::Older;
            }
            // Prefer the agent's own clock: replayed snapshots arrive in a burst but were taken
            // one interval apart.
            let gap = match (captured, prev_captured) {
                (Some(new), Some(old)) => {
                    Duration::from_millis(u64::try_from(new.0 - old.0).unwrap_or(0))
                }
                _ => entry
                    .latest_received
                    .and_then(|t| now.duration_since(t).ok())
                    .unwrap_or_default(),
            };
            entry.interval = estimate_interval(entry.interval, gap);
        }
        entry.latest = Some(latest);
        entry.latest_received = Some(now);
        Recorded::Latest
    }

    /// After some of `host`'s stored snapshots were deleted: its latest becomes `latest`
    /// (received at `received`), or, with nothing left, the host is forgotten unless an agent
    /// of it is connected.
    pub fn replace_latest(&self, host: &str, latest: Option<(Arc<Latest>, SystemTime)>) {
        let mut hosts = self.hosts.write().unwrap_or_else(poisoned);
        let Some(entry) = hosts.get_mut(host) else {
            return;
        };
        match latest {
            Some((latest, received)) => {
                entry.latest = Some(latest);
                entry.latest_received = Some(received);
            }
            None if entry.agents + entry.remote_agents == 0 => {
                hosts.remove(host);
            }
            None => {
                entry.latest = None;
                entry.latest_received = None;
            }
        }
    }

    /// Hosts with at least one connected agent socket, sorted.
    #[must_use]
    pub fn connected_hosts(&self) -> Vec<String> {
        let hosts = self.hosts.read().unwrap_or_else(poisoned);
        let mut names: Vec<String> = hosts
            .iter()
            .filter(|(_, e)| e.agents + e.remote_agents > 0)
            .map(|(h, _)| h.clone())
            .collect();
        names.sort_unstable();
        names
    }

    /// Hosts with an agent socket on this server, sorted (in a cluster, what it tells the
    /// others).
    #[must_use]
    pub fn local_hosts(&self) -> Vec<String> {
        let hosts = self.hosts.read().unwrap_or_else(poisoned);
        let mut names: Vec<String> = hosts
            .iter()
            .filter(|(_, e)| e.agents > 0)
            .map(|(h, _)| h.clone())
            .collect();
        names.sort_unstable();
        names
    }

    /// Every known host as of `now`, sorted by name.
    #[must_use]
    pub fn views(&self, now: SystemTime) -> Vec<HostView> {
        let hosts = self.hosts.read().unwrap_or_else(poisoned);
        let mut views: Vec<HostView> = hosts
            .iter()
            .map(|(host, e)| {
                let interval = e.interval.unwrap_or(DEFAULT_INTERVAL);
                let silent = now.duration_since(e.last_seen).unwrap_or_default();
                let agents = e.agents + e.remote_agents;
                HostView {
                    host: host.clone(),
                    online: agents > 0 && silent <= interval * OFFLINE_AFTER_INTERVALS,
                    agents,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                    interval,
                    latest: e.latest.clone(),
                    latest_received: e.latest_received,
                }
            })
            .collect();
        views.sort_unstable_by(|a, b| a.host.cmp(&b.host));
        views
    }

    /// Whether `host` is known (registered or reported since start, or restored from the store).
    #[must_use]
    pub fn knows(&self, host: &str) -> bool {
        self.hosts
            .read()
            .unwrap_or_else(poisoned)
            .contains_key(host)
    }

    /// The group a host's latest snapshot names, if any.
    #[must_use]
    pub fn group_of(&self, host: &str) -> Option<String> {
        let hosts = self.hosts.read().unwrap_or_else(poisoned);
        hosts.get(host)?.latest.as_ref()?.fields().group.clone()
    }

    /// Number of known hosts.
    #[must_use]
    pub fn len(&self) -> usize {
        self.hosts.read().unwrap_or_else(poisoned).len()
    }

    /// Whether no host is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Exponentially weighted estimate of the report interval, ignoring implausible gaps
/// (duplicates, and outages longer than an hour).
fn estimate_interval(current: Option<Duration>, gap: Duration) -> Option<Duration> {
    if gap < Duration::from_millis(100) || gap > Duration::from_secs(3600) {
        return current;
    }
    Some(match current {
        None => gap,
        Some(c) => c.mul_f64(0.7) + gap.mul_f64(0.3),
    })
}

#[cfg(test)]
mod tests;
