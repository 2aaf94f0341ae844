//! `GET /api/v1/licences/servers` (viewer): each licence server's latest answer, its seats
//! beside what the agents report (see [`crate::licences::view`]; a token scoped to labs sees
//! the checkouts on their hosts only); and
//! `GET /api/v1/licences/servers/{name}/history?from=&to=` (viewer): its seats issued and in use
//! at each successful poll of the range (default: the last 7 days).

use std::time::SystemTime;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::{LicenceServersAnswer, PeakView, PoolHistory, PoolPollPoint};
use idlewatch_protocol::time::rfc3339_ms;
use idlewatch_store::RecordStore;

use super::access::Viewer;
use super::error::ApiError;
use super::{blocking, selection};
use crate::licences::view;
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/licences/servers", get(servers))
        .route("/api/v1/licences/servers/{name}/history", get(history))
}

async fn servers(viewer: Viewer, State(state): State<AppState>) -> Json<LicenceServersAnswer> {
    let hosts = state.registry.views(SystemTime::now());
    let time_zone = state.config.report.rules().time_zone;
    let mut answer = view::answer(&state.licence_servers, &hosts, &time_zone);
    if viewer.scope.is_some() {
        view::only(&mut answer, |host| viewer.sees(&state.groups, host));
    }
    Json(answer)
}

async fn history(
    _: Viewer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<PoolHistory>, ApiError> {
    let (from_ms, to_ms) = selection::time_range(&pairs, 7 * 86_400_000)?;
    let Some(config) = state
        .config
        .licence_servers
        .iter()
        .find(|c| c.name == name)
        .cloned()
    else {
        return Err(ApiError::not_found(format!(
            "no licence server named {name:?} is configured; GET /api/v1/licences/servers lists them"
        )));
    };
    let app = config.app.clone();
    let store = state.store.clone();
    let points = blocking("reading the licence polls", move || {
        store.licence_polls(&config.name, from_ms, to_ms)
    })
    .await?;
    let peak = points
        .iter()
        .fold(None::<&idlewatch_store::PoolPoint>, |best, p| match best {
            Some(b) if b.in_use >= p.in_use => Some(b),
            _ => Some(p),
        });
    Ok(Json(PoolHistory {
        server: name,
        app,
        from: rfc3339_ms(from_ms),
        to: rfc3339_ms(to_ms),
        peak_in_use: PeakView {
            seats: peak.map_or(0, |p| p.in_use),
            at: peak.filter(|p| p.in_use > 0).map(|p| rfc3339_ms(p.at_ms)),
        },
        points: points
            .iter()
            .map(|p| PoolPollPoint {
                at: rfc3339_ms(p.at_ms),
                issued: p.issued,
                in_use: p.in_use,
            })
            .collect(),
    }))
}
