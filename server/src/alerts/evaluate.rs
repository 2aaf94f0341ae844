//! Which alert conditions hold, rule by rule: on each accepted snapshot for its host (a few
//! comparisons per rule), on a timer for everything that changes with time alone (a host gone
//! silent, a condition that has now held long enough, a repeat that is due), and after each
//! licence-server poll for orphaned checkouts. Pure: the caller passes what it knows and the
//! time, and gets back the alerts that fired, repeated or resolved.

use std::collections::{HashMap, HashSet};

use idlewatch_protocol::SnapshotFields;
use idlewatch_protocol::WatchedState;
use idlewatch_protocol::api::AlertKind;
use idlewatch_protocol::session::HELPER_MISSING;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::lifecycle::{Condition, Lifecycles, Transition};
use crate::config::AlertRule;
use crate::report::hours::OpenHours;

/// The subject of a `group_idle_licences` alert about hosts that belong to no group.
pub const NO_GROUP: &str = "(no group)";

/// What the evaluator needs to know of one host.
#[derive(Debug, Clone, Copy)]
pub struct HostState<'a> {
    /// Its name.
    pub host: &'a str,
    /// Its group, if it has one.
    pub group: Option<&'a str>,
    /// Its latest snapshot's fields.
    pub fields: Option<&'a SnapshotFields>,
    /// Whether it reports (an offline host holds no licence condition).
    pub online: bool,
    /// When it was last heard from, epoch ms.
    pub last_seen_ms: i64,
    /// Not heard from since this server started, which started moments ago: its agent may
    /// not have reconnected yet, so nothing is concluded about it (see [`super::RECONNECT_GRACE`]).
    pub reconnecting: bool,
}

/// A checkout the licence server lists and the agents do not account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The watched app whose seat it is.
    pub app: String,
    /// The PC holding it, as the licence server names it.
    pub host: String,
    /// That PC's group, when it has one.
    pub group: Option<String>,
}

/// One alert that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The rule's index in the configuration.
    pub rule: usize,
    /// The host, or the group for `group_idle_licences`.
    pub subject: String,
    /// What happened.
    pub transition: Transition,
}

/// Every rule's conditions and where each alert stands.
pub struct Evaluator {
    rules: Vec<AlertRule>,
    open: OpenHours,
    time_zone: TimeZone,
    lifecycles: Lifecycles,
    /// `group_idle_licences`: per rule, the hosts holding its app idle, with their group.
    idle_hosts: HashMap<usize, HashMap<String, String>>,
    /// `group_idle_licences`: per rule and group, how many of its hosts hold the app idle.
    idle_counts: HashMap<(usize, String), u32>,
}

fn app_state(fields: &SnapshotFields, app: &str) -> Option<WatchedState> {
    if let Some(watched) = &fields.watched {
        return watched
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(app))
            .and_then(|(_, w)| w.effective_state());
    }
    fields
        .watched_apps()
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(app))
        .and_then(|(_, w)| w.state)
}

impl Evaluator {
    /// The evaluator of `rules`, with `open` hours read in `time_zone`.
    #[must_use]
    pub fn new(rules: Vec<AlertRule>, open: OpenHours, time_zone: TimeZone) -> Self {
        Self {
            rules,
            open,
            time_zone,
            lifecycles: Lifecycles::default(),
            idle_hosts: HashMap::new(),
            idle_counts: HashMap::new(),
        }
    }

    /// The rules, in configuration order.
    #[must_use]
    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// An alert found firing in the store: it stays firing without notifying again. Returns
    /// whether its rule still exists.
    pub fn restore(&mut self, rule: &str, subject: &str, since_ms: i64, notified_ms: i64) -> bool {
        if !self.rules.iter().any(|r| r.name == rule) {
            return false;
        }
        self.lifecycles
            .restore(rule, subject, since_ms, notified_ms);
        true
    }

    fn is_open(&self, rule: &AlertRule, now_ms: i64) -> bool {
        if !rule.open_hours_only || self.open.is_always() {
            return true;
        }
        let Ok(at) = Timestamp::from_millisecond(now_ms) else {
            return true;
        };
        let civil = at.to_zoned_datetime(self.time_zone.clone());
        let minute =
            u16::try_from(i32::from(civil.hour()) * 60 + i32::from(civil.minute())).unwrap_or(0);
        self.open.is_open_at(civil.weekday(), minute)
    }

    fn in_scope(rule: &AlertRule, group: Option<&str>) -> bool {
        rule.group.as_deref().is_none_or(|g| Some(g) == group)
    }

