//! Google Sheets uploads from the real server binary to the stand-in Google
//! (`idlewatch_tests::google`): tabs created once, `Status` rewritten, `Utilization` appended
//! without duplicates, a constant request count for 3 and for 300 hosts, retries on 429, clear
//! errors on 403 and on a refused key, and ingest unaffected while Google hangs.

use std::time::Duration;

use idlewatch_protocol::api::{SheetsFailure, SheetsStatusAnswer};
use idlewatch_protocol::time::now_ms;
use idlewatch_tests::google::{Google, Logged, TEST_EMAIL};
use idlewatch_tests::{HttpAnswer, Server, request, send_all};
use serde_json::{Value, json};

const EMAIL: &str = TEST_EMAIL;
const DAY_MS: i64 = 86_400_000;
const MIN_MS: i64 = 60_000;

fn stand_in(spreadsheet: &str) -> Google {
    Google::with_test_key(spreadsheet)
}

struct Setup {
    server: Server,
    _dir: tempfile::TempDir,
}

fn start(google: &Google, spreadsheet: &str, email: &str, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let creds = google.test_credentials(dir.path(), email);
    let config = dir.path().join("server.toml");
    let report =
        "[report]\ninterval = \"10m\"\n[report.groups]\n\"Lab A\" = [\"pc-1\", \"pc-2\"]\n";
    let sheets = google.sheets_section(spreadsheet, &creds, "1h");
    std::fs::write(&config, format!("{report}{sheets}{extra}\n")).unwrap();
    let data = dir.path().join("data");
    let server = Server::try_start(&["--config", config.to_str().unwrap()], &[], Some(&data))
        .unwrap_or_else(|f| panic!("server did not start:\n{}", f.stderr));
    Setup { server, _dir: dir }
}

fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

fn snap(host: &str, at_ms: i64, active: bool) -> Value {
    json!({
        "host": host,
        "captured_at": at_ms,
        "idle_seconds": if active { 4 } else { 900 },
        "user_active": active,
        "cpu_percent": 12.5,
        "memory_percent": 41.0,
        "foreground_process": if host == "pc-3" { "=HYPERLINK(\"http://x\")" } else { "code.exe" },
        "watched": {"Ansys": {"running": true, "state": if active { "interactive" } else { "idle" }}},
    })
}

fn upload(server: &Server) -> HttpAnswer {
    let admin = server.tokens.as_ref().unwrap().admin.clone();
    request(
        server.addr,
        "POST",
        "/api/v1/exports/sheets",
        &[("Authorization", &format!("Bearer {admin}"))],
        None,
    )
}

fn kinds(log: &[Logged]) -> Vec<String> {
    log.iter()
        .map(|l| {
            let tail = l.path.rsplit('/').next().unwrap_or_default();
            let verb = tail.rsplit(':').next().unwrap_or_default();
            match (l.method.as_str(), tail.starts_with("values:")) {
                ("GET", _) => "get".to_owned(),
                (_, true) => tail.to_owned(),
                _ => verb.to_owned(),
            }
        })
        .collect()
}

/// The days an upload appends now: from `first` to the last day that ended an hour ago.
fn expected_days(first_day_ms: i64) -> i64 {
    let last = day_start(now_ms() - 3_600_000) - DAY_MS;
    (last - first_day_ms) / DAY_MS + 1
}

