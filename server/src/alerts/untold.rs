//! Cluster mode: every server evaluates every host, but only the leader tells. A server that
//! does not lead keeps each change it saw and did not tell until the leader's `alert` for the
//! same change arrives (told there), or until it leads itself — then the former leader died
//! before telling, and this server tells it. Both sides are matched by rule, subject and state,
//! whichever comes first (servers see the same snapshots a few milliseconds apart), and both
//! are forgotten after [`Untold::new`]'s window: a leader alive tells within a second.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use idlewatch_protocol::api::{Alert, AlertState};

/// One change not told here.
#[derive(Debug)]
pub struct Item {
    /// The alert as this server would have told it.
    pub alert: Alert,
    /// A repeated notification rather than a new state.
    pub repeat: bool,
    /// Its rule's index among the evaluator's rules.
    pub rule: usize,
    /// Its key in the firing alerts: the rule's name and the subject.
    pub key: (String, String),
    seen: Instant,
    /// What the leader's message for it will say, worked out once.
    change: Change,
}

/// What identifies one change on every server.
type Change = (String, Option<String>, Option<String>, bool);

fn change_of(alert: &Alert) -> Change {
    (
        alert.alert.clone(),
        alert.host.clone(),
        if alert.host.is_some() {
            None
        } else {
            alert.group.clone()
        },
        alert.state == AlertState::Firing,
    )
}

/// The changes not told here, and those told by the leader not seen here yet.
#[derive(Debug)]
pub struct Untold {
    window: Duration,
    untold: VecDeque<Item>,
    told: VecDeque<(Change, Instant)>,
}

impl Untold {
    /// Forgets either side after `window`.
    #[must_use]
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            untold: VecDeque::new(),
            told: VecDeque::new(),
        }
    }

    /// A change this server saw while it did not lead.
    pub fn saw(&mut self, alert: Alert, repeat: bool, rule: usize, key: (String, String)) {
        let now = Instant::now();
        self.forget(now);
        let change = change_of(&alert);
        if let Some(i) = self.told.iter().position(|(c, _)| *c == change) {
            self.told.remove(i);
            return;
        }
        self.untold.push_back(Item {
            alert,
            repeat,
            rule,
            key,
            seen: now,
            change,
        });
    }

    /// The leader told `alert`.
    pub fn told_elsewhere(&mut self, alert: &Alert) {
        let now = Instant::now();
        self.forget(now);
        let change = change_of(alert);
        match self.untold.iter().position(|item| item.change == change) {
            Some(i) => {
                self.untold.remove(i);
            }
            None => self.told.push_back((change, now)),
        }
    }

    /// The changes nobody told, oldest first (this server leads now).
    pub fn take(&mut self) -> Vec<Item> {
        self.forget(Instant::now());
        self.told.clear();
        self.untold.drain(..).collect()
    }

    /// Whether nothing waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.untold.is_empty()
    }

    fn forget(&mut self, now: Instant) {
        let window = self.window;
        self.untold.retain(|i| now.duration_since(i.seen) < window);
        self.told.retain(|(_, at)| now.duration_since(*at) < window);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use idlewatch_protocol::api::AlertKind;

    /// An `ansys-idle` alert about `host` (in group Lab A), id 0.
    pub(crate) fn alert(host: &str, state: AlertState) -> Alert {
        Alert {
            id: 0,
            alert: "ansys-idle".to_owned(),
            kind: AlertKind::LicenceIdle,
            state,
            host: Some(host.to_owned()),
            group: Some("Lab A".to_owned()),
            app: Some("ansys".to_owned()),
            since: String::new(),
            fired_at: String::new(),
            notified_at: String::new(),
            resolved_at: None,
            summary: String::new(),
        }
    }

    fn key(host: &str) -> (String, String) {
        ("ansys-idle".to_owned(), host.to_owned())
    }

    #[test]
    fn what_the_leader_told_is_not_told_again_whichever_comes_first() {
        let mut u = Untold::new(Duration::from_secs(60));
        u.saw(alert("a", AlertState::Firing), false, 0, key("a"));
        u.told_elsewhere(&alert("a", AlertState::Firing));
        // The leader's message first this time.
        u.told_elsewhere(&alert("b", AlertState::Resolved));
        u.saw(alert("b", AlertState::Resolved), false, 0, key("b"));
        assert!(u.is_empty());
        assert!(u.take().is_empty());
    }

    #[test]
    fn what_nobody_told_is_taken_once_in_order() {
        let mut u = Untold::new(Duration::from_secs(60));
        u.saw(alert("a", AlertState::Firing), false, 0, key("a"));
        u.saw(alert("b", AlertState::Firing), false, 0, key("b"));
        u.told_elsewhere(&alert("a", AlertState::Resolved));
        let taken: Vec<String> = u
            .take()
            .into_iter()
            .map(|i| i.alert.host.unwrap())
            .collect();
        assert_eq!(taken, ["a", "b"], "a resolution does not match a firing");
        assert!(u.take().is_empty());
    }

    #[test]
    fn both_sides_are_forgotten_after_the_window() {
        let mut u = Untold::new(Duration::ZERO);
        u.told_elsewhere(&alert("a", AlertState::Firing));
        u.saw(alert("a", AlertState::Firing), false, 0, key("a"));
        assert!(u.take().is_empty());
    }
}