    /// The condition of a per-host rule on `h`.
    fn host_condition(&self, rule: &AlertRule, h: &HostState<'_>, now_ms: i64) -> Condition {
        if !Self::in_scope(rule, h.group) || !self.is_open(rule, now_ms) {
            return Condition::Clear;
        }
        let holds = match rule.kind {
            AlertKind::HostOffline => {
                return if h.online {
                    Condition::Clear
                } else {
                    Condition::Holds {
                        since_ms: h.last_seen_ms,
                    }
                };
            }
            AlertKind::LicenceIdle => {
                let app = rule.app.as_deref().unwrap_or_default();
                h.online && h.fields.and_then(|f| app_state(f, app)) == Some(WatchedState::Idle)
            }
            AlertKind::HelperMissing => {
                h.online
                    && h.fields
                        .and_then(|f| f.idle_source.as_deref())
                        .is_some_and(|s| s == HELPER_MISSING)
            }
            AlertKind::GroupIdleLicences | AlertKind::LicenceOrphaned => false,
        };
        if holds {
            Condition::Holds { since_ms: now_ms }
        } else {
            Condition::Clear
        }
    }

    fn observe(
        &mut self,
        i: usize,
        subject: &str,
        condition: Condition,
        now_ms: i64,
        out: &mut Vec<Change>,
    ) {
        let rule = &self.rules[i];
        if let Some(transition) = self.lifecycles.observe(
            (&rule.name, subject),
            condition,
            now_ms,
            rule.hold,
            rule.repeat,
        ) {
            out.push(Change {
                rule: i,
                subject: subject.to_owned(),
                transition,
            });
        }
    }

    /// Moves host `host` in or out of rule `i`'s idle hosts; the groups whose count changed.
    fn set_idle(&mut self, i: usize, host: &str, group: Option<&str>) -> Vec<String> {
        let hosts = self.idle_hosts.entry(i).or_default();
        if hosts.get(host).map(String::as_str) == group {
            return Vec::new();
        }
        let before = hosts.get(host).cloned();
        let after = group.map(str::to_owned);
        let mut changed = Vec::with_capacity(2);
        if let Some(g) = before {
            hosts.remove(host);
            if let Some(n) = self.idle_counts.get_mut(&(i, g.clone())) {
                *n = n.saturating_sub(1);
            }
            changed.push(g);
        }
        if let Some(g) = after {
            self.idle_hosts
                .entry(i)
                .or_default()
                .insert(host.to_owned(), g.clone());
            *self.idle_counts.entry((i, g.clone())).or_default() += 1;
            changed.push(g);
        }
        changed
    }

    fn group_condition(&self, i: usize, group: &str, now_ms: i64) -> Condition {
        let rule = &self.rules[i];
        let count = self
            .idle_counts
            .get(&(i, group.to_owned()))
            .copied()
            .unwrap_or(0);
        if self.is_open(rule, now_ms) && count >= rule.threshold.unwrap_or(1) {
            Condition::Holds { since_ms: now_ms }
        } else {
            Condition::Clear
        }
    }

