//! An alert's life, the same for every kind: a condition seen on a subject (a host, or a group)
//! is *pending* until it has held for the rule's `for`, then *firing* (one notification, and
//! again every `repeat` if set), then *resolved* when it clears (one notification). Pure: the
//! caller says what it saw and when, and gets back what to tell.

use std::collections::HashMap;
use std::time::Duration;

/// Where one alert (a rule on one subject) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The condition holds since `since`, not yet for long enough.
    Pending {
        /// When it was first seen, epoch ms.
        since_ms: i64,
    },
    /// The alert fired.
    Firing {
        /// When the condition was first seen, epoch ms.
        since_ms: i64,
        /// When it was last notified, epoch ms.
        notified_ms: i64,
    },
}

/// What the caller saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The condition holds, and has since `since_ms` (when it is first seen; later
    /// observations keep the first time).
    Holds {
        /// When it began, epoch ms.
        since_ms: i64,
    },
    /// It does not hold.
    Clear,
}

/// What the caller must tell the notifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// It fires (the condition held since `since_ms`).
    Fired {
        /// When the condition was first seen, epoch ms.
        since_ms: i64,
    },
    /// Still firing, `repeat` later.
    Repeated {
        /// When the condition was first seen, epoch ms.
        since_ms: i64,
    },
    /// It cleared.
    Resolved {
        /// When the condition was first seen, epoch ms.
        since_ms: i64,
    },
}

/// Every watched alert's stage, by rule name then subject (so that looking one up, the
/// commonest case by far — a condition that does not hold on a host — allocates nothing).
#[derive(Debug, Default)]
pub struct Lifecycles {
    stages: HashMap<String, HashMap<String, Stage>>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Lifecycles {
    /// Restores a firing alert (from the store, after a restart): it does not fire again.
    pub fn restore(&mut self, rule: &str, subject: &str, since_ms: i64, notified_ms: i64) {
        self.stages.entry(rule.to_owned()).or_default().insert(
            subject.to_owned(),
            Stage::Firing {
                since_ms,
                notified_ms,
            },
        );
    }

    /// The stage of `rule` on `subject`, if its condition holds there.
    #[must_use]
    pub fn stage(&self, rule: &str, subject: &str) -> Option<Stage> {
        self.stages.get(rule)?.get(subject).copied()
    }

    /// Records whether the condition of `rule` holds on `subject` at `now_ms` (and since when,
    /// if it does); `hold` is the rule's `for` and `repeat` its repeat interval.
    pub fn observe(
        &mut self,
        (rule, subject): (&str, &str),
        condition: Condition,
        now_ms: i64,
        hold: Duration,
        repeat: Option<Duration>,
    ) -> Option<Transition> {
        let Condition::Holds { since_ms: began } = condition else {
            return match self.stages.get_mut(rule)?.remove(subject)? {
                Stage::Pending { .. } => None,
                Stage::Firing { since_ms, .. } => Some(Transition::Resolved { since_ms }),
            };
        };
        let subjects = match self.stages.get_mut(rule) {
            Some(s) => s,
            None => self.stages.entry(rule.to_owned()).or_default(),
        };
        let stage = match subjects.get_mut(subject) {
            Some(stage) => stage,
            None => subjects
                .entry(subject.to_owned())
                .or_insert(Stage::Pending {
                    since_ms: began.min(now_ms),
                }),
        };
        match *stage {
            Stage::Pending { since_ms } if now_ms.saturating_sub(since_ms) >= ms(hold) => {
                *stage = Stage::Firing {
                    since_ms,
                    notified_ms: now_ms,
                };
                Some(Transition::Fired { since_ms })
            }
            Stage::Pending { .. } => None,
            Stage::Firing {
                since_ms,
                notified_ms,
            } => {
                let due = repeat.is_some_and(|r| now_ms.saturating_sub(notified_ms) >= ms(r));
                if due {
                    *stage = Stage::Firing {
                        since_ms,
                        notified_ms: now_ms,
                    };
                    Some(Transition::Repeated { since_ms })
                } else {
                    None
                }
            }
        }
    }

    /// The subjects of `rule` whose condition is being watched.
    pub fn subjects(&self, rule: &str) -> impl Iterator<Item = &str> {
        self.stages
            .get(rule)
            .into_iter()
            .flat_map(|s| s.keys().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// Holds, as seen first at `at`.
    fn holds(at: i64) -> Condition {
        Condition::Holds { since_ms: at }
    }

    fn key() -> (&'static str, &'static str) {
        ("ansys-idle", "pc-1")
    }

    #[test]
    fn fires_once_after_holding_for_its_time_and_resolves_once() {
        let mut l = Lifecycles::default();
        let hold = Duration::from_secs(30 * 60);
        assert_eq!(l.observe(key(), holds(0), 0, hold, None), None);
        assert_eq!(
            l.observe(key(), holds(29 * MIN), 29 * MIN, hold, None),
            None
        );
        assert_eq!(
            l.observe(key(), holds(30 * MIN), 30 * MIN, hold, None),
            Some(Transition::Fired { since_ms: 0 })
        );
        assert_eq!(
            l.observe(key(), holds(300 * MIN), 300 * MIN, hold, None),
            None,
            "no repeats"
        );
        assert_eq!(
            l.observe(key(), Condition::Clear, 301 * MIN, hold, None),
            Some(Transition::Resolved { since_ms: 0 })
        );
        assert_eq!(
            l.observe(key(), Condition::Clear, 302 * MIN, hold, None),
            None
        );
    }

    #[test]
    fn a_condition_that_clears_before_its_time_never_fires() {
        let mut l = Lifecycles::default();
        let hold = Duration::from_secs(30 * 60);
        assert_eq!(l.observe(key(), holds(0), 0, hold, None), None);
        assert_eq!(
            l.observe(key(), Condition::Clear, 10 * MIN, hold, None),
            None
        );
        assert_eq!(
            l.observe(key(), holds(20 * MIN), 20 * MIN, hold, None),
            None
        );
        assert_eq!(
            l.observe(key(), holds(45 * MIN), 45 * MIN, hold, None),
            None,
            "held 25 min since"
        );
        assert_eq!(
            l.observe(key(), holds(50 * MIN), 50 * MIN, hold, None),
            Some(Transition::Fired { since_ms: 20 * MIN })
        );
    }

    #[test]
    fn repeats_while_firing_when_asked_and_a_restored_alert_does_not_fire_again() {
        let mut l = Lifecycles::default();
        let repeat = Some(Duration::from_secs(4 * 3600));
        l.restore("ansys-idle", "pc-1", 0, 60 * MIN);
        assert_eq!(
            l.observe(key(), holds(61 * MIN), 61 * MIN, Duration::ZERO, repeat),
            None
        );
        assert_eq!(
            l.observe(key(), holds(300 * MIN), 300 * MIN, Duration::ZERO, repeat),
            Some(Transition::Repeated { since_ms: 0 })
        );
        assert_eq!(
            l.observe(key(), holds(301 * MIN), 301 * MIN, Duration::ZERO, repeat),
            None
        );
    }
}
