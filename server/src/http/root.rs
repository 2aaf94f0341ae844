//! `GET /` (the Python original's status answer, or the dashboard for a browser) and
//! `GET /healthz`. With authentication on, `/` lists hosts only for a viewer or admin token (a
//! token scoped to labs: their hosts);
//! without one it answers the same shape with no agents.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::access::Viewer;
use crate::auth::presented::token_from_parts;
use crate::registry::HostView;
use crate::state::AppState;
use idlewatch_protocol::LEGACY_APPS;
use idlewatch_protocol::time::epoch_secs;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/healthz", get(healthz))
}

async fn root(State(state): State<AppState>, parts: Parts) -> Response {
    let (headers, uri) = (&parts.headers, &parts.uri);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        // Keep `?token=` so a bookmarked link still signs the dashboard in.
        let target = match uri.query() {
            Some(q) => format!("/dashboard?{q}"),
            None => "/dashboard".to_owned(),
        };
        return Redirect::to(&target).into_response();
    }
    // The seed's shape for everyone, but hosts' activity only for those who may read it
    // (everyone in open mode): a health probe without a token learns nothing about users.
    // A token scoped to labs lists only their hosts.
    let token = token_from_parts(&parts);
    let reader = crate::auth::caller_of(&state.auth, &state.tokens, token.as_deref())
        .ok()
        .filter(|caller| caller.role.can_view())
        .map(|caller| Viewer {
            scope: caller.scope,
        });
    let agents: Map<String, Value> = match reader {
        Some(reader) => state
            .registry
            .views(SystemTime::now())
            .iter()
            .filter(|view| reader.sees(&state.groups, &view.host))
            .map(|view| (view.host.clone(), seed_summary(view)))
            .collect(),
        None => Map::new(),
    };
    Json(json!({ "status": "ok", "agents": agents })).into_response()
}

/// The per-host summary the Python original's `GET /` gave: `ts` (epoch seconds of the last
/// report) and the latest values, with the legacy `rocky_*` / `ansys_*` flags.
fn seed_summary(view: &HostView) -> Value {
    let mut out = Map::new();
    out.insert(
        "ts".into(),
        json!(
            view.latest_received
                .map_or_else(|| epoch_secs(view.last_seen), epoch_secs)
        ),
    );
    let Some(latest) = &view.latest else {
        return Value::Object(out);
    };
    let f = latest.fields();
    out.insert("idle_seconds".into(), json!(f.idle()));
    out.insert("user_active".into(), json!(f.user_active));
    out.insert("cpu_percent".into(), json!(f.cpu_percent));
    out.insert("memory_percent".into(), json!(f.memory_percent));
    out.insert("foreground_process".into(), json!(f.foreground_process));
    for what in ["running", "in_focus", "user_active"] {
        for app in LEGACY_APPS {
            out.insert(format!("{app}_{what}"), json!(f.legacy_flag(app, what)));
        }
    }
    Value::Object(out)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
