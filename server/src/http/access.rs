//! Role-checking extractors for routes: [`Viewer`] (viewer or admin token, or a viewer token
//! scoped to labs, which it carries so the route can narrow its answer), [`Admin`] and
//! [`SeatReader`].

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::auth::presented::token_from_parts;
use crate::auth::{Caller, Role, Scope};
use crate::groups::HostGroups;
use crate::state::AppState;

/// The caller's role if it passes `allowed`: 401 without a valid token, 403 with `denied`
/// (given the role's name) otherwise. Both count in `idlewatch_http_refused_total`.
fn require(
    parts: &Parts,
    state: &AppState,
    allowed: fn(Role) -> bool,
    denied: fn(&str) -> String,
) -> Result<Caller, ApiError> {
    let token = token_from_parts(parts);
    let checked = match crate::auth::caller_of(&state.auth, &state.tokens, token.as_deref()) {
        Err(refusal) => Err(ApiError::unauthorized(refusal.to_string())),
        Ok(caller) if allowed(caller.role) => Ok(caller),
        Ok(caller) => Err(ApiError::forbidden(denied(caller.role.as_str()))),
    };
    if checked.is_err() {
        state.metrics.http_refused.inc();
    }
    checked
}

/// The caller holds the viewer or admin token, or a viewer token scoped to labs.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The labs a scoped token reads (`None`: every lab).
    pub scope: Option<Arc<Scope>>,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, Role::can_view, |role| {
            format!("the {role} token may not read; use the viewer or admin token")
        })
        .map(|caller| Self {
            scope: caller.scope,
        })
    }
}

impl Viewer {
    /// Whether `host` is in the caller's labs (every host is, without a scope).
    #[must_use]
    pub fn sees(&self, groups: &HostGroups, host: &str) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|scope| scope.admits_host(groups, host))
    }

    /// Whether a host whose group `group` gives is in the caller's labs (asked only when
    /// scoped).
    #[must_use]
    pub fn sees_group(&self, group: impl FnOnce() -> Option<String>) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|scope| scope.admits(group().as_deref()))
    }

    /// `Ok` when the caller may read `host`; else the 404 an unknown host gets, so a scoped
    /// token learns nothing of other labs' PCs, not even their names.
    ///
    /// # Errors
    /// 404 for a host outside the caller's labs.
    pub fn may_read(&self, groups: &HostGroups, host: &str) -> Result<(), ApiError> {
        if self.sees(groups, host) {
            Ok(())
        } else {
            Err(ApiError::not_found(format!(
                "no host named {host:?} is known"
            )))
        }
    }

    /// `Ok` for an unscoped viewer; else 403 naming `what` (about the whole server, which a
    /// token scoped to labs may not read).
    ///
    /// # Errors
    /// 403 for a scoped token.
    pub fn whole_server(&self, what: &str) -> Result<(), ApiError> {
        match &self.scope {
            None => Ok(()),
            Some(_) => Err(ApiError::forbidden(format!(
                "a token scoped to labs may not read {what}; use the viewer token"
            ))),
        }
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
/// (a token given is checked all the same), else a viewer or admin — a scoped token only its
/// labs.
#[derive(Debug, Clone)]
pub struct SeatReader {
    /// The labs a scoped token reads (`None`: every lab).
    pub scope: Option<Arc<Scope>>,
}

impl FromRequestParts<AppState> for SeatReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config.seats.public && token_from_parts(parts).is_none() {
            return Ok(Self { scope: None });
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
        .map(|caller| Self {
            scope: caller.scope,
        })
    }
}
