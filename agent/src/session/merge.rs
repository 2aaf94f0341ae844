//! Which session the snapshot's idle time, foreground app and `session` come from. The
//! service keeps each helper's latest report ([`Helpers`]) and asks the operating system who
//! is logged on ([`LoggedOn`]); [`merge`] decides:
//!
//! 1. a helper that reported within two intervals — the active session's first — gives idle
//!    time, foreground and user (`session.source` = `helper`);
//! 2. otherwise nobody logged on gives `idle_source: no_session`;
//! 3. a user logged on without a helper reporting gives `idle_source: helper_missing` (its
//!    helper was stopped or never started), with the session as the system reports it;
//! 4. when the system cannot say, a helper that stopped without saying goodbye counts as
//!    missing, and with no helper ever the service's own readings are used (the agent run by
//!    hand in a desktop session, as before the split).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use idlewatch_protocol::CapturedAt;
use idlewatch_protocol::session::{
    HELPER_MISSING, NO_SESSION, SOURCE_HELPER, SOURCE_SYSTEM, SessionInfo,
};

use super::report::SessionReport;
use crate::collect::{Foreground, IdleReading};

/// Who is logged on at the machine, as the operating system says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedOn {
    /// Nobody.
    Nobody,
    /// A user (name and logon time when known).
    User {
        /// Their name.
        name: Option<String>,
        /// When they logged on, epoch ms.
        since_ms: Option<i64>,
    },
    /// The system cannot tell (no logind, an unsupported OS).
    Unknown,
}

/// One connected helper.
#[derive(Debug, Clone)]
struct Helper {
    report: SessionReport,
    /// The user the service found for the helper's process (peer credentials), which a
    /// helper cannot fake.
    checked_user: Option<String>,
    at: Instant,
}

/// The helpers' latest reports, by connection.
#[derive(Debug, Default)]
pub struct Helpers {
    by_connection: HashMap<u64, Helper>,
    /// A helper reported once, then went away without saying goodbye.
    vanished: Option<Option<String>>,
}

impl Helpers {
    /// Records a report of connection `id` at `at`.
    pub fn report(
        &mut self,
        id: u64,
        report: SessionReport,
        checked_user: Option<String>,
        at: Instant,
    ) {
        if report.bye {
            self.by_connection.remove(&id);
            self.vanished = None;
            return;
        }
        self.vanished = None;
        self.by_connection.insert(
            id,
            Helper {
                report,
                checked_user,
                at,
            },
        );
    }

    /// Connection `id` closed (a goodbye, if any, came before).
    pub fn closed(&mut self, id: u64) {
        if let Some(gone) = self.by_connection.remove(&id) {
            self.vanished = Some(gone.checked_user.or(gone.report.user));
        }
    }

    /// Helpers connected now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_connection.len()
    }

    /// Whether no helper is connected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_connection.is_empty()
    }

    /// The freshest report of the active session (or of any session, when none says it is
    /// active), if one came within `max_age`.
    fn current(&self, now: Instant, max_age: Duration) -> Option<&Helper> {
        let fresh = self
            .by_connection
            .values()
            .filter(|h| now.saturating_duration_since(h.at) <= max_age);
        fresh.max_by_key(|h| (h.report.active, h.at))
    }
}

/// What the snapshot says about the session.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// Idle time and where it came from (or why there is none).
    pub idle: IdleReading,
    /// The foreground window.
    pub foreground: Option<Foreground>,
    /// The session, when one is known.
    pub session: Option<SessionInfo>,
}

fn at(ms: Option<i64>) -> Option<CapturedAt> {
    ms.map(CapturedAt)
}

