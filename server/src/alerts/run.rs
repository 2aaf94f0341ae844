//! The alerts task: restores the firing alerts from the store, then evaluates every accepted
//! snapshot, the timer and each licence-server poll; each alert that fires, repeats or resolves
//! is written to the store, sent to dashboards as `alert` and queued for its notifiers.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::metrics::gauge::Gauge;

use idlewatch_licences::join::host_key;
use idlewatch_protocol::api::{Alert, AlertNotification, AlertState, Seen};
use idlewatch_protocol::time::{epoch_ms, now_ms, parse_rfc3339_ms, rfc3339_ms};
use idlewatch_store::RecordStore;
use jiff::tz::TimeZone;
use tracing::{error, info, warn};

mod takeover;

use super::evaluate::{Change, Evaluator, HostState, Orphan};
use super::lifecycle::Transition;
use super::record::{self, Detail};
use super::shared::{Firing, LeadRecords, key_of};
use super::untold::Untold;
use super::{Alerts, Pending, QUEUE};
use crate::groups::HostGroups;
use crate::licences::{LicenceServers, view};
use crate::registry::HostRegistry;
use crate::stores::Stores;

/// How often the observations queued by ingest are taken and evaluated.
const DRAIN_EVERY: Duration = Duration::from_millis(100);

/// What the alerts task reads, and where it shows alerts.
pub struct Sources {
    /// Where alerts are kept.
    pub store: Stores,
    /// The hosts and their latest snapshots.
    pub registry: Arc<HostRegistry>,
    /// Each host's group.
    pub groups: HostGroups,
    /// The PCs that should report: those never heard from count as offline since listed.
    pub directory: Arc<crate::directory::Directory>,
    /// The licence servers' latest polls.
    pub licence_servers: Arc<LicenceServers>,
    /// When the server started.
    pub started: Instant,
    /// The reports' time zone (summaries name times in it).
    pub time_zone: TimeZone,
    /// The count of alerts firing (`idlewatch_alerts_firing`).
    pub firing: Gauge,
    /// Shows an alert to every dashboard (the `alert` event).
    pub show: Box<dyn Fn(&Alert) + Send + Sync>,
    /// Whether this server records, shows and notifies alerts (in a cluster, only the server
    /// holding the lead does; the others evaluate every host all the same, ready to take over).
    pub leads: Box<dyn Fn() -> bool + Send + Sync>,
    /// How long a change not told here waits for the leader's telling it ([`Untold`]).
    pub untold_window: Duration,
    /// Whether alerts are kept in a store every server of the cluster shares (the lead's
    /// records are then every server's: [`LeadRecords`]).
    pub shared: bool,
}

/// Runs `alerts` until aborted (call once; a second call returns at once).
pub async fn run(alerts: Arc<Alerts>, src: Sources) {
    let Some(Pending {
        mut evaluator,
        mut observations,
        mut told,
    }) = alerts
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    else {
        return;
    };
    if let Some(notifiers) = &alerts.notifiers {
        tokio::spawn(notifiers.clone().deliver_forever());
    }
    if evaluator.rules().is_empty() {
        return std::future::pending().await;
    }
    let mut firing = restore(&src, &mut evaluator).await;
    src.firing.set(firing.len() as i64);
    let mut task = Task {
        src: &src,
        alerts: &alerts,
        untold: Untold::new(src.untold_window),
        records: LeadRecords::default(),
    };
    // Whether this server leads and has taken stock of the stored alerts (shared store), and
    // when it last tried.
    let mut leading = false;
    let mut last_try = None;
    let mut tick = tokio::time::interval(alerts.tick());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls = src.licence_servers.subscribe();
    // The queue is drained every DRAIN_EVERY rather than waited on: waiting would wake this
    // task (and often a parked worker thread) for every snapshot, which under load costs more
    // than evaluating the rules; a tenth of a second is nothing to rules held for seconds.
    let mut drain = tokio::time::interval(DRAIN_EVERY);
    drain.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::new();
    loop {
        let changes = tokio::select! {
            _ = drain.tick() => {
                let mut changes = Vec::new();
                // At most a queue's worth, so a flood never keeps the timers waiting.
                while batch.len() < QUEUE && let Ok(o) = observations.try_recv() {
                    batch.push(o);
                }
                for o in batch.drain(..) {
                    let group = src.groups.of(&o.host);
                    let h = HostState {
                        host: &o.host,
                        group: group.as_deref(),
                        fields: Some(o.latest.fields()),
                        online: true,
                        last_seen_ms: o.at_ms,
                        reconnecting: false,
                    };
                    changes.extend(evaluator.on_snapshot(&h, o.at_ms));
                }
                changes
            }
            _ = tick.tick() => task.tick(&mut evaluator),
            Ok(()) = polls.changed() => task.licences(&mut evaluator),
            Some(alert) = told.recv() => {
                if src.shared {
                    task.records.told(&alert, &mut firing);
                }
                task.untold.told_elsewhere(&alert);
                Vec::new()
            }
        };
        let leads = (src.leads)();
        if !leads {
            last_try = None;
        }
        if leads && !leading && src.shared {
            if takeover::due(last_try) {
                last_try = Some(Instant::now());
                leading = task.take_lead(&mut evaluator, &mut firing).await;
                src.firing.set(firing.len() as i64);
            }
        } else {
            if leads && !task.untold.is_empty() {
                task.tell_untold(&evaluator, &mut firing, &mut Firing::new())
                    .await;
            }
            leading = leads;
        }
        if !changes.is_empty() {
            // On a shared store, a server tells only once it has taken stock of the stored
            // alerts; until then it keeps what it sees as one that does not lead.
            let tells = leads && (leading || !src.shared);
            task.apply(&evaluator, changes, &mut firing, tells).await;
            src.firing.set(firing.len() as i64);
        }
    }
}

