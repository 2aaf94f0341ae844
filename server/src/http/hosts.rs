//! `GET /api/v1/hosts`: every known host with its online state and latest figures.

use std::time::SystemTime;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::{HostSummary, HostsAnswer};

use super::access::Viewer;
use crate::registry::HostView;
use crate::state::AppState;
use idlewatch_protocol::time::{rfc3339, rfc3339_ms};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hosts", get(hosts))
}

/// A host's summary from its live view.
fn summary(view: &HostView, group: Option<String>) -> HostSummary {
    let latest = view.latest.as_deref().map(|s| s.fields());
    HostSummary {
        host: view.host.clone(),
        online: view.online,
        agents: view.agents,
        first_seen: rfc3339(view.first_seen),
        last_seen: rfc3339(view.last_seen),
        interval_seconds: view.interval.as_secs_f64(),
        received_at: view.latest_received.map(rfc3339),
        captured_at: latest
            .and_then(|f| f.captured_at)
            .map(|c| rfc3339_ms(c.epoch_ms())),
        group,
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

async fn hosts(_: Viewer, State(state): State<AppState>) -> Json<HostsAnswer> {
    let views = state.registry.views(SystemTime::now());
    let online = views.iter().filter(|v| v.online).count();
    Json(HostsAnswer {
        online,
        offline: views.len() - online,
        hosts: views
            .iter()
            .map(|v| summary(v, state.groups.of(&v.host)))
            .collect(),
    })
}
