//! Shared harness of the end-to-end tests: starting the real `idlewatch-server` and
//! `idlewatch-agent` binaries and driving real Socket.IO clients (python-socketio,
//! socket.io-client) against them.
//!
//! Binaries are found next to the test executable (`target/<profile>/`); build them first with
//! `cargo build --workspace --bins` (the test command does). Outside clients are installed by
//! `scripts/install-test-deps`.

pub mod admin;
mod agent;
mod browser;
pub mod google;
mod http;
pub mod ldap;
mod peer;
mod pki;
pub mod postgres;
pub mod receiver;
pub mod redis;
mod script;
mod send;
mod server;
pub mod smtp;
pub mod stored;
mod waiting;
pub mod wine;
mod xvfb;

pub use agent::{Agent, once, spooled};
pub use browser::run_browser_script;
pub use http::{HttpAnswer, get, request};
pub use ldap::Slapd;
pub use peer::{Connect, Peer, PeerKind};
pub use pki::Pki;
pub use script::{lmutil_printing, write_script};
pub use send::{Connected, acked, send_all};
pub use server::{Server, StartFailure, Tokens};
pub use waiting::{assert_contiguous, free_address, wait_until, wait_until_explained};
pub use xvfb::Xvfb;

use std::path::PathBuf;

/// The workspace root.
#[must_use]
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

/// Path of a workspace binary built in the same profile as the running test.
///
/// # Panics
/// When the binary was not built, with the command that builds it.
#[must_use]
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile> directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins`",
        path.display()
    );
    path
}

/// The fixture payloads of the Python original, by shape name.
#[must_use]
pub fn seed_payloads() -> serde_json::Map<String, serde_json::Value> {
    let text = include_str!("../fixtures/seed_payloads.json");
    let mut all: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).expect("seed fixture parses");
    all.remove("about");
    all
}

/// Canonical text of a JSON value, keeping key order (to compare "same keys, same order").
#[must_use]
pub fn ordered_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).expect("serializable")
}

/// A capture time two days before this test process started, on the minute: the base of
/// generated snapshots that must stay whole while a test runs (a fixed date would be folded
/// into minute rows once it is older than `[retention] snapshots`, 14 days by default), with
/// room for 34,000 snapshots 5 s apart before the present.
#[must_use]
pub fn recent_base_ms() -> i64 {
    static BASE: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| {
        let now = idlewatch_protocol::time::now_ms();
        (now - 2 * 86_400_000).div_euclid(60_000) * 60_000
    });
    *BASE
}
