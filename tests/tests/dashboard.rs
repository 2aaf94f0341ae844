//! The web dashboard in a real browser: `tests/browser/dashboard.test.mjs` drives Debian's
//! Chromium through playwright-core against the real server binary, with real Socket.IO agents
//! sending snapshots (tile appears, idle time and app state change live, filter, detail view
//! with processes and timeline, offline after disconnect, refetch after reconnect, a wrong
//! token's rejection screen) — over HTTP, and over HTTPS/WSS with a certificate from a test CA.
//! Screenshots land in `target/browser-artifacts/` (`https/` for the second run).

use std::path::Path;

use idlewatch_tests::receiver::Receiver;
use idlewatch_tests::{Pki, Server, run_browser_script, workspace_root};

/// Runs `tests/browser/dashboard.test.mjs` against `server`, screenshots into `artifacts`;
/// `ca` is the CA the Node agents must trust (for a TLS server).
fn run_in_chromium(server: &Server, artifacts: &Path, ca: Option<&Path>) {
    let stdout = run_browser_script(
        "dashboard.test.mjs",
        &[
            &server.url(),
            &server.tokens().viewer,
            &server.tokens().agent,
            artifacts.to_str().unwrap(),
        ],
        server,
        artifacts,
        ca,
    );
    assert!(
        stdout.contains("ok a host whose agent disconnects shows offline"),
        "{stdout}"
    );
}

/// A server whose report interval makes snapshots a minute apart cover the time between them
/// (a snapshot counts for up to 3 x the interval), so the timeline shows continuous bands.
///
/// Its one alert rule fires as soon as Ansys is idle in Lab A; notifications go to `hook`.
fn start(dir: &Path, hook: &Receiver, extra: &[&str]) -> Server {
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[report]\ninterval = \"2m\"\n\n[[alerts]]\nname = \"ansys-idle\"\nkind = \
             \"licence_idle\"\napp = \"ansys\"\ngroup = \"Lab A\"\nnotify = [\"it\"]\n\n\
             [notifiers.it]\nwebhook = \"{}\"\n",
            hook.url()
        ),
    )
    .unwrap();
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::try_start(&args, &[], Some(&dir.join("data")))
        .unwrap_or_else(|f| panic!("{}", f.stderr))
}

#[test]
fn the_dashboard_works_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(&[]);
    let server = start(dir.path(), &hook, &[]);
    run_in_chromium(
        &server,
        &workspace_root().join("target/browser-artifacts"),
        None,
    );
    // What the dashboard showed was also told: fired, then resolved when the PC went away.
    let told = hook.told();
    assert_eq!(
        told,
        ["\"ansys-idle\" \"firing\"", "\"ansys-idle\" \"resolved\""]
    );
}

#[test]
fn the_dashboard_works_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::issue(dir.path(), "lab");
    let hook = Receiver::start(&[]);
    let server = start(
        dir.path(),
        &hook,
        &[
            "--tls-cert",
            pki.cert.to_str().unwrap(),
            "--tls-key",
            pki.key.to_str().unwrap(),
        ],
    );
    assert!(server.url().starts_with("https://"));
    run_in_chromium(
        &server,
        &workspace_root().join("target/browser-artifacts/https"),
        Some(&pki.ca),
    );
}
