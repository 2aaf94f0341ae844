//! Role-checking extractors for routes: [`Viewer`] (viewer or admin token) and [`Admin`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::auth::Role;
use crate::auth::presented::token_from_parts;
use crate::state::AppState;

/// The caller's role if it passes `allowed`: 401 without a valid token, 403 with `denied`
/// (given the role's name) otherwise. Both count in `idlewatch_http_refused_total`.
fn require(
    parts: &Parts,
    state: &AppState,
    allowed: fn(Role) -> bool,
    denied: fn(&str) -> String,
) -> Result<Role, ApiError> {
    let token = token_from_parts(parts);
    let checked = match crate::auth::role_of(&state.auth, &state.agent_tokens, token.as_deref()) {
        Err(refusal) => Err(ApiError::unauthorized(refusal.to_string())),
        Ok((role, _)) if allowed(role) => Ok(role),
        Ok((role, _)) => Err(ApiError::forbidden(denied(role.as_str()))),
    };
    if checked.is_err() {
        state.metrics.http_refused.inc();
    }
    checked
}

/// The caller holds the viewer or admin token.
#[derive(Debug, Clone, Copy)]
pub struct Viewer;

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, Role::can_view, |role| {
            format!("the {role} token may not read; use the viewer or admin token")
        })
        .map(|_| Self)
    }
}

/// The caller holds the admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, Role::can_admin, |role| {
            format!("the {role} token may not do this; exports need the admin token")
        })
        .map(|_| Self)
    }
}

/// The caller may read the seat view: anyone when `[seats] public = true` and no token is given
/// (a token given is checked all the same), else a viewer or admin.
#[derive(Debug, Clone, Copy)]
pub struct SeatReader;

impl FromRequestParts<AppState> for SeatReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config.seats.public && token_from_parts(parts).is_none() {
            return Ok(Self);
        }
        require(parts, state, Role::can_view, |role| {
            format!("the {role} token may not read the seat view; use the viewer token")
        })
        .map_err(|e| {
            if state.config.seats.public {
                e
            } else {
                e.hint(" (the seat view is not public: give the viewer token, or set [seats] public = true on the server)")
            }
        })
        .map(|_| Self)
    }
}
