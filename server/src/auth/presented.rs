//! Where callers present their token: `Authorization: Bearer <token>` or `?token=<token>`
//! (browser links). Shared by the HTTP routes and the Socket.IO handshake.

use axum::http::request::Parts;
use serde::Deserialize;

/// The token presented with an HTTP request or Socket.IO handshake, from the header or query.
pub fn token_from_parts(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION)
        && let Ok(value) = value.to_str()
        && let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
    {
        return Some(token.trim().to_owned());
    }
    #[derive(Deserialize)]
    struct TokenQuery {
        token: Option<String>,
    }
    axum::extract::Query::<TokenQuery>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|q| q.0.token)
}
