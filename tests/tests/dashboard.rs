//! The web dashboard in a real browser: `tests/browser/dashboard.test.mjs` drives Debian's
//! Chromium through playwright-core against the real server binary, with real Socket.IO agents
//! sending snapshots (tile appears, idle time and app state change live, filter, detail view
//! with processes and timeline, offline after disconnect, refetch after reconnect, a wrong
//! token's rejection screen). Screenshots land in `target/browser-artifacts/`.

use std::process::Command;

use idlewatch_tests::{Server, workspace_root};

#[test]
fn the_dashboard_works_in_chromium() {
    let root = workspace_root();
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run scripts/install-test-deps"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/install-test-deps (it installs Debian's chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    // Snapshots a minute apart cover the time between them (a snapshot counts for up to
    // 3 x the interval), so the timeline shows continuous bands.
    std::fs::write(&config, "[report]\ninterval = \"2m\"\n").unwrap();
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    let artifacts = root.join("target/browser-artifacts");
    let output = Command::new("node")
        .arg(browser_dir.join("dashboard.test.mjs"))
        .arg(server.url())
        .arg(&server.tokens().viewer)
        .arg(&server.tokens().agent)
        .arg(&artifacts)
        .env("CHROMIUM", &chromium)
        .current_dir(&browser_dir)
        .output()
        .expect("run node (install Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}\nserver log:\n{}\nscreenshots: {}",
        server.log(),
        artifacts.display()
    );
    assert!(
        stdout.contains("ok a host whose agent disconnects shows offline"),
        "{stdout}"
    );
}