#[test]
fn uploads_status_and_utilization_once_in_constant_requests() {
    let google = stand_in("sheet-1");
    let setup = start(&google, "sheet-1", EMAIL, "");
    let server = &setup.server;
    let now = now_ms();
    let d3 = day_start(now) - 3 * DAY_MS;
    let mut snapshots = Vec::new();
    for host in ["pc-1", "pc-2", "pc-3"] {
        // Day -3: active 10:00 and 10:10, idle at 10:20 (covering 30 min, 3 × the interval).
        snapshots.push(snap(host, d3 + 600 * MIN_MS, true));
        snapshots.push(snap(host, d3 + 610 * MIN_MS, true));
        snapshots.push(snap(host, d3 + 620 * MIN_MS, false));
        // Day -2: active at noon.
        snapshots.push(snap(host, d3 + DAY_MS + 720 * MIN_MS, true));
        snapshots.push(snap(host, now, true));
    }
    // On pc-1, day -3: ana logged on at 09:59, then bo at 10:15 (logon time unknown).
    let ana = json!({"user": "ana", "since": d3 + 599 * MIN_MS, "source": "system"});
    snapshots[0]["session"] = ana.clone();
    snapshots[1]["session"] = ana;
    snapshots[2]["session"] = json!({"user": "bo", "source": "system"});
    let _clients = send_all(server, &snapshots, &["pc-1", "pc-2", "pc-3"]);

    let first = upload(server);
    assert_eq!(first.status, 200, "{}", first.body);
    let report = first.json();
    let log = google.take_log();
    assert_eq!(
        kinds(&log),
        [
            "get",
            "batchUpdate",
            "values:batchUpdate",
            "values:batchClear",
            "append",
            "append"
        ],
        "{log:?}"
    );
    assert!(log.iter().all(|l| l.status == 200), "{log:?}");
    assert_eq!(report["requests"], 6);
    assert_eq!(report["hosts"], 3);
    assert_eq!(google.titles(), ["Status", "Utilization", "Licences"]);

    let status = google.tab("Status").unwrap();
    assert!(status.bold_header && status.frozen_rows == 1);
    assert_eq!(status.cells.len(), 4, "{:?}", status.cells);
    assert_eq!(status.cells[0][1], "Host");
    let pc1 = &status.cells[1];
    assert_eq!(pc1[0], "Lab A");
    assert_eq!(pc1[1], "pc-1");
    assert_eq!(pc1[2], true);
    assert_eq!(pc1[3], 4.0);
    assert_eq!(pc1[5], "code.exe");
    assert_eq!(pc1[6], "Ansys: interactive");
    // RAW values: a formula-looking process name stays text.
    assert_eq!(status.cells[3][5], "=HYPERLINK(\"http://x\")");
    assert!(
        pc1[9].as_f64().unwrap() > 40_000.0,
        "last seen is a serial date: {}",
        pc1[9]
    );

    let days = expected_days(d3);
    let util = google.tab("Utilization").unwrap();
    assert!(util.bold_header && util.frozen_rows == 1);
    assert_eq!(util.cells.len() as i64, 1 + 3 * days, "{:?}", util.cells);
    let row = &util.cells[1];
    let d3_serial = (d3 / DAY_MS) as f64 + 25_569.0;
    assert_eq!(row[0], d3_serial);
    assert_eq!(
        (row[1].as_str(), row[2].as_str()),
        (Some("Lab A"), Some("pc-1"))
    );
    // 20 min active, 30 min idle, the rest of the day offline.
    assert_eq!(row[3], 0.33);
    assert_eq!(row[4], 0.5);
    assert_eq!(row[5], 23.17);
    assert_eq!(row[9], "Ansys: 0.33 / 0.50");
    assert_eq!(
        (&row[10], &row[11]),
        (&json!(2), &json!(2)),
        "logons, users"
    );
    assert_eq!(
        (&util.cells[2][10], &util.cells[2][11]),
        (&json!(0), &json!(0)),
        "pc-2: nobody logged on"
    );
    let day2 = &util.cells[4];
    assert_eq!(
        (day2[0].as_f64(), day2[2].as_str()),
        (Some(d3_serial + 1.0), Some("pc-1"))
    );
    assert_eq!(day2[3], 0.5);

    // Licences: one row per day Ansys ran. Day -3: the three PCs used it 10:00-10:20 and
    // left it idle 10:20-10:50; day -2: used at noon for 30 min.
    let licences = google.tab("Licences").unwrap();
    assert!(licences.bold_header && licences.frozen_rows == 1);
    assert_eq!(licences.cells.len(), 3, "{:?}", licences.cells);
    assert_eq!(licences.cells[0][1], "App");
    assert_eq!(
        licences.cells[1],
        [
            json!(d3_serial),
            json!("Ansys"),
            json!(3),
            json!(3),
            json!(3),
            json!(1.0),
            json!(0.0),
            json!(1.5)
        ]
    );
    assert_eq!(licences.cells[2][0], json!(d3_serial + 1.0));
    assert_eq!(licences.cells[2][5], json!(1.5));
    assert_eq!(report["licence_rows"], 2);

    // Second run: Status rewritten, nothing appended again, the token reused.
    let second = upload(server);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        kinds(&google.take_log()),
        ["get", "values:batchUpdate", "values:batchClear"]
    );
    assert_eq!(
        google.tab("Utilization").unwrap().cells.len() as i64,
        1 + 3 * days
    );
    assert_eq!(google.tab("Status").unwrap().cells.len(), 4);
    assert_eq!(google.token_requests(), 1);
    let status = server.get(
        "/api/v1/exports/status",
        Some(&server.tokens.as_ref().unwrap().viewer),
    );
    let s = status.json_as::<SheetsStatusAnswer>().sheets;
    assert_eq!(s.runs, 2);
    assert!(s.last_run.as_ref().is_some_and(|r| r.ok), "{s:?}");
    assert_eq!(s.service_account.as_deref(), Some(EMAIL));

    // 300 hosts: the same requests as for 3.
    let big = stand_in("sheet-300");
    let setup300 = start(&big, "sheet-300", EMAIL, "");
    let many: Vec<Value> = (0..300)
        .flat_map(|i| {
            let host = format!("lab-{i:03}");
            [snap(&host, d3 + 600 * MIN_MS, true), snap(&host, now, true)]
        })
        .collect();
    let _more = send_all(&setup300.server, &many, &[]);
    let answer = upload(&setup300.server);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        kinds(&big.take_log()),
        [
            "get",
            "batchUpdate",
            "values:batchUpdate",
            "values:batchClear",
            "append",
            "append"
        ]
    );
    assert_eq!(big.tab("Status").unwrap().cells.len(), 301);
    assert_eq!(
        big.tab("Utilization").unwrap().cells.len() as i64,
        1 + 300 * days
    );
}

