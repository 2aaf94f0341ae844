//! `GET /api/v1/licences/servers` (viewer): each licence server's latest answer, its seats
//! beside what the agents report (see [`crate::licences::view`]).

use std::time::SystemTime;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::LicenceServersAnswer;

use super::access::Viewer;
use crate::licences::view;
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/licences/servers", get(servers))
}

async fn servers(_: Viewer, State(state): State<AppState>) -> Json<LicenceServersAnswer> {
    let hosts = state.registry.views(SystemTime::now());
    let time_zone = state.config.report.rules().time_zone;
    Json(view::answer(&state.licence_servers, &hosts, &time_zone))
}