/// Decides, as the module documentation says; `own` reads the service's own idle source and
/// foreground (only called in case 4).
pub fn merge(
    helpers: &Helpers,
    now: Instant,
    max_age: Duration,
    logged_on: &LoggedOn,
    own: impl FnOnce() -> (IdleReading, Option<Foreground>),
) -> Merged {
    if let Some(helper) = helpers.current(now, max_age) {
        let report = &helper.report;
        let system_since = match logged_on {
            LoggedOn::User { since_ms, .. } => *since_ms,
            _ => None,
        };
        return Merged {
            idle: IdleReading {
                seconds: report.idle_seconds,
                source: report.idle_source.clone(),
            },
            foreground: report.foreground_pid.map(|pid| Foreground {
                pid,
                title: report.foreground_title.clone(),
            }),
            session: Some(SessionInfo {
                user: helper.checked_user.clone().or_else(|| report.user.clone()),
                since: at(report.since_ms.or(system_since)),
                source: Some(SOURCE_HELPER.to_owned()),
            }),
        };
    }
    let missing = |user: Option<String>, since_ms: Option<i64>, source: &str| Merged {
        idle: IdleReading {
            seconds: None,
            source: HELPER_MISSING.to_owned(),
        },
        foreground: None,
        session: Some(SessionInfo {
            user,
            since: at(since_ms),
            source: Some(source.to_owned()),
        }),
    };
    match logged_on {
        LoggedOn::Nobody => Merged {
            idle: IdleReading {
                seconds: None,
                source: NO_SESSION.to_owned(),
            },
            foreground: None,
            session: None,
        },
        LoggedOn::User { name, since_ms } => missing(name.clone(), *since_ms, SOURCE_SYSTEM),
        LoggedOn::Unknown => match &helpers.vanished {
            Some(user) => missing(user.clone(), None, SOURCE_HELPER),
            None if !helpers.is_empty() => {
                // Connected but silent for two intervals: as good as gone.
                missing(None, None, SOURCE_HELPER)
            }
            None => {
                let (idle, foreground) = own();
                Merged {
                    idle,
                    foreground,
                    session: None,
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_AGE: Duration = Duration::from_secs(10);

    fn report(idle: f64, active: bool) -> SessionReport {
        SessionReport {
            idle_seconds: Some(idle),
            idle_source: "x11".to_owned(),
            foreground_pid: Some(42),
            user: Some("claimed".to_owned()),
            since_ms: Some(1_000),
            active,
            ..SessionReport::default()
        }
    }

    fn own() -> (IdleReading, Option<Foreground>) {
        (
            IdleReading {
                seconds: Some(7.0),
                source: "own".to_owned(),
            },
            None,
        )
    }

    #[test]
    fn the_active_sessions_helper_wins_with_the_checked_user() {
        let t0 = Instant::now();
        let mut helpers = Helpers::default();
        helpers.report(1, report(300.0, false), Some("bo".to_owned()), t0);
        helpers.report(2, report(2.0, true), Some("ana".to_owned()), t0);
        let m = merge(&helpers, t0, MAX_AGE, &LoggedOn::Unknown, own);
        assert_eq!(m.idle.seconds, Some(2.0));
        assert_eq!(m.idle.source, "x11");
        assert_eq!(m.foreground.unwrap().pid, 42);
        let session = m.session.unwrap();
        assert_eq!(session.user.as_deref(), Some("ana"), "not what it claimed");
        assert_eq!(session.source.as_deref(), Some(SOURCE_HELPER));
        assert_eq!(session.since, Some(CapturedAt(1_000)));
    }

    #[test]
    fn nobody_logged_on_is_no_session() {
        let m = merge(
            &Helpers::default(),
            Instant::now(),
            MAX_AGE,
            &LoggedOn::Nobody,
            own,
        );
        assert_eq!(m.idle.source, NO_SESSION);
        assert_eq!(m.idle.seconds, None);
        assert_eq!(m.session, None);
    }

    #[test]
    fn a_user_without_a_fresh_helper_is_helper_missing() {
        let t0 = Instant::now();
        let mut helpers = Helpers::default();
        helpers.report(1, report(2.0, true), Some("ana".to_owned()), t0);
        let logged = LoggedOn::User {
            name: Some("ana".to_owned()),
            since_ms: Some(5),
        };
        let later = t0 + MAX_AGE + Duration::from_secs(1);
        let m = merge(&helpers, later, MAX_AGE, &logged, own);
        assert_eq!(m.idle.source, HELPER_MISSING);
        assert_eq!(m.session.unwrap().source.as_deref(), Some(SOURCE_SYSTEM));
    }

    #[test]
    fn without_a_system_answer_a_vanished_helper_is_missing_and_a_goodbye_is_not() {
        let t0 = Instant::now();
        let mut helpers = Helpers::default();
        // Never a helper: the service's own readings, as a standalone agent.
        let m = merge(&helpers, t0, MAX_AGE, &LoggedOn::Unknown, own);
        assert_eq!(m.idle.source, "own");
        helpers.report(1, report(2.0, true), Some("ana".to_owned()), t0);
        helpers.closed(1);
        let m = merge(&helpers, t0, MAX_AGE, &LoggedOn::Unknown, own);
        assert_eq!(m.idle.source, HELPER_MISSING);
        assert_eq!(m.session.unwrap().user.as_deref(), Some("ana"));
        helpers.report(2, report(2.0, true), Some("ana".to_owned()), t0);
        helpers.report(2, SessionReport::bye(), None, t0);
        helpers.closed(2);
        let m = merge(&helpers, t0, MAX_AGE, &LoggedOn::Unknown, own);
        assert_eq!(m.idle.source, "own", "a logoff leaves no tamper signal");
    }
}
