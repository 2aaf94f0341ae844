//! `GET /api/v1/alerts?state=firing|resolved&from=&to=` (viewer): the alerts active at some
//! time in `[from, to)` (default: the last 7 days; a firing alert is active until now), newest
//! first. A token scoped to labs gets their hosts' alerts and those of no host (licence
//! servers).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::{Alert, AlertState, AlertsAnswer};
use idlewatch_protocol::time::parse_rfc3339_ms;
use idlewatch_store::RecordStore;

use super::access::Viewer;
use super::error::ApiError;
use super::selection::{self, Pairs};
use super::{bad, blocking};
use crate::state::AppState;

/// The range asked when `from` is not given: this long before `to`.
pub const DEFAULT_SPAN_MS: i64 = 7 * 86_400_000;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/alerts", get(alerts))
}

fn state_filter(pairs: &Pairs) -> Result<Option<AlertState>, ApiError> {
    match pairs
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => Ok(None),
        Some("firing") => Ok(Some(AlertState::Firing)),
        Some("resolved") => Ok(Some(AlertState::Resolved)),
        Some(other) => Err(bad(format!(
            "`state` is `firing` or `resolved`, not `{other}`"
        ))),
    }
}

/// Whether `alert` was active at some time in `[from_ms, to_ms)`.
fn overlaps(alert: &Alert, from_ms: i64, to_ms: i64) -> bool {
    let since = parse_rfc3339_ms(&alert.since).unwrap_or(i64::MIN);
    let until = alert
        .resolved_at
        .as_deref()
        .and_then(|t| parse_rfc3339_ms(t).ok())
        .unwrap_or(i64::MAX);
    since < to_ms && until >= from_ms
}

async fn alerts(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<AlertsAnswer>, ApiError> {
    let wanted = state_filter(&pairs)?;
    let (from_ms, to_ms) = selection::time_range(&pairs, DEFAULT_SPAN_MS)?;
    let store = state.store.clone();
    let mut alerts = blocking("reading the alerts", move || RecordStore::alerts(&store)).await?;
    alerts.retain(|a| {
        wanted.is_none_or(|s| a.state == s)
            && overlaps(a, from_ms, to_ms)
            && viewer
                .scope
                .as_ref()
                .is_none_or(|scope| scope.admits_alert(&state.groups, a))
    });
    alerts.reverse();
    Ok(Json(AlertsAnswer { alerts }))
}
