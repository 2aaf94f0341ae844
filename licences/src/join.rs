//! Each checkout the licence server lists, set beside what the agent on that host reports: a
//! seat held on a PC where the app is idle or not running, or on a PC no agent reports, is
//! **orphaned** — paid for and used by no one.

use std::collections::HashMap;

use idlewatch_protocol::WatchedState;
pub use idlewatch_protocol::api::Seen;
use serde::Serialize;

use crate::lmstat::{Checkout, Pool};

/// The name a host is matched by: lower case, without its domain (`LAB-PC07.college.example`
/// and `lab-pc07` are one host). An IP address is kept whole.
#[must_use]
pub fn host_key(name: &str) -> String {
    let name = name.trim().trim_end_matches('.');
    if name.parse::<std::net::IpAddr>().is_ok() {
        return name.to_owned();
    }
    name.split('.').next().unwrap_or(name).to_ascii_lowercase()
}

/// What the agent on one host says about the app whose seats are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    /// The app's state there (`None`: the agent does not report the app).
    pub state: Option<WatchedState>,
    /// The user logged on there, when known.
    pub user: Option<String>,
}

/// One checkout with what its PC's agent says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinedCheckout {
    /// The checkout, as the licence server listed it.
    #[serde(flatten)]
    pub checkout: Checkout,
    /// The app's state on its PC.
    pub seen: Seen,
    /// Whether the user logged on at the PC is the checkout's user (case-insensitive, without a
    /// `DOMAIN\` prefix); `None` when the agent does not know who is logged on.
    pub same_user: Option<bool>,
}

fn user_key(name: &str) -> String {
    name.rsplit(['\\', '/'])
        .next()
        .unwrap_or(name)
        .trim()
        .to_lowercase()
}

/// Joins every checkout of `pool` to `agents` (keyed by [`host_key`]).
#[must_use]
pub fn join(pool: &Pool, agents: &HashMap<String, AgentView>) -> Vec<JoinedCheckout> {
    pool.checkouts
        .iter()
        .map(|checkout| {
            let view = agents.get(&host_key(&checkout.host));
            let seen = match view {
                None => Seen::NoAgent,
                Some(v) => match v.state {
                    Some(WatchedState::Interactive | WatchedState::Computing) => Seen::InUse,
                    Some(WatchedState::Idle) => Seen::Idle,
                    Some(WatchedState::NotRunning) => Seen::NotRunning,
                    None => Seen::Unknown,
                },
            };
            let same_user = view
                .and_then(|v| v.user.as_deref())
                .map(|u| user_key(u) == user_key(&checkout.user));
            JoinedCheckout {
                checkout: checkout.clone(),
                seen,
                same_user,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lmstat::parse;

    #[test]
    fn host_names_match_without_case_or_domain() {
        assert_eq!(host_key("LAB-PC07.college.example"), "lab-pc07");
        assert_eq!(host_key("lab-pc07."), "lab-pc07");
        assert_eq!(host_key("10.1.2.3"), "10.1.2.3");
    }

    #[test]
    fn seats_on_idle_absent_or_unseen_pcs_are_orphaned() {
        let status = parse(
            "Users of aa_r:  (Total of 9 licenses issued;  Total of 5 licenses in use)\n\
             \x20 jdoe LAB-PC01.college.example LAB-PC01 (v1) (lic1/1055 1), start Mon 11/30 9:05\n\
             \x20 ana lab-pc02 lab-pc02 (v1) (lic1/1055 2), start Mon 11/30 9:06\n\
             \x20 bo LAB-PC03 LAB-PC03 (v1) (lic1/1055 3), start Mon 11/30 9:07\n\
             \x20 cy LAB-PC04 LAB-PC04 (v1) (lic1/1055 4), start Mon 11/30 9:08\n\
             \x20 dee LAB-PC05 LAB-PC05 (v1) (lic1/1055 5), start Mon 11/30 9:09\n",
        );
        let view = |state, user: Option<&str>| AgentView {
            state,
            user: user.map(str::to_owned),
        };
        let agents = HashMap::from([
            (
                "lab-pc01".to_owned(),
                view(Some(WatchedState::Interactive), Some("COLLEGE\\JDoe")),
            ),
            (
                "lab-pc02".to_owned(),
                view(Some(WatchedState::Idle), Some("bo")),
            ),
            (
                "lab-pc03".to_owned(),
                view(Some(WatchedState::NotRunning), None),
            ),
            ("lab-pc04".to_owned(), view(None, None)),
        ]);
        let joined = join(&status.pools[0], &agents);
        let seen: Vec<(Seen, bool, Option<bool>)> = joined
            .iter()
            .map(|j| (j.seen, j.seen.is_orphaned(), j.same_user))
            .collect();
        assert_eq!(
            seen,
            [
                (Seen::InUse, false, Some(true)),
                (Seen::Idle, true, Some(false)),
                (Seen::NotRunning, true, None),
                (Seen::Unknown, false, None),
                (Seen::NoAgent, true, None),
            ]
        );
    }
}
