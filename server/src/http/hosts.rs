//! `GET /api/v1/hosts`: every known host with its online state and latest figures, and the PCs
//! the directory lists that never reported (`never_seen`); a token scoped to labs gets only
//! their hosts.

use std::time::SystemTime;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::{HostSummary, HostsAnswer};

use super::access::Viewer;
use crate::directory::{self, KnownHost};
use crate::groups::HostGroups;
use crate::registry::HostView;
use crate::state::AppState;
use idlewatch_protocol::time::{rfc3339, rfc3339_ms};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hosts", get(hosts))
}

/// The group of `host` and where it came from.
fn group(groups: &HostGroups, host: &str) -> (Option<String>, Option<String>) {
    groups.with_source(host).map_or((None, None), |(g, s)| {
        (Some(g), Some(s.as_str().to_owned()))
    })
}

/// A host's summary from its live view.
fn summary(view: &HostView, groups: &HostGroups, listed: Option<&KnownHost>) -> HostSummary {
    let latest = view.latest.as_deref().map(|s| s.fields());
    let (group, group_source) = group(groups, &view.host);
    HostSummary {
        host: view.host.clone(),
        online: view.online,
        agents: view.agents,
        first_seen: Some(rfc3339(view.first_seen)),
        last_seen: Some(rfc3339(view.last_seen)),
        never_seen: false,
        listed_by: listed.map(|k| k.source.as_str().to_owned()),
        interval_seconds: view.interval.as_secs_f64(),
        received_at: view.latest_received.map(rfc3339),
        captured_at: latest
            .and_then(|f| f.captured_at)
            .map(|c| rfc3339_ms(c.epoch_ms())),
        group,
        group_source,
        os: latest.and_then(|f| f.os.clone()),
        agent_version: latest.and_then(|f| f.agent_version.clone()),
        idle_seconds: latest.and_then(|f| f.idle()),
        idle_source: latest.and_then(|f| f.idle_source.clone()),
        user_active: latest.and_then(|f| f.user_active),
        session: latest.and_then(|f| f.session.clone()),
        cpu_percent: latest.and_then(|f| f.cpu_percent),
        memory_percent: latest.and_then(|f| f.memory_percent),
        foreground_process: latest.and_then(|f| f.foreground_process.clone()),
        process_count: latest.and_then(|f| f.processes()),
        watched: latest
            .map(|f| f.watched_apps().into_iter().collect())
            .unwrap_or_default(),
    }
}

/// A listed PC that never reported.
fn never_seen(known: &KnownHost, groups: &HostGroups) -> HostSummary {
    let (group, group_source) = group(groups, &known.host);
    HostSummary {
        host: known.host.clone(),
        online: false,
        agents: 0,
        first_seen: None,
        last_seen: None,
        never_seen: true,
        listed_by: Some(known.source.as_str().to_owned()),
        interval_seconds: 0.0,
        received_at: None,
        captured_at: None,
        group,
        group_source,
        os: None,
        agent_version: None,
        idle_seconds: None,
        idle_source: None,
        user_active: None,
        session: None,
        cpu_percent: None,
        memory_percent: None,
        foreground_process: None,
        process_count: None,
        watched: indexmap::IndexMap::new(),
    }
}

async fn hosts(viewer: Viewer, State(state): State<AppState>) -> Json<HostsAnswer> {
    let views = state.registry.views(SystemTime::now());
    let listed = state.directory.all();
    let mut hosts: Vec<HostSummary> = views
        .iter()
        .map(|v| summary(v, &state.groups, listed.get(&directory::key(&v.host))))
        .collect();
    hosts.extend(
        directory::never_seen(&listed, views.iter().map(|v| &v.host))
            .into_iter()
            .map(|known| never_seen(known, &state.groups)),
    );
    hosts.retain(|h| viewer.sees_group(|| h.group.clone()));
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    let online = hosts.iter().filter(|h| h.online).count();
    Json(HostsAnswer {
        online,
        offline: hosts.len() - online,
        never_seen: hosts.iter().filter(|h| h.never_seen).count(),
        hosts,
    })
}
