//! The licence views from what the PCs reported, against the real server binary: a Monday and a
//! Tuesday of three lab PCs sent as snapshots a minute apart, then the peaks and licence-hours
//! (`GET /api/v1/licences`), the hour-of-week grid (`…/{app}/heatmap`), the reclaim simulation
//! (`…/{app}/simulate`), their refusals, and `idlewatch-admin licences`.

use idlewatch_protocol::api::{Heatmap, ReclaimAnswer, SeatsAnswer};
use idlewatch_protocol::time::rfc3339_ms;
use idlewatch_tests::{Server, send_all};
use serde_json::{Value, json};

const MIN: i64 = 60_000;
const H: i64 = 60 * MIN;
/// 2026-11-23 00:00 UTC, a Monday.
const MONDAY: i64 = 1_795_392_000_000;
const RANGE: &str = "from=2026-11-23T00:00:00Z&to=2026-11-30T00:00:00Z";

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

/// One snapshot a minute from `from_ms` (inclusive) to `to_ms` (exclusive) in `state`, then
/// one saying the app stopped.
fn run(host: &str, group: &str, app: &str, parts: &[(i64, i64, &str)]) -> Vec<Value> {
    let mut out = Vec::new();
    for &(from, to, state) in parts {
        let mut t = from;
        while t < to {
            out.push(snapshot(host, group, t, app, state));
            t += MIN;
        }
    }
    let end = parts.last().map_or(0, |p| p.1);
    out.push(snapshot(host, group, end, app, "not_running"));
    out
}

/// A server whose snapshots a minute apart cover the time between them, with a Monday of
/// Ansys in Lab A (pc-a used 09:00–10:30 then left open and idle until 13:00, pc-b used
/// 11:00–11:30) and a Tuesday hour of Rocky in Lab B.
fn lab() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, "10m");

    let mut snapshots = run(
        "pc-a",
        "Lab A",
        "Ansys",
        &[
            (MONDAY + 9 * H, MONDAY + 10 * H + 30 * MIN, "interactive"),
            (MONDAY + 10 * H + 30 * MIN, MONDAY + 13 * H, "idle"),
        ],
    );
    snapshots.extend(run(
        "pc-b",
        "Lab A",
        "ansys",
        &[(MONDAY + 11 * H, MONDAY + 11 * H + 30 * MIN, "interactive")],
    ));
    snapshots.extend(run(
        "pc-c",
        "Lab B",
        "rocky",
        &[(MONDAY + 38 * H, MONDAY + 39 * H, "computing")],
    ));
    drop(send_all(&server, &snapshots, &[]));
    (server, dir)
}

/// The server on `dir`'s config and data dir, rolling settled days up every `rollup_every`.
fn start(dir: &tempfile::TempDir, rollup_every: &str) -> Server {
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[report]\ntime_zone = \"UTC\"\ninterval = \"1m\"\n\
             [retention]\nrollup_every = \"{rollup_every}\"\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(data.as_path()),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr))
}

fn get<T: serde::de::DeserializeOwned>(server: &Server, path: &str) -> T {
    let answer = server.get(path, Some(&server.tokens().viewer));
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.json_as()
}

