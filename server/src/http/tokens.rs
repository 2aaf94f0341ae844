//! Per-host agent tokens over HTTP (admin): `POST /api/v1/tokens` `{"host": "pc-07"}` issues
//! one (the token is in this answer only), `GET /api/v1/tokens` lists them (never the tokens),
//! `DELETE /api/v1/tokens/{id}` revokes one at once, on open connections too.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use idlewatch_protocol::api::{IssuedToken, Revoked, TokenInfo, TokenList};
use serde_json::Value;
use tracing::info;

use super::access::Admin;
use super::bad;
use super::error::ApiError;
use crate::state::AppState;
use idlewatch_protocol::time::{now_ms, rfc3339_ms};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(issue))
        .route("/api/v1/tokens/{id}", delete(revoke))
}

async fn issue(
    _: Admin,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "the body must be JSON like {{\"host\": \"pc-07\"}} ({e})"
        ))
    })?;
    let host = value
        .get("host")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("`host` is missing: send {\"host\": \"pc-07\"}"))?
        .to_owned();
    let max = idlewatch_protocol::limits::MAX_HOST_CHARS;
    if host.chars().count() > max || host.chars().any(char::is_control) {
        return Err(bad(format!(
            "`host` must be at most {max} characters without control characters"
        )));
    }
    let worker = state.clone();
    let issued = super::blocking("issuing the token", move || {
        worker.agent_tokens.issue(&worker.store, &host, now_ms())
    })
    .await?;
    info!(id = issued.id, host = %issued.host, "agent token issued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            id: issued.id,
            host: issued.host,
            token: issued.token,
            created_at: rfc3339_ms(issued.created_ms),
        }),
    ))
}

async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<TokenList>, ApiError> {
    let store = state.store.clone();
    let tokens = super::blocking("listing tokens", move || store.agent_tokens()).await?;
    Ok(Json(TokenList {
        tokens: tokens
            .into_iter()
            .map(|t| TokenInfo {
                id: t.id,
                host: t.host,
                created_at: rfc3339_ms(t.created_ms),
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
        worker.agent_tokens.revoke(&worker.store, id)
    })
    .await?;
    if !existed {
        return Err(ApiError::not_found(format!("no agent token has id {id}")));
    }
    info!(id, "agent token revoked");
    Ok(Json(Revoked { revoked: id }))
}
