//! Each licence server's latest answer as the API shows it: the counted features' seats, and
//! every checkout joined to the agent on its PC (online hosts only: a PC that is off cannot be
//! using the seat it holds).

use std::collections::HashMap;

use idlewatch_licences::join::{AgentView, host_key, join};
use idlewatch_licences::lmstat::Pool;
use idlewatch_protocol::api::{
    CheckoutView, LicenceServerView, LicenceServersAnswer, PoolView, Seen,
};
use idlewatch_protocol::time::rfc3339_ms;
use jiff::tz::TimeZone;

use super::{LicenceServers, Poll};
use crate::config::LicenceServerConfig;
use crate::registry::HostView;

/// What the agents of the online hosts report for `app` (matched without case), by
/// [`host_key`].
fn agents_for(app: &str, hosts: &[HostView]) -> HashMap<String, AgentView> {
    hosts
        .iter()
        .filter(|h| h.online)
        .filter_map(|h| {
            let fields = h.latest.as_ref()?.fields();
            let state = fields.watched.as_ref().and_then(|watched| {
                watched
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(app))
                    .and_then(|(_, w)| w.effective_state())
            });
            let user = fields.session.as_ref().and_then(|s| s.user.clone());
            Some((host_key(&h.host), AgentView { state, user }))
        })
        .collect()
}

/// The answer of `GET /api/v1/licences/servers`, with start times read in `time_zone` (the
/// licence server's, taken to be the reports') and placed before the poll that read them.
#[must_use]
pub fn answer(
    servers: &LicenceServers,
    hosts: &[HostView],
    time_zone: &TimeZone,
) -> LicenceServersAnswer {
    LicenceServersAnswer {
        servers: servers
            .latest()
            .into_iter()
            .map(|(config, poll)| server_view(&config, poll.as_ref(), hosts, time_zone))
            .collect(),
    }
}

/// Narrows `answer` to the checkouts on hosts `keep` admits (a token scoped to labs), with the
/// seats seen in use and orphaned counted over those only. The servers' own totals (issued,
/// in use) stay: they are the licence server's, shared by every lab.
pub fn only(answer: &mut LicenceServersAnswer, keep: impl Fn(&str) -> bool) {
    for server in &mut answer.servers {
        server.seen_in_use = 0;
        server.orphaned = 0;
        for pool in &mut server.pools {
            pool.checkouts.retain(|c| keep(&c.host));
            for c in &pool.checkouts {
                if c.seen == Seen::InUse {
                    server.seen_in_use = server.seen_in_use.saturating_add(c.licences);
                }
                if c.orphaned {
                    server.orphaned = server.orphaned.saturating_add(c.licences);
                }
            }
        }
    }
}

fn counted<'a>(
    config: &'a LicenceServerConfig,
    pools: &'a [Pool],
) -> impl Iterator<Item = &'a Pool> {
    pools
        .iter()
        .filter(|p| config.features.is_empty() || config.features.contains(&p.feature))
}

/// A server's seats issued and in use over its counted features, as its answer says
/// (saturating: the counts are the licence server's text).
#[must_use]
pub fn totals(
    config: &LicenceServerConfig,
    status: &idlewatch_licences::lmstat::Status,
) -> (u32, u32) {
    counted(config, &status.pools).fold((0u32, 0u32), |(issued, in_use), pool| {
        (
            issued.saturating_add(pool.issued.unwrap_or(0)),
            in_use.saturating_add(pool.in_use.unwrap_or(0)),
        )
    })
}

fn server_view(
    config: &LicenceServerConfig,
    poll: Option<&Poll>,
    hosts: &[HostView],
    time_zone: &TimeZone,
) -> LicenceServerView {
    let mut view = LicenceServerView {
        name: config.name.clone(),
        app: config.app.clone(),
        polled_at: poll.map(|p| rfc3339_ms(p.at_ms)),
        took_ms: poll.map(|p| p.took_ms),
        error: None,
        problems: Vec::new(),
        issued: 0,
        in_use: 0,
        seen_in_use: 0,
        orphaned: 0,
        pools: Vec::new(),
    };
    let status = match poll.map(|p| &p.outcome) {
        None => return view,
        Some(Err(e)) => {
            view.error = Some(e.clone());
            return view;
        }
        Some(Ok(status)) => status,
    };
    // lmstat prints no year: a start is placed before the poll that read it.
    let polled = poll.map_or(0, |p| p.at_ms);
    let polled_at = jiff::Timestamp::from_millisecond(polled)
        .unwrap_or_default()
        .to_zoned_datetime(time_zone.clone());
    view.problems.clone_from(&status.problems);
    (view.issued, view.in_use) = totals(config, status);
    let agents = agents_for(&config.app, hosts);
    for pool in counted(config, &status.pools) {
        let checkouts: Vec<CheckoutView> = join(pool, &agents)
            .into_iter()
            .map(|j| CheckoutView {
                since: j
                    .checkout
                    .start
                    .and_then(|s| s.at(&polled_at))
                    .map(|t| format!("{t:.3}")),
                user: j.checkout.user,
                host: j.checkout.host,
                version: j.checkout.version,
                licences: j.checkout.licences,
                seen: j.seen,
                orphaned: j.seen.is_orphaned(),
                same_user: j.same_user,
            })
            .collect();
        for c in &checkouts {
            if c.seen == Seen::InUse {
                view.seen_in_use = view.seen_in_use.saturating_add(c.licences);
            }
            if c.orphaned {
                view.orphaned = view.orphaned.saturating_add(c.licences);
            }
        }
        view.pools.push(PoolView {
            feature: pool.feature.clone(),
            issued: pool.issued,
            in_use: pool.in_use,
            uncounted: pool.uncounted,
            error: pool.error.clone(),
            queued: pool
                .queued
                .iter()
                .fold(0, |n, q| n.saturating_add(q.licences)),
            reserved: pool
                .reservations
                .iter()
                .fold(0, |n, r| n.saturating_add(r.count)),
            checkouts,
        });
    }
    view
}