#[test]
fn peaks_hours_the_week_grid_and_the_reclaim_simulation() {
    let (server, _dir) = lab();
    let seats: SeatsAnswer = get(&server, &format!("/api/v1/licences?{RANGE}"));
    assert_eq!(seats.from, "2026-11-23T00:00:00.000Z");
    let names: Vec<&str> = seats.apps.iter().map(|a| a.app.as_str()).collect();
    assert_eq!(names, ["Ansys", "rocky"], "apps matched without case");
    let ansys = &seats.apps[0];
    assert_eq!(ansys.pcs, 2);
    assert_eq!(
        (ansys.peak_running.seats, ansys.peak_running.at.as_deref()),
        (2, Some("2026-11-23T11:00:00.000Z")),
        "pc-a idle and pc-b used"
    );
    assert_eq!(
        (ansys.peak_in_use.seats, ansys.peak_in_use.at.as_deref()),
        (1, Some("2026-11-23T09:00:00.000Z"))
    );
    assert_eq!(
        (
            ansys.interactive_hours,
            ansys.computing_hours,
            ansys.idle_hours
        ),
        (2.0, 0.0, 2.5)
    );
    assert_eq!(ansys.issued, None, "no licence server configured for it");
    assert_eq!(seats.apps[1].computing_hours, 1.0);

    let lab_b: SeatsAnswer = get(&server, &format!("/api/v1/licences?{RANGE}&group=Lab%20B"));
    assert_eq!(lab_b.apps.len(), 1);
    assert_eq!(lab_b.apps[0].app, "rocky");
    assert_eq!(lab_b.group.as_deref(), Some("Lab B"));

    let grid: Heatmap = get(&server, &format!("/api/v1/licences/ansys/heatmap?{RANGE}"));
    assert_eq!(grid.app, "Ansys");
    assert_eq!(grid.days.len(), 7);
    assert_eq!(grid.days[0].day, "monday");
    let monday = &grid.days[0].hours;
    let cell = |h: usize| (monday[h].mean_in_use, monday[h].peak_in_use);
    assert_eq!(cell(9), (Some(1.0), 1));
    assert_eq!(cell(10), (Some(0.5), 1), "in use until 10:30");
    assert_eq!(
        cell(11),
        (Some(0.5), 1),
        "pc-b until 11:30; pc-a's idle seat is not in use"
    );
    assert_eq!(cell(12), (Some(0.0), 0));
    assert_eq!(grid.days[1].hours[14].peak_in_use, 0, "Tuesday's is rocky");

    let sim: ReclaimAnswer = get(
        &server,
        &format!("/api/v1/licences/ansys/simulate?{RANGE}&reclaim_after=30m"),
    );
    assert_eq!(sim.reclaim_after_seconds, 1800);
    assert_eq!((sim.held.seats, sim.needed.seats), (2, 1));
    assert_eq!(sim.weeks.len(), 1);
    assert_eq!(sim.weeks[0].week, "2026-11-23");
    // With two hours of grace the idle seat is still held at 11:00.
    let sim: ReclaimAnswer = get(
        &server,
        &format!("/api/v1/licences/ansys/simulate?{RANGE}&reclaim_after=2h"),
    );
    assert_eq!((sim.held.seats, sim.needed.seats), (2, 2));

    for (path, status, says) in [
        (
            format!("/api/v1/licences/matlab/heatmap?{RANGE}"),
            404,
            "no PC reported a watched app named",
        ),
        (
            format!("/api/v1/licences/ansys/simulate?{RANGE}"),
            400,
            "`reclaim_after` is missing",
        ),
        (
            format!("/api/v1/licences/ansys/simulate?{RANGE}&reclaim_after=soon"),
            400,
            "`reclaim_after`",
        ),
        (
            "/api/v1/licences?group=Nowhere".to_owned(),
            404,
            "no host belongs to group",
        ),
    ] {
        let answer = server.get(&path, Some(&server.tokens().viewer));
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert!(answer.body.contains(says), "{path}: {}", answer.body);
    }
    assert_eq!(server.get("/api/v1/licences", None).status, 401);
}