#[test]
fn a_utilization_tab_of_an_earlier_version_is_widened_and_keeps_its_rows() {
    let google = stand_in("sheet-old");
    let old_header = &UTILIZATION_HEADER_V1;
    google.add_tab(77, "Utilization", old_header.len(), old_header);
    let setup = start(&google, "sheet-old", EMAIL, "");
    let server = &setup.server;
    let d2 = day_start(now_ms()) - 2 * DAY_MS;
    let _clients = send_all(
        server,
        &[
            snap("pc-1", d2 + 600 * MIN_MS, true),
            snap("pc-1", now_ms(), true),
        ],
        &["pc-1"],
    );
    let answer = upload(server);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["tabs_widened"], json!(["Utilization"]));
    let util = google.tab("Utilization").unwrap();
    assert_eq!(util.grid_columns, 12);
    assert_eq!(util.cells[0][10], "Logons");
    assert_eq!(util.cells[0][11], "Users");
    assert_eq!(util.cells[1][2], "pc-1");
    assert_eq!(util.cells[1].len(), 12);
    // The next run finds it wide enough.
    google.take_log();
    let again = upload(server);
    assert_eq!(again.json()["tabs_widened"], json!([]));
}

/// The `Utilization` columns before sessions were counted.
const UTILIZATION_HEADER_V1: [&str; 10] = [
    "Date",
    "Group",
    "Host",
    "Active (h)",
    "Idle (h)",
    "Offline (h)",
    "Open (h)",
    "Active in open hours (h)",
    "Utilization %",
    "Watched apps (h in use / idle)",
];

