//! Role-checking extractors for routes: [`Viewer`] (viewer or admin token) and [`Admin`].

use std::sync::atomic::Ordering::Relaxed;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::auth::Role;
use crate::presented::token_from_parts;
use crate::state::AppState;

fn role_of(parts: &Parts, state: &AppState) -> Result<Role, ApiError> {
    let token = token_from_parts(parts);
    state.auth.role_for(token.as_deref()).map_err(|refusal| {
        state.metrics.http_refused.fetch_add(1, Relaxed);
        ApiError::unauthorized(refusal.to_string())
    })
}

/// The caller holds the viewer or admin token.
#[derive(Debug, Clone, Copy)]
pub struct Viewer;

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let role = role_of(parts, state)?;
        if role.can_view() {
            Ok(Self)
        } else {
            state.metrics.http_refused.fetch_add(1, Relaxed);
            Err(ApiError::forbidden(format!(
                "the {} token may not read; use the viewer or admin token",
                role.as_str()
            )))
        }
    }
}

/// The caller holds the admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let role = role_of(parts, state)?;
        if role.can_admin() {
            Ok(Self)
        } else {
            state.metrics.http_refused.fetch_add(1, Relaxed);
            Err(ApiError::forbidden(format!(
                "the {} token may not do this; exports need the admin token",
                role.as_str()
            )))
        }
    }
}