/// Loads the alerts firing when the server stopped: those whose rule still exists go on firing
/// without a new notification; the others are resolved quietly (their rule was removed).
async fn restore(src: &Sources, evaluator: &mut Evaluator) -> Firing {
    let store = src.store.clone();
    let stored = match tokio::task::spawn_blocking(move || store.alerts()).await {
        Ok(Ok(alerts)) => alerts,
        Ok(Err(e)) => {
            error!("cannot read the stored alerts ({e}); firing alerts may be notified again");
            return Firing::new();
        }
        Err(e) => {
            error!("cannot read the stored alerts ({e})");
            return Firing::new();
        }
    };
    let mut firing = Firing::new();
    let now = now_ms();
    for mut alert in stored.into_iter().filter(|a| a.state == AlertState::Firing) {
        let key = key_of(&alert);
        let since = parse_rfc3339_ms(&alert.since).unwrap_or(now);
        let notified = parse_rfc3339_ms(&alert.notified_at).unwrap_or(now);
        if evaluator.restore(&key.0, &key.1, since, notified) {
            firing.insert(key, alert);
            continue;
        }
        // On a shared store the server that takes the lead next resolves it (take_lead).
        if src.shared {
            continue;
        }
        alert.state = AlertState::Resolved;
        alert.resolved_at = Some(rfc3339_ms(now));
        alert.summary = format!("{} (its rule was removed)", alert.summary);
        let store = src.store.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.update_alert(&alert)).await {
            warn!("cannot resolve an alert of a removed rule: {e}");
        }
    }
    if !firing.is_empty() {
        info!(
            "{} alerts still firing from before the restart",
            firing.len()
        );
    }
    firing
}

struct Task<'a> {
    src: &'a Sources,
    alerts: &'a Alerts,
    untold: Untold,
    records: LeadRecords,
}

