//! `GET /api/v1/hosts`: every known host with its online state and latest figures.

use std::time::SystemTime;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};

use super::access::Viewer;
use super::timefmt::{rfc3339, rfc3339_ms};
use crate::registry::HostView;
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hosts", get(hosts))
}

/// The answer of `GET /api/v1/hosts`.
#[derive(Debug, Serialize)]
pub struct HostsAnswer {
    /// Hosts online now.
    pub online: usize,
    /// Hosts known but offline.
    pub offline: usize,
    /// Every host, sorted by name.
    pub hosts: Vec<HostSummary>,
}

/// One host in `GET /api/v1/hosts`.
#[derive(Debug, Serialize)]
pub struct HostSummary {
    host: String,
    online: bool,
    agents: u32,
    first_seen: String,
    last_seen: String,
    interval_seconds: f64,
    received_at: Option<String>,
    captured_at: Option<String>,
    group: Option<String>,
    os: Option<String>,
    agent_version: Option<String>,
    idle_seconds: Option<f64>,
    idle_source: Option<String>,
    user_active: Option<bool>,
    session: Option<idlewatch_protocol::SessionInfo>,
    cpu_percent: Option<f64>,
    memory_percent: Option<f64>,
    foreground_process: Option<String>,
    process_count: Option<usize>,
    watched: Map<String, Value>,
}

impl HostSummary {
    fn of(view: &HostView, group: Option<String>) -> Self {
        let latest = view.latest.as_deref().map(|s| s.fields());
        Self {
            host: view.host.clone(),
            online: view.online,
            agents: view.agents,
            first_seen: rfc3339(view.first_seen),
            last_seen: rfc3339(view.last_seen),
            interval_seconds: view.interval.as_secs_f64(),
            received_at: view.latest_received.map(rfc3339),
            captured_at: latest
                .and_then(|f| f.captured_at)
                .map(|c| rfc3339_ms(i128::from(c.epoch_ms()))),
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
                .map(|f| {
                    f.watched_apps()
                        .into_iter()
                        .map(|(name, app)| (name, serde_json::to_value(app).unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default(),
        }
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
            .map(|v| HostSummary::of(v, state.host_group(&v.host)))
            .collect(),
    })
}
