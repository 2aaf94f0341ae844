//! The free-seat view's data, public when `[seats] public = true` (else viewer; a token scoped
//! to labs sees only those, also when the view is public):
//!
//! - `GET /api/v1/seats[?group=G…]`: per lab, PCs free / in use / offline now, each PC's name,
//!   state and installed apps (never users, processes or windows), and its room;
//! - `GET /api/v1/seats/maps/{group}`: a lab's SVG floor plan (checked at start to only draw).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::SeatsView;

use super::access::SeatReader;
use super::error::ApiError;
use crate::auth::Scope;
use crate::auth::scope::group_key;
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/seats", get(seats))
        .route("/api/v1/seats/maps/{group}", get(plan))
}

/// The `group` parameters, lower-cased, within `scope`; `None` when there are none and no
/// scope (every lab).
fn labs(pairs: &[(String, String)], scope: Option<&Scope>) -> Option<Vec<String>> {
    let groups: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "group")
        .map(|(_, v)| group_key(v.trim()))
        .collect();
    crate::seats::live::within(scope, (!groups.is_empty()).then_some(groups))
}

async fn seats(
    reader: SeatReader,
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<SeatsView>, ApiError> {
    if let Some((key, _)) = pairs.iter().find(|(k, _)| k != "group") {
        return Err(super::bad(format!(
            "unknown parameter `{key}`; the seat view takes only `group` (repeatable)"
        )));
    }
    let seats = state
        .seats
        .board
        .current(&state.registry, &state.groups, &state.directory.all());
    Ok(Json(state.seats.board.view(
        &seats,
        labs(&pairs, reader.scope.as_deref()).as_deref(),
    )))
}

async fn plan(
    reader: SeatReader,
    State(state): State<AppState>,
    Path(group): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let in_scope = reader.scope.as_ref().is_none_or(|s| s.admits(Some(&group)));
    let svg = state
        .seats
        .board
        .plan(&group)
        .filter(|_| in_scope)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no floor plan for group {group:?}; plans are set with [[seats.maps]] svg = \"…\""
            ))
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Opened on its own, the plan may draw but never run or fetch anything.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        svg.to_owned(),
    ))
}
