//! The free-seat page in a real browser: `tests/browser/seats.test.mjs` drives Debian's Chromium
//! against the real server binary with a public seat view, a room of desks and an SVG floor
//! plan, while its own socket.io-client agents report: the labs and counts, the rooms' colours,
//! live changes, the software filter, a phone, the kiosk, the dashboard's rooms, a PC that
//! should report and never has, the dashboard of a token scoped to one lab, and a PC whose data
//! is deleted leaving its place. Screenshots
//! land in `target/browser-artifacts/seats/`.

use idlewatch_tests::{Server, run_browser_script, workspace_root};

const PLAN: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 120">
  <rect id="wall" x="0" y="0" width="300" height="6" fill="#444"/>
  <text x="150" y="115" text-anchor="middle" font-size="10">Entrance</text>
  <g id="LIB01"><rect x="20" y="30" width="80" height="50" rx="4"/><text x="60" y="60" text-anchor="middle">LIB01</text></g>
  <g id="lib02"><rect x="120" y="30" width="80" height="50" rx="4"/><text x="160" y="60" text-anchor="middle">LIB02</text></g>
</svg>"##;

#[test]
fn the_seat_page_works_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("library.svg");
    std::fs::write(&plan, PLAN).unwrap();
    // pc06 should report and never has: offline on the seat page, "Never reported" on the
    // dashboard.
    let hosts_file = dir.path().join("lab-pcs.txt");
    std::fs::write(&hosts_file, "pc06  Lab CTI\n").unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[report.groups]\n\"Lab CTI\" = [\"pc01\", \"pc02\", \"pc03\", \"pc04\", \"pc05\"]\n\
             \"Library\" = [\"lib01\", \"lib02\"]\n\n\
             [seats]\npublic = true\ngroups = [\"Lab CTI\", \"Library\"]\nidle_after = \"10m\"\n\n\
             [[seats.maps]]\ngroup = \"Lab CTI\"\nrows = [\"pc01 pc02 . pc03\", \"pc04 pc05\"]\n\n\
             [[seats.maps]]\ngroup = \"Library\"\nsvg = \"{}\"\n\n\
             [directory]\nhosts_file = \"{}\"\n",
            plan.display(),
            hosts_file.display()
        ),
    )
    .unwrap();
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    let (code, issued, err) = server.admin(&[
        "tokens", "issue", "--viewer", "--group", "Lab CTI", "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let lab_token = serde_json::from_str::<serde_json::Value>(&issued).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let artifacts = workspace_root().join("target/browser-artifacts/seats");
    let stdout = run_browser_script(
        "seats.test.mjs",
        &[
            &server.url(),
            &server.tokens().viewer,
            &server.tokens().agent,
            artifacts.to_str().unwrap(),
            &lab_token,
            &server.tokens().admin,
        ],
        &server,
        &artifacts,
        None,
    );
    assert!(stdout.contains("ok no errors in the console"), "{stdout}");
}
