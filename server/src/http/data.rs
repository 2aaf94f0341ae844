//! `GET /data`: every host's latest snapshot exactly as its agent sent it (a token scoped to
//! labs: their hosts').

use std::time::SystemTime;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::access::Viewer;
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/data", get(data))
}

async fn data(viewer: Viewer, State(state): State<AppState>) -> impl IntoResponse {
    // Written by hand from the raw texts: re-serialising through a JSON value would cost a parse
    // per snapshot and could change number spelling.
    let mut views = state.registry.views(SystemTime::now());
    views.retain(|v| viewer.sees(&state.groups, &v.host));
    let mut body = String::with_capacity(
        2 + views
            .iter()
            .map(|v| v.host.len() + 4 + v.latest.as_ref().map_or(4, |s| s.json_len()))
            .sum::<usize>(),
    );
    body.push('{');
    let mut first = true;
    for view in &views {
        let Some(latest) = &view.latest else { continue };
        if !first {
            body.push(',');
        }
        first = false;
        body.push_str(&serde_json::to_string(&view.host).unwrap_or_default());
        body.push(':');
        body.push_str(&latest.json());
    }
    body.push('}');
    ([(header::CONTENT_TYPE, "application/json")], body)
}
