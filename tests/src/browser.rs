//! Running a Node script of `tests/browser/` that drives Debian's Chromium through
//! playwright-core (both installed by `scripts/install-test-deps`), and failing the test with its
//! output, the server's log and where its screenshots are when it fails.

use std::path::Path;
use std::process::Command;

use crate::{Server, workspace_root};

/// Runs `node tests/browser/<script> <args…>` against `server`; returns what it printed.
///
/// `ca`: a CA the script's Node clients must trust (for a TLS server).
///
/// # Panics
/// When Node, playwright-core or Chromium is missing, or the script fails.
#[must_use]
pub fn run_browser_script(
    script: &str,
    args: &[&str],
    server: &Server,
    artifacts: &Path,
    ca: Option<&Path>,
) -> String {
    let browser_dir = workspace_root().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run scripts/install-test-deps"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/install-test-deps (it installs Debian's chromium)"
    );
    let mut command = Command::new("node");
    command
        .arg(browser_dir.join(script))
        .args(args)
        .env("CHROMIUM", &chromium)
        .current_dir(&browser_dir);
    if let Some(ca) = ca {
        command.env("NODE_EXTRA_CA_CERTS", ca);
    }
    let output = command.output().expect("run node (install Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{stderr}\nserver log:\n{}\nscreenshots: {}",
        server.log(),
        artifacts.display()
    );
    stdout
}