#[test]
fn idlewatch_admin_shows_the_peaks_the_grid_and_the_simulation() {
    let (server, _dir) = lab();
    let range = [
        "--from",
        "2026-11-23T00:00:00Z",
        "--to",
        "2026-11-30T00:00:00Z",
    ];
    let mut args = vec!["licences", "--format", "csv"];
    args.extend(range);
    let (code, out, err) = server.admin(&args);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows,
        [
            "APP,PCS,ISSUED,PEAK RUNNING,AT,PEAK IN USE,AT,INTERACTIVE (h),COMPUTING (h),IDLE (h)",
            "Ansys,2,,2,2026-11-23T11:00:00.000Z,1,2026-11-23T09:00:00.000Z,2.00,0.00,2.50",
            "rocky,1,,1,2026-11-24T14:00:00.000Z,1,2026-11-24T14:00:00.000Z,0.00,1.00,0.00",
        ]
    );
    let mut args = vec!["licences", "--app", "ansys"];
    args.extend(range);
    let (code, out, err) = server.admin(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Peak seats of Ansys in use, by hour of the week (UTC):"),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("mon")), "{out}");
    let mut args = vec![
        "licences",
        "simulate",
        "--app",
        "ansys",
        "--reclaim-after",
        "30m",
        "--format",
        "csv",
    ];
    args.extend(range);
    let (code, out, err) = server.admin(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "WEEK,PEAK HELD,PEAK NEEDED,SEATS SAVED\n2026-11-23,2,1,1\n"
    );
    let mut args = vec![
        "licences",
        "simulate",
        "--app",
        "ansys",
        "--reclaim-after",
        "30m",
    ];
    args.extend(range);
    let (code, out, _) = server.admin(&args);
    assert_eq!(code, 0);
    assert!(
        out.contains("peak held 2, peak needed 1: 1 seats fewer would have served every week"),
        "{out}"
    );
}

/// The three views' answers, as JSON.
fn views(server: &Server) -> Vec<Value> {
    [
        format!("/api/v1/licences?{RANGE}"),
        format!("/api/v1/licences/ansys/heatmap?{RANGE}"),
        format!("/api/v1/licences/ansys/simulate?{RANGE}&reclaim_after=30m"),
    ]
    .iter()
    .map(|path| get::<Value>(server, path))
    .collect()
}

#[test]
fn settled_days_answer_the_same_from_their_rollups_and_a_late_snapshot_still_counts() {
    let (mut server, dir) = lab();
    // Read from the summaries: the first round of rollups comes a minute after start.
    let before = views(&server);
    assert_eq!(server.metric("idlewatch_host_days_built_total"), 0);

    // Restarted rolling up every second: every settled day of every PC, from its first.
    server.signal_and_wait("TERM", std::time::Duration::from_secs(30));
    let server = start(&dir, "1s");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let today = now - now % (24 * H);
    let last_settled = if now - today >= H {
        today - 24 * H
    } else {
        today - 48 * H
    };
    let days_from_monday = (last_settled - MONDAY) / (24 * H) + 1;
    let expected = 3 * days_from_monday - 1; // pc-c's first day is the Tuesday
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while (server.metric("idlewatch_host_days_built_total") as i64) < expected {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {expected} host-days rolled up after 60 s",
            server.metric("idlewatch_host_days_built_total")
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(views(&server), before, "from the rollups, the same answers");

    // pc-b reports, a week late, ten minutes of Ansys at noon on the Monday: the Monday's
    // rollup goes, and the answer counts them.
    let built = server.metric("idlewatch_host_days_built_total") as i64;
    drop(send_all(
        &server,
        &run(
            "pc-b",
            "Lab A",
            "ansys",
            &[(MONDAY + 12 * H, MONDAY + 12 * H + 10 * MIN, "interactive")],
        ),
        &[],
    ));
    let seats: SeatsAnswer = get(&server, &format!("/api/v1/licences?{RANGE}"));
    let hours = seats.apps[0].interactive_hours;
    assert_eq!(
        hours, 2.17,
        "2 h, and the 10 late minutes (answers round to 0.01 h)"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while (server.metric("idlewatch_host_days_built_total") as i64) < built + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "pc-b's Monday and Tuesday not rolled up again"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let seats: SeatsAnswer = get(&server, &format!("/api/v1/licences?{RANGE}"));
    assert_eq!(
        seats.apps[0].interactive_hours, hours,
        "rolled up again, the same"
    );
}
