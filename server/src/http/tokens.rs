//! Issued tokens over HTTP (admin): `POST /api/v1/tokens` with `{"host": "pc-07"}` issues a
//! per-host agent token, with `{"viewer": true, "groups": ["Lab CTI"]}` a viewer token that
//! reads only those labs (the token is in this answer only); `GET /api/v1/tokens` lists them
//! (never the tokens); `DELETE /api/v1/tokens/{id}` revokes one at once, on open connections
//! too.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use idlewatch_protocol::api::{
    IssueToken, IssuedToken, MAX_TOKEN_GROUPS, Revoked, TokenInfo, TokenList,
};
use idlewatch_store::Holder;
use tracing::info;

use super::access::Admin;
use super::bad;
use super::error::ApiError;
use crate::auth::scope::group_key;
use crate::state::AppState;
use idlewatch_protocol::time::{now_ms, rfc3339_ms};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(issue))
        .route("/api/v1/tokens/{id}", delete(revoke))
}

/// The longest group name a viewer token may name.
const MAX_GROUP_BYTES: usize = 256;

/// Who the asked token is for, checked.
fn holder(state: &AppState, asked: IssueToken) -> Result<Holder, ApiError> {
    match (asked.host, asked.viewer) {
        (Some(_), true) => Err(bad(
            "a token is for one host (`host`) or a viewer of groups (`viewer`, `groups`), not both",
        )),
        (Some(host), false) => {
            let host = host.trim().to_owned();
            let max = idlewatch_protocol::limits::MAX_HOST_CHARS;
            if host.is_empty() {
                return Err(bad("`host` is empty: send {\"host\": \"pc-07\"}"));
            }
            if host.chars().count() > max || host.chars().any(char::is_control) {
                return Err(bad(format!(
                    "`host` must be at most {max} characters without control characters"
                )));
            }
            if !asked.groups.is_empty() {
                return Err(bad("`groups` is for viewer tokens (`\"viewer\": true`)"));
            }
            Ok(Holder::Host(host))
        }
        (None, true) => viewer_groups(state, asked.groups).map(Holder::Groups),
        (None, false) => Err(bad(
            "say who the token is for: {\"host\": \"pc-07\"} (an agent) or {\"viewer\": true, \
             \"groups\": [\"Lab CTI\"]} (a viewer of those labs)",
        )),
    }
}

/// A viewer token's groups: one to [`MAX_TOKEN_GROUPS`], each a group the server knows now
/// (a misspelt lab would show nothing, silently), in the spelling the server uses.
fn viewer_groups(state: &AppState, asked: Vec<String>) -> Result<Vec<String>, ApiError> {
    if asked.is_empty() {
        return Err(bad(
            "a viewer token needs `groups`: the labs it may read, e.g. [\"Lab CTI\"]",
        ));
    }
    if asked.len() > MAX_TOKEN_GROUPS {
        return Err(bad(format!(
            "a viewer token reads at most {MAX_TOKEN_GROUPS} groups"
        )));
    }
    let known = state.groups.names();
    let mut groups: Vec<String> = Vec::with_capacity(asked.len());
    for group in asked {
        let group = group.trim();
        if group.is_empty() || group.len() > MAX_GROUP_BYTES || group.chars().any(char::is_control)
        {
            return Err(bad(format!(
                "group {group:?}: a name of 1 to {MAX_GROUP_BYTES} bytes without control \
                 characters"
            )));
        }
        let Some(name) = known.iter().find(|k| group_key(k) == group_key(group)) else {
            let listed: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(bad(format!(
                "no host is in group {group:?}; the groups now are: {} (from [report.groups], \
                 [directory] and the agents)",
                if listed.is_empty() {
                    "none".to_owned()
                } else {
                    listed.join(", ")
                }
            )));
        };
        if !groups.iter().any(|g| g == name) {
            groups.push(name.clone());
        }
    }
    Ok(groups)
}

fn split(holder: Holder) -> (Option<String>, Vec<String>) {
    match holder {
        Holder::Host(host) => (Some(host), Vec::new()),
        Holder::Groups(groups) => (None, groups),
    }
}

async fn issue(
    _: Admin,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let asked: IssueToken = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "the body must be JSON like {{\"host\": \"pc-07\"}} or {{\"viewer\": true, \
             \"groups\": [\"Lab CTI\"]}} ({e})"
        ))
    })?;
    let holder = holder(&state, asked)?;
    let worker = state.clone();
    let issued = super::blocking("issuing the token", move || {
        worker.tokens.issue(&worker.store, holder, now_ms())
    })
    .await?;
    let (host, groups) = split(issued.holder);
    info!(id = issued.id, ?host, ?groups, "token issued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            id: issued.id,
            host,
            groups,
            token: issued.token,
            created_at: rfc3339_ms(issued.created_ms),
        }),
    ))
}

async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<TokenList>, ApiError> {
    let store = state.store.clone();
    let tokens = super::blocking("listing tokens", move || {
        idlewatch_store::TokenStore::tokens(&store)
    })
    .await?;
    Ok(Json(TokenList {
        tokens: tokens
            .into_iter()
            .map(|t| {
                let (host, groups) = split(t.holder);
                TokenInfo {
                    id: t.id,
                    host,
                    groups,
                    created_at: rfc3339_ms(t.created_ms),
                }
            })
            .collect(),
    }))
}

async fn revoke(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        bad(format!(
            "{id:?} is not a token id; `idlewatch-admin tokens list` shows them"
        ))
    })?;
    let worker = state.clone();
    let existed = super::blocking("revoking the token", move || {
        worker.tokens.revoke(&worker.store, id)
    })
    .await?;
    if !existed {
        return Err(ApiError::not_found(format!("no token has id {id}")));
    }
    info!(id, "token revoked");
    Ok(Json(Revoked { revoked: id }))
}
