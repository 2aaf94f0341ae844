//! `GET /api/v1/hosts/{host}/timeline?from=&to=` (viewer): a host's activity as bands
//! (`active`, `idle`, `offline`) and each watched app's states, for the dashboard's detail view.
//! Built from the stored summaries with the reports' coverage rule (from the minute rows where
//! the range has aged: each minute's active, idle and offline time in that order); the range defaults to the
//! last 24 hours and may span at most 31 days. Times are epoch milliseconds.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::Timeline;

use super::access::Viewer;
use super::error::ApiError;
use super::selection;
use crate::report::minutes;
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

/// The longest range one timeline covers (its points are held in memory).
pub const MAX_SPAN_MS: i64 = 31 * DAY_MS;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hosts/{host}/timeline", get(host_timeline))
}

async fn host_timeline(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(host): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Timeline>, ApiError> {
    viewer.may_read(&state.groups, &host)?;
    let (from_ms, to_ms) = selection::time_range(&pairs, DAY_MS)?;
    if to_ms - from_ms > MAX_SPAN_MS {
        return Err(super::bad(format!(
            "a timeline covers at most {} days; narrow `from`/`to`",
            MAX_SPAN_MS / DAY_MS
        )));
    }
    let rules = state.config.report.rules();
    let store = state.store.clone();
    let wanted = host.clone();
    let read = super::blocking("timeline", move || {
        let known = store.host_names()?.contains(&wanted);
        let bands = minutes::host_timeline(&store, &wanted, from_ms, to_ms, rules.interval_ms)?;
        Ok::<_, idlewatch_store::Error>((known, bands))
    })
    .await?;
    let (known, (bands, apps)) = read;
    if !known && !state.registry.knows(&host) {
        return Err(ApiError::not_found(format!(
            "no host named {host:?} is known"
        )));
    }
    Ok(Json(Timeline {
        host,
        from: from_ms,
        to: to_ms,
        bands,
        apps,
    }))
}
