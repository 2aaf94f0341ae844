//! The dashboard's licences page in a real browser: `tests/browser/licences.test.mjs` drives
//! Debian's Chromium against the real server binary holding yesterday's lab snapshots (sent by a
//! real Socket.IO client) and polling a stand-in `lmutil`: the seats table, the week grid, the
//! reclaim simulation and its grace, the licence server's pool and orphaned checkout, a group,
//! a phone's layout and a wrong token. Screenshots land in `target/browser-artifacts/licences/`.

use idlewatch_protocol::time::{now_ms, rfc3339_ms};
use idlewatch_tests::{
    Server, lmutil_printing, run_browser_script, send_all, wait_until, workspace_root,
};
use serde_json::{Value, json};

const MIN: i64 = 60_000;
const H: i64 = 60 * MIN;

const LMSTAT: &str = "lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.
License server status: 1055@lic1
Feature usage info:

Users of aa_r:  (Total of 10 licenses issued;  Total of 2 licenses in use)

  \"aa_r\" v2024.0630, vendor: ansyslmd, expiry: 31-dec-2027
  floating license

    cy pc-c pc-c (v2024.0630) (lic1/1055 101), start Tue 12/1 9:05
    bo ghost-pc ghost-pc (v2024.0630) (lic1/1055 102), start Tue 12/1 9:06
";

fn snapshot(host: &str, group: &str, at_ms: i64, app: &str, state: &str) -> Value {
    json!({
        "host": host,
        "group": group,
        "captured_at": rfc3339_ms(at_ms),
        "idle_seconds": 1,
        "user_active": state == "interactive",
        "watched": {app: {"running": state != "not_running", "state": state}},
    })
}

/// A snapshot a minute in each part's state, then one saying the app stopped.
fn run(host: &str, group: &str, app: &str, parts: &[(i64, i64, &str)]) -> Vec<Value> {
    let mut out = Vec::new();
    for &(from, to, state) in parts {
        out.extend(
            (0..(to - from) / MIN).map(|i| snapshot(host, group, from + i * MIN, app, state)),
        );
    }
    let end = parts.last().map_or(0, |p| p.1);
    out.push(snapshot(host, group, end, app, "not_running"));
    out
}

#[test]
fn the_licences_page_works_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let script = lmutil_printing(dir.path(), LMSTAT);
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[report]\ntime_zone = \"UTC\"\ninterval = \"1m\"\n\n[[licence_servers]]\n\
             name = \"ansys\"\ncommand = [\"{}\"]\ninterval = \"10s\"\napp = \"ansys\"\n",
            script.display()
        ),
    )
    .unwrap();
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));

    // Yesterday: pc-a used Ansys 09:00-10:30 then left it open and idle until 13:00, pc-b used
    // it 11:00-11:30, pc-c (Lab B) ran rocky an hour; pc-c uses Ansys now.
    let now = now_ms();
    let yesterday = now - now.rem_euclid(24 * H) - 24 * H;
    let mut snapshots = run(
        "pc-a",
        "Lab A",
        "Ansys",
        &[
            (
                yesterday + 9 * H,
                yesterday + 10 * H + 30 * MIN,
                "interactive",
            ),
            (yesterday + 10 * H + 30 * MIN, yesterday + 13 * H, "idle"),
        ],
    );
    snapshots.extend(run(
        "pc-b",
        "Lab A",
        "ansys",
        &[(
            yesterday + 11 * H,
            yesterday + 11 * H + 30 * MIN,
            "interactive",
        )],
    ));
    snapshots.extend(run(
        "pc-c",
        "Lab B",
        "rocky",
        &[(yesterday + 14 * H, yesterday + 15 * H, "computing")],
    ));
    snapshots.extend([
        snapshot("pc-c", "Lab B", now - 2 * MIN, "Ansys", "interactive"),
        snapshot("pc-c", "Lab B", now - MIN, "Ansys", "interactive"),
    ]);
    let _agents = send_all(&server, &snapshots, &["pc-c"]);
    wait_until(
        "the licence server's first poll",
        std::time::Duration::from_secs(30),
        || {
            server
                .get("/api/v1/licences/servers", Some(&server.tokens().viewer))
                .body
                .contains("polled_at\":\"")
        },
    );

    let artifacts = workspace_root().join("target/browser-artifacts/licences");
    let stdout = run_browser_script(
        "licences.test.mjs",
        &[
            &server.url(),
            &server.tokens().viewer,
            artifacts.to_str().unwrap(),
        ],
        &server,
        &artifacts,
        None,
    );
    assert!(stdout.contains("ok no errors in the console"), "{stdout}");
}
