//! Helpers shared by the in-process tests: an `AppState` on an in-memory store with known
//! tokens, and storing a snapshot the way the ingest path does.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;

use idlewatch_protocol::Snapshot;
use idlewatch_server::auth::{Auth, RoleTokens};
use idlewatch_server::config::Config;
use idlewatch_server::state::AppState;
use idlewatch_store::{OpenOptions, Store};

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
            agent_token: AGENT.to_owned(),
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
        .try_append(
            Arc::new(Snapshot::parse(text).unwrap()),
            received_ms,
            Box::new(move |r| tx.send(r.is_ok()).unwrap()),
        )
        .unwrap();
    assert!(rx.recv().unwrap());
}
