//! The front door of the Socket.IO endpoint (`/socket.io/`), before the Socket.IO library:
//!
//! - a request without `sid` opens a new Engine.IO session, which anyone may do (the token
//!   only comes with the Socket.IO connect that follows): it is refused with 503 past
//!   `limits.pending_handshakes` sessions waiting for that connect, or past the per-address
//!   connect rate;
//! - a WebSocket upgrade of a session gives the session's drain its connection meter, and a
//!   polling answer adds its body's bytes to its session's drain, for the dashboards' flow
//!   control ([`super::flow`]).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use idlewatch_protocol::ErrorCode;
use serde::Deserialize;
use tracing::debug;

use crate::http::ApiError;
use crate::serve::ConnMeter;
use crate::state::AppState;

/// Where the Socket.IO library answers.
pub const SOCKET_IO_PATH: &str = "/socket.io";

#[derive(Debug, Default, Deserialize)]
struct EngineQuery {
    sid: Option<String>,
    transport: Option<String>,
}

fn busy(message: String) -> Response {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Busy, message).into_response()
}

/// The middleware; layered outside the Socket.IO layer.
pub async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(SOCKET_IO_PATH) {
        return next.run(request).await;
    }
    let query = axum::extract::Query::<EngineQuery>::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let Some(sid) = query.sid else {
        if let Some(refusal) = admit_handshake(&state, &request) {
            return refusal;
        }
        return next.run(request).await;
    };
    if query.transport.as_deref() == Some("websocket") {
        if let Some(meter) = request.extensions().get::<Arc<ConnMeter>>() {
            state
                .relay
                .drains
                .get_or_create(&sid)
                .set_websocket(meter.clone());
        }
        return next.run(request).await;
    }
    let polling_answer = request.method() == Method::GET;
    let response = next.run(request).await;
    match state.relay.drains.get(&sid) {
        Some(drain) if polling_answer => response.map(|body| {
            axum::body::Body::new(body.map_frame(move |frame| {
                if let Some(data) = frame.data_ref() {
                    drain.add_polled(data.len() as u64);
                }
                frame
            }))
        }),
        _ => response,
    }
}

/// `None` when a new Engine.IO session may open now, else the 503 answer.
fn admit_handshake(state: &AppState, request: &Request) -> Option<Response> {
    let now = Instant::now();
    let ip = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip
        && !state.connect_limits.allow(ip, now)
    {
        state.metrics.connects_limited.inc();
        debug!(%ip, "Engine.IO handshake refused: connect rate");
        return Some(busy(format!(
            "server busy: more than {} new connections per second from {ip}; retry later",
            state.config.limits.connect_rate
        )));
    }
    if !state.pending_handshakes.try_begin(now) {
        state.metrics.handshakes_refused.inc();
        debug!("Engine.IO handshake refused: pending handshakes");
        return Some(busy(format!(
            "server busy: {} connections are waiting to authenticate; retry later",
            state.config.limits.pending_handshakes
        )));
    }
    None
}