#[test]
fn retries_throttling_and_names_the_cause_of_refusals() {
    let google = stand_in("sheet-r");
    let setup = start(&google, "sheet-r", EMAIL, "");
    let server = &setup.server;
    let _c = send_all(server, &[snap("pc-1", now_ms(), true)], &["pc-1"]);

    // 429 with Retry-After: waited for, then the run completes.
    google.fail_next(1, 429, Some(1));
    let answer = upload(server);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["retries"], 1);
    let log = google.take_log();
    assert_eq!((log[0].status, log[1].status), (429, 200), "{log:?}");

    // 500 on every attempt: a 502 saying the next run tries again.
    google.fail_next(3, 500, None);
    let answer = upload(server);
    assert_eq!(answer.status, 502, "{}", answer.body);
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("after 3 attempts") && message.contains("next run"),
        "{message}"
    );
    assert_eq!(answer.json()["error"]["code"], "upstream");

    // 403: not shared with the service account.
    google.take_log();
    google.deny(true);
    let answer = upload(server);
    assert_eq!(answer.status, 502, "{}", answer.body);
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(&format!("share the spreadsheet with {EMAIL}")),
        "{message}"
    );
    assert_eq!(google.take_log().len(), 1, "a 403 is not retried");
    let line = server
        .log()
        .lines()
        .find(|l| l.contains("Sheets upload failed") && l.contains("403"))
        .map(str::to_owned);
    assert!(line.is_some(), "{}", server.log());

    let status = server
        .get(
            "/api/v1/exports/status",
            Some(&server.tokens.as_ref().unwrap().admin),
        )
        .json_as::<SheetsStatusAnswer>()
        .sheets;
    assert_eq!(status.runs, 3);
    assert_eq!(status.failures, 2);
    let failure = status.last_run.as_ref().and_then(|r| r.error.as_ref());
    assert_eq!(
        failure.map(|e| e.kind),
        Some(SheetsFailure::Refused),
        "{status:?}"
    );
    assert!(status.last_success_at.is_some());
}

#[test]
fn a_refused_key_a_missing_key_and_no_configuration_are_clear_errors() {
    let google = stand_in("sheet-k");
    let setup = start(
        &google,
        "sheet-k",
        "someone-else@example.iam.gserviceaccount.com",
        "",
    );
    let answer = upload(&setup.server);
    assert_eq!(answer.status, 502, "{}", answer.body);
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("refused the service-account key") && message.contains("invalid_grant"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "[sheets]\nenabled = true\nspreadsheet_id = \"x\"\ncredentials_file = \"/nonexistent/key.json\"\n",
    )
    .unwrap();
    let failure = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("d")),
    )
    .err()
    .expect("refuses to start");
    assert!(
        failure.stderr.contains("/nonexistent/key.json"),
        "{}",
        failure.stderr
    );
    assert!(
        failure.stderr.contains("sheets.credentials_file"),
        "{}",
        failure.stderr
    );

    let plain = Server::start();
    let answer = upload(&plain);
    assert_eq!(answer.status, 409);
    assert_eq!(answer.json()["error"]["code"], "not_configured");
}

#[test]
fn ingest_goes_on_while_google_hangs() {
    let google = stand_in("sheet-h");
    let setup = start(&google, "sheet-h", EMAIL, "");
    let server = &setup.server;
    let _c = send_all(server, &[snap("pc-1", now_ms(), true)], &["pc-1"]);
    google.hang(true);
    let addr = server.addr;
    let admin = server.tokens.as_ref().unwrap().admin.clone();
    let pending = std::thread::spawn(move || {
        request(
            addr,
            "POST",
            "/api/v1/exports/sheets",
            &[("Authorization", &format!("Bearer {admin}"))],
            None,
        )
    });
    let viewer = server.tokens.as_ref().unwrap().viewer.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.get("/api/v1/exports/status", Some(&viewer)).json()["sheets"]["running"] != true {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // While the upload waits on Google: snapshots are acked and stored.
    let base = now_ms();
    let batch: Vec<Value> = (0..50).map(|k| snap("pc-2", base + k, true)).collect();
    let _more = send_all(server, &batch, &[]);
    assert_eq!(server.history("pc-2").len(), 50);
    assert_eq!(
        server.get("/api/v1/exports/status", Some(&viewer)).json()["sheets"]["running"],
        true,
        "the acks came while the upload was still waiting"
    );
    google.hang(false);
    let answer = pending.join().unwrap();
    // Each attempt timed out after 2 s; the run ends as unreachable or, if released in time, ok.
    assert!(
        answer.status == 502 || answer.status == 200,
        "{}",
        answer.body
    );
}