impl Task<'_> {
    /// Every host as of now. A host is not counted offline for longer than this server has
    /// been up: after a restart its agent gets the rule's `for` to reconnect.
    fn tick(&mut self, evaluator: &mut Evaluator) -> Vec<Change> {
        let now = SystemTime::now();
        let up = self.src.started.elapsed();
        let started_ms = now_ms() - i64::try_from(up.as_millis()).unwrap_or(0);
        let grace = up < super::RECONNECT_GRACE;
        let views = self.src.registry.views(now);
        let listed = self.src.directory.all();
        let never_seen = crate::directory::never_seen(&listed, views.iter().map(|v| &v.host));
        let groups: Vec<Option<String>> =
            views.iter().map(|v| self.src.groups.of(&v.host)).collect();
        let never_groups: Vec<Option<String>> = never_seen
            .iter()
            .map(|h| self.src.groups.of(&h.host))
            .collect();
        let mut hosts: Vec<HostState<'_>> = views
            .iter()
            .zip(&groups)
            .map(|(v, g)| HostState {
                host: &v.host,
                group: g.as_deref(),
                fields: v.latest.as_ref().map(|l| l.fields()),
                online: v.online,
                last_seen_ms: epoch_ms(v.last_seen).max(started_ms),
                reconnecting: grace && epoch_ms(v.last_seen) < started_ms,
            })
            .collect();
        // A PC listed but never heard from is offline since it was listed (or since start);
        // it has no agent that could be reconnecting after a restart.
        hosts.extend(
            never_seen
                .iter()
                .zip(&never_groups)
                .map(|(h, g)| HostState {
                    host: &h.host,
                    group: g.as_deref(),
                    fields: None,
                    online: false,
                    last_seen_ms: h.listed_since_ms.max(started_ms),
                    reconnecting: false,
                }),
        );
        evaluator.on_tick(&hosts, epoch_ms(now))
    }

    /// The checkouts of the latest polls that no agent accounts for. Within
    /// [`super::RECONNECT_GRACE`] of the start, a checkout on a PC known from before the start
    /// whose agent has not reported since is left undecided.
    fn licences(&mut self, evaluator: &mut Evaluator) -> Vec<Change> {
        let views = self.src.registry.views(SystemTime::now());
        let answer = view::answer(&self.src.licence_servers, &views, &self.src.time_zone);
        let up = self.src.started.elapsed();
        let started_ms = now_ms() - i64::try_from(up.as_millis()).unwrap_or(0);
        let waiting: HashSet<String> = if up < super::RECONNECT_GRACE {
            views
                .iter()
                .filter(|v| epoch_ms(v.last_seen) < started_ms)
                .map(|v| host_key(&v.host))
                .collect()
        } else {
            HashSet::new()
        };
        let mut unknown = HashSet::new();
        let mut polled = HashSet::new();
        let mut orphans = Vec::new();
        for server in &answer.servers {
            if server.polled_at.is_none() || server.error.is_some() {
                continue;
            }
            polled.insert(server.app.to_ascii_lowercase());
            for checkout in server.pools.iter().flat_map(|p| &p.checkouts) {
                if checkout.seen == Seen::NoAgent && waiting.contains(&host_key(&checkout.host)) {
                    unknown.insert(checkout.host.clone());
                } else if checkout.orphaned {
                    orphans.push(Orphan {
                        app: server.app.clone(),
                        host: checkout.host.clone(),
                        group: self.src.groups.of(&checkout.host),
                    });
                }
            }
        }
        evaluator.on_licences(&orphans, &polled, &unknown, now_ms())
    }

    /// Records, shows and notifies each change — in a cluster only while this server leads.
    /// A server that does not lead keeps the alerts firing in memory all the same (not
    /// stored: id 0), so that once it leads it repeats and resolves the ones the former
    /// leader fired, storing them then.
    async fn apply(
        &mut self,
        evaluator: &Evaluator,
        changes: Vec<Change>,
        firing: &mut Firing,
        leads: bool,
    ) {
        let now = now_ms();
        for change in changes {
            let rule = &evaluator.rules()[change.rule];
            let key = (rule.name.clone(), change.subject.clone());
            let (alert, repeat) = match change.transition {
                Transition::Fired { since_ms } => {
                    let group = (!rule.kind.is_about_a_group())
                        .then(|| self.src.groups.of(&change.subject))
                        .flatten();
                    let detail = Detail {
                        idle_seats: evaluator.idle_seats(change.rule, &change.subject),
                    };
                    let mut alert = record::fired(
                        rule,
                        &change.subject,
                        group,
                        since_ms,
                        now,
                        &self.src.time_zone,
                        detail,
                    );
                    if leads {
                        if !self.store(&mut alert).await {
                            continue;
                        }
                        info!(alert = %alert.alert, id = alert.id, "alert firing: {}", alert.summary);
                    } else if self.src.shared {
                        alert.id = self.records.id_of(&key);
                    }
                    firing.insert(key.clone(), alert.clone());
                    (alert, false)
                }
                Transition::Repeated { .. } => {
                    let Some(alert) = firing.get_mut(&key) else {
                        continue;
                    };
                    alert.notified_at = rfc3339_ms(now);
                    // A record this server stored in its own file while it led is kept current
                    // all the same (a shared one is the lead's to write).
                    if leads || (alert.id != 0 && !self.src.shared) {
                        self.store(alert).await;
                    }
                    (alert.clone(), true)
                }
                Transition::Resolved { since_ms } => {
                    let Some(mut alert) = firing.remove(&key) else {
                        continue;
                    };
                    record::resolve(&mut alert, since_ms, now);
                    if leads || (alert.id != 0 && !self.src.shared) {
                        self.store(&mut alert).await;
                        info!(alert = %alert.alert, id = alert.id, "alert resolved: {}", alert.summary);
                    }
                    (alert, false)
                }
            };
            if leads {
                self.tell(&alert, repeat, &rule.notify);
            } else {
                self.untold.saw(alert, repeat, change.rule, key);
            }
        }
    }

    /// Stores `alert`: a new one (id 0: fired before this server led) gets its id; one stored
    /// before is rewritten. False when it could not be stored (logged).
    async fn store(&self, alert: &mut Alert) -> bool {
        if alert.id != 0 {
            self.store_update(alert).await;
            return true;
        }
        let store = self.src.store.clone();
        let mut copy = alert.clone();
        match tokio::task::spawn_blocking(move || store.add_alert(&mut copy).map(|_| copy)).await {
            Ok(Ok(stored)) => {
                *alert = stored;
                true
            }
            Ok(Err(e)) => {
                error!(alert = %alert.alert, "cannot store the alert: {e}");
                false
            }
            Err(e) => {
                error!(alert = %alert.alert, "cannot store the alert: {e}");
                false
            }
        }
    }

    async fn store_update(&self, alert: &Alert) {
        let store = self.src.store.clone();
        let copy = alert.clone();
        match tokio::task::spawn_blocking(move || store.update_alert(&copy)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                error!(alert = %alert.alert, id = alert.id, "cannot store the alert: {e}")
            }
            Err(e) => error!(alert = %alert.alert, id = alert.id, "cannot store the alert: {e}"),
        }
    }

    /// Dashboards get the alert; its notifiers get the notification.
    fn tell(&self, alert: &Alert, repeat: bool, notify: &[String]) {
        (self.src.show)(alert);
        if let Some(notifiers) = &self.alerts.notifiers {
            notifiers.send(notify, &AlertNotification::of(alert, repeat));
        }
    }
}
