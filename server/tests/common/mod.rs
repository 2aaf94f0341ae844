//! Helpers shared by the in-process tests: an `AppState` on an in-memory store with known
//! tokens, and storing a snapshot the way the ingest path does.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use idlewatch_protocol::Snapshot;
use idlewatch_server::App;
use idlewatch_server::auth::{Auth, RoleTokens};
use idlewatch_server::config::Config;
use idlewatch_server::state::AppState;
use idlewatch_store::{OpenOptions, Store};
use tower::ServiceExt;

/// The agent token of [`state_with`].
pub const AGENT: &str = "agent-token-01234567890";
/// The viewer token of [`state_with`].
pub const VIEWER: &str = "viewer-token-0123456789";
/// The admin token of [`state_with`].
pub const ADMIN: &str = "admin-token-0123456789";

/// State for `config`, with the three tokens above and an in-memory store.
pub fn state_with(config: Config) -> AppState {
    let (store, writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    // The writer thread lives as long as the test process; each test has its own store.
    std::mem::forget(writer);
    AppState::new(
        config,
        Auth::Tokens(RoleTokens {
            agent_token: Some(AGENT.to_owned()),
            viewer_token: VIEWER.to_owned(),
            admin_token: ADMIN.to_owned(),
        }),
        store,
    )
}

/// Stores a snapshot and waits for its commit.
pub fn store(state: &AppState, text: &str, received_ms: i64) {
    let (tx, rx) = std::sync::mpsc::channel();
    state
        .store
        .local()
        .try_append(
            Arc::new(Snapshot::parse(text).unwrap()),
            received_ms,
            Box::new(move |r| tx.send(r.is_ok()).unwrap()),
        )
        .unwrap();
    assert!(rx.recv().unwrap());
}

/// A GET request, with a bearer token when given.
pub fn get_request(path: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(t) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    builder.body(Body::empty()).unwrap()
}

/// Runs `request` through the app: status, headers and body.
pub async fn call(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let response = App::new(state.clone())
        .router
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}