    /// Whether rule `i` counts host `h` as holding its app idle: the group it counts in.
    fn idle_group<'h>(rule: &AlertRule, h: &HostState<'h>) -> Option<&'h str> {
        let app = rule.app.as_deref().unwrap_or_default();
        let idle = h.online && h.fields.and_then(|f| app_state(f, app)) == Some(WatchedState::Idle);
        (idle && Self::in_scope(rule, h.group)).then_some(h.group.unwrap_or(NO_GROUP))
    }

    /// A snapshot of `h` was accepted at `now_ms`: every rule about hosts looks at it.
    pub fn on_snapshot(&mut self, h: &HostState<'_>, now_ms: i64) -> Vec<Change> {
        let mut out = Vec::new();
        for i in 0..self.rules.len() {
            let rule = self.rules[i].clone();
            let rule = &rule;
            match rule.kind {
                AlertKind::LicenceOrphaned => {}
                AlertKind::GroupIdleLicences => {
                    let group = Self::idle_group(rule, h);
                    for g in self.set_idle(i, h.host, group) {
                        let condition = self.group_condition(i, &g, now_ms);
                        self.observe(i, &g, condition, now_ms, &mut out);
                    }
                }
                _ => {
                    let condition = self.host_condition(rule, h, now_ms);
                    self.observe(i, h.host, condition, now_ms, &mut out);
                }
            }
        }
        out
    }

    /// Looks at every host (and every alert being watched) as of `now_ms`: conditions that now
    /// held long enough fire, silent hosts count as offline, repeats that are due go out, and
    /// alerts about hosts no longer known resolve.
    pub fn on_tick(&mut self, hosts: &[HostState<'_>], now_ms: i64) -> Vec<Change> {
        let mut out = Vec::new();
        let known: HashSet<&str> = hosts.iter().map(|h| h.host).collect();
        for i in 0..self.rules.len() {
            let rule = self.rules[i].clone();
            let rule = &rule;
            match rule.kind {
                AlertKind::LicenceOrphaned => {
                    // Only the licence server's polls say which checkouts are orphaned; between
                    // them an alert holds as it was (outside open hours it clears).
                    let condition = if self.is_open(rule, now_ms) {
                        Condition::Holds { since_ms: now_ms }
                    } else {
                        Condition::Clear
                    };
                    for subject in self.subjects_of(&rule.name) {
                        self.observe(i, &subject, condition, now_ms, &mut out);
                    }
                }
                // Some seats are unknown until their agents reconnect: counts wait.
                AlertKind::GroupIdleLicences if hosts.iter().any(|h| h.reconnecting) => {}
                AlertKind::GroupIdleLicences => {
                    let mut idle: HashMap<String, String> = HashMap::new();
                    for h in hosts {
                        if let Some(g) = Self::idle_group(rule, h) {
                            idle.insert(h.host.to_owned(), g.to_owned());
                        }
                    }
                    self.idle_counts.retain(|(r, _), _| *r != i);
                    for g in idle.values() {
                        *self.idle_counts.entry((i, g.clone())).or_default() += 1;
                    }
                    self.idle_hosts.insert(i, idle);
                    // Every group counted now, and every group an alert is watched on (a group
                    // with no idle seat left, or gone, clears).
                    let mut groups: Vec<String> = self
                        .idle_counts
                        .keys()
                        .filter(|(r, _)| *r == i)
                        .map(|(_, g)| g.clone())
                        .chain(self.subjects_of(&rule.name))
                        .collect();
                    groups.sort_unstable();
                    groups.dedup();
                    for g in groups {
                        let condition = self.group_condition(i, &g, now_ms);
                        self.observe(i, &g, condition, now_ms, &mut out);
                    }
                }
                _ => {
                    for h in hosts.iter().filter(|h| !h.reconnecting) {
                        let condition = self.host_condition(rule, h, now_ms);
                        self.observe(i, h.host, condition, now_ms, &mut out);
                    }
                    // Alerts about hosts that are gone: nothing holds there any more.
                    let gone: Vec<String> = self
                        .lifecycles
                        .subjects(&rule.name)
                        .filter(|s| !known.contains(s))
                        .map(str::to_owned)
                        .collect();
                    for subject in gone {
                        self.observe(i, &subject, Condition::Clear, now_ms, &mut out);
                    }
                }
            }
        }
        out
    }

    /// A licence-server poll ended: `orphans` are the checkouts no agent accounts for, of the
    /// apps in `polled` (whose servers answered; alerts of the others stay as they are);
    /// nothing is concluded about the PCs in `unknown` (their agents may not have reconnected
    /// since the server started).
    pub fn on_licences(
        &mut self,
        orphans: &[Orphan],
        polled: &HashSet<String>,
        unknown: &HashSet<String>,
        now_ms: i64,
    ) -> Vec<Change> {
        let mut out = Vec::new();
        for i in 0..self.rules.len() {
            let rule = self.rules[i].clone();
            let rule = &rule;
            if rule.kind != AlertKind::LicenceOrphaned {
                continue;
            }
            let app = rule.app.as_deref().unwrap_or_default().to_ascii_lowercase();
            if !polled.contains(&app) {
                continue;
            }
            let open = self.is_open(rule, now_ms);
            let holding: HashSet<&str> = orphans
                .iter()
                .filter(|o| o.app.eq_ignore_ascii_case(&app))
                .filter(|o| Self::in_scope(rule, o.group.as_deref()))
                .map(|o| o.host.as_str())
                .collect();
            let mut subjects: Vec<String> = holding.iter().map(|h| (*h).to_owned()).collect();
            subjects.extend(self.subjects_of(&rule.name));
            subjects.sort_unstable();
            subjects.dedup();
            for subject in subjects.into_iter().filter(|s| !unknown.contains(s)) {
                let condition = if open && holding.contains(subject.as_str()) {
                    Condition::Holds { since_ms: now_ms }
                } else {
                    Condition::Clear
                };
                self.observe(i, &subject, condition, now_ms, &mut out);
            }
        }
        out
    }

    /// `group_idle_licences`: how many hosts of `group` hold rule `i`'s app idle now.
    #[must_use]
    pub fn idle_seats(&self, i: usize, group: &str) -> Option<u32> {
        (self.rules.get(i)?.kind == AlertKind::GroupIdleLicences).then(|| {
            self.idle_counts
                .get(&(i, group.to_owned()))
                .copied()
                .unwrap_or(0)
        })
    }

    fn subjects_of(&self, rule: &str) -> Vec<String> {
        self.lifecycles.subjects(rule).map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests;
