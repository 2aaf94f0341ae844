//! `GET /metrics`: Prometheus text format (see [`crate::metrics`]); viewer token unless
//! `auth.public_metrics` (never a token scoped to labs: the figures are the whole server's).

use std::time::SystemTime;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::access::Viewer;
use crate::metrics::{CONTENT_TYPE, HostCounts, Readings};
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    if !state.config.auth.public_metrics {
        let (mut parts, _) = request.into_parts();
        match Viewer::from_request_parts(&mut parts, &state).await {
            Err(e) => return e.into_response(),
            Ok(viewer) => {
                if let Err(e) = viewer.whole_server("/metrics") {
                    return e.into_response();
                }
            }
        }
    }
    let views = state.registry.views(SystemTime::now());
    let online = views.iter().filter(|v| v.online).count();
    let hosts = HostCounts {
        online,
        offline: views.len() - online,
    };
    let text = state.metrics.render(Readings {
        hosts,
        store_bytes: state.store.local().file_size(),
        disk_free_bytes: state.disk_floor.free_bytes(),
        uptime_secs: state.started.elapsed().as_secs_f64(),
    });
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}
