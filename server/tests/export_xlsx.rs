//! `GET /export.xlsx` read back by an independent reader (calamine): sheets, types, row counts,
//! the chart, and utilization figures equal to the hand-computed ones.

use std::io::Cursor;

use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use idlewatch_server::config::Config;
use idlewatch_server::state::AppState;

mod common;

/// 2026-11-23T00:00:00Z, a Monday.
const MONDAY: i64 = 1_795_392_000_000;
const HOUR: i64 = 3_600_000;

fn state(open_hours: &str) -> AppState {
    let mut config = Config::default();
    config.report.open_hours = open_hours.to_owned();
    common::state_with(config)
}

use common::{ADMIN, VIEWER, store};

async fn get(
    state: &AppState,
    path: &str,
    token: &str,
) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    common::call(state, common::get_request(path, Some(token))).await
}

/// pc-1: active 09:00–10:00 with Ansys interactive, ana logged on at 08:59:30 then bo at
/// 09:30; pc-2: idle 09:00–09:30 with Ansys open, nobody logged on.
fn fill(state: &AppState) {
    for i in 0..720 {
        let at = MONDAY + 9 * HOUR + i * 5_000;
        let session = if i < 360 {
            r#"{"user":"ana","since":"2026-11-23T08:59:30Z","source":"helper"}"#
        } else {
            r#"{"user":"bo","since":"2026-11-23T09:29:58Z","source":"helper"}"#
        };
        store(
            state,
            &format!(
                r#"{{"host":"pc-1","session":{session},"captured_at":{at},"user_active":true,"idle_seconds":1,"cpu_percent":12.5,"memory_percent":40,"foreground_process":"ansysedt.exe","processes":[{{"pid":1}},{{"pid":2}}],"watched":{{"ansys":{{"running":true,"in_focus":true,"user_active":true,"state":"interactive"}}}}}}"#
            ),
            at + 20,
        );
    }
    for i in 0..360 {
        let at = MONDAY + 9 * HOUR + i * 5_000;
        store(
            state,
            &format!(
                r#"{{"host":"pc-2","captured_at":{at},"user_active":false,"idle_seconds":900,"ansys_running":true,"ansys_in_focus":false,"ansys_user_active":false}}"#
            ),
            at + 20,
        );
    }
}

#[tokio::test]
async fn the_workbook_has_typed_rows_a_chart_and_exact_utilization() {
    let state = state("Mon-Fri 08:00-22:00");
    fill(&state);
    let (status, headers, body) =
        get(&state, "/export.xlsx?from=2026-11-23&to=2026-11-24", ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let disposition = &headers
        .iter()
        .find(|(k, _)| k == "content-disposition")
        .unwrap()
        .1;
    assert_eq!(
        disposition,
        "attachment; filename=\"idlewatch-2026-11-23-2026-11-24.xlsx\""
    );

    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(body.clone())).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["Snapshots", "Utilization", "Apps", "Licences"]
    );

    let snapshots = book.worksheet_range("Snapshots").unwrap();
    assert_eq!(
        snapshots.height(),
        1 + 720 + 360,
        "header + one row per snapshot"
    );
    let header: Vec<String> = snapshots
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(&header[..4], ["Received", "Captured", "Host", "Idle (s)"]);
    let first = snapshots.rows().nth(1).unwrap();
    assert!(
        matches!(first[0], Data::DateTime(_)),
        "received is a real date: {:?}",
        first[0]
    );
    assert!(matches!(first[1], Data::DateTime(_)));
    assert_eq!(first[2], Data::String("pc-1".to_owned()));
    assert_eq!(first[4], Data::Bool(true));
    assert_eq!(first[5], Data::Float(12.5));
    assert_eq!(first[8], Data::Float(2.0), "process count");
    let ansys_col = header.iter().position(|h| h == "ansys").unwrap();
    assert_eq!(first[ansys_col], Data::String("interactive".to_owned()));
    let pc2_first = snapshots.rows().nth(721).unwrap();
    assert_eq!(
        pc2_first[ansys_col],
        Data::String("idle".to_owned()),
        "derived from flat fields"
    );
    if let Data::DateTime(captured) = &first[1] {
        // 2026-11-23T09:00:00Z as an Excel serial (UTC report zone).
        let expected = (MONDAY + 9 * HOUR) as f64 / 86_400_000.0 + 25_569.0;
        assert!((captured.as_f64() - expected).abs() < 1e-9);
    }

    let days = book.worksheet_range("Utilization").unwrap();
    let row = |host: &str| {
        days.rows()
            .find(|r| r[0] == Data::String(host.to_owned()) && matches!(r[1], Data::DateTime(_)))
            .unwrap()
            .to_vec()
    };
    let f = |d: &Data| match d {
        Data::Float(v) => *v,
        other => panic!("not a number: {other:?}"),
    };
    let pc1 = row("pc-1");
    // 719 × 5 s + 15 s (the last snapshot covers 3 intervals) = 3,610 s active.
    assert!((f(&pc1[2]) - 3610.0 / 3600.0).abs() < 1e-9, "{pc1:?}");
    assert!((f(&pc1[3]) - 0.0).abs() < 1e-9);
    assert!((f(&pc1[4]) - (24.0 - 3610.0 / 3600.0)).abs() < 1e-9);
    assert!((f(&pc1[5]) - 14.0).abs() < 1e-9, "open 08:00–22:00");
    assert!(
        (f(&pc1[7]) - 100.0 * (3610.0 / 3600.0) / 14.0).abs() < 1e-9,
        "utilization %"
    );
    assert_eq!((f(&pc1[8]), f(&pc1[9])), (2.0, 2.0), "logons, users");
    let pc2 = row("pc-2");
    assert_eq!((f(&pc2[8]), f(&pc2[9])), (0.0, 0.0));
    assert!(
        (f(&pc2[3]) - 1810.0 / 3600.0).abs() < 1e-9,
        "idle 359 × 5 s + 15 s"
    );
    assert!(matches!(pc2[7], Data::Float(v) if v == 0.0));

    let apps = book.worksheet_range("Apps").unwrap();
    let ansys = apps
        .rows()
        .find(|r| {
            r[0] == Data::String("pc-2".to_owned()) && r[2] == Data::String("ansys".to_owned())
        })
        .unwrap();
    assert!(
        (f(&ansys[5]) - 1810.0 / 3600.0).abs() < 1e-9,
        "an idle licence for half an hour"
    );

    // Licences: both PCs held Ansys from 09:00, one used it; the hour-of-week grid has the
    // Monday the range covers and nothing else.
    let licences = book.worksheet_range("Licences").unwrap();
    let ansys = licences.rows().nth(1).unwrap();
    assert_eq!(ansys[0], Data::String("ansys".to_owned()));
    assert_eq!((f(&ansys[1]), f(&ansys[2]), f(&ansys[4])), (2.0, 2.0, 1.0));
    assert!(matches!(ansys[3], Data::DateTime(_)), "{:?}", ansys[3]);
    assert!((f(&ansys[6]) - 3610.0 / 3600.0).abs() < 1e-9);
    assert!((f(&ansys[8]) - 1810.0 / 3600.0).abs() < 1e-9);
    let day = |name: &str| {
        licences
            .rows()
            .find(|r| r[0] == Data::String(name.to_owned()))
            .unwrap()
            .to_vec()
    };
    let monday = day("Monday");
    assert!((f(&monday[1 + 9]) - 1.0).abs() < 1e-9, "{monday:?}");
    assert!(
        (f(&monday[1 + 10]) - 10.0 / 3600.0).abs() < 1e-9,
        "{monday:?}"
    );
    assert_eq!(day("Tuesday")[1 + 9], Data::Empty, "not in the range");

    let zip = zip::ZipArchive::new(Cursor::new(body)).unwrap();
    assert!(
        zip.file_names()
            .any(|n| matches!(n.as_deref(), Ok("xl/charts/chart1.xml"))),
        "the chart is there"
    );
}

#[tokio::test]
async fn exports_need_the_admin_token_and_check_their_parameters() {
    let state = state("");
    fill(&state);
    assert_eq!(
        get(&state, "/export.xlsx", VIEWER).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _, body) = get(&state, "/export.xlsx?from=soon", ADMIN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("`from`"));
    assert_eq!(
        get(&state, "/export.xlsx?host=nobody", ADMIN).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, body) = get(
        &state,
        "/export.xlsx?from=2026-11-23&to=2026-11-24&host=pc-2",
        ADMIN,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).unwrap();
    assert_eq!(
        book.worksheet_range("Snapshots").unwrap().height(),
        1 + 360,
        "only pc-2"
    );
}

#[tokio::test]
async fn usage_counts_logons_and_distinct_users_per_host_and_group() {
    let mut config = Config::default();
    config.report.groups.insert(
        "Lab A".to_owned(),
        vec!["pc-1".to_owned(), "pc-2".to_owned()],
    );
    let state = common::state_with(config);
    fill(&state);
    let (status, _, body) = get(
        &state,
        "/api/v1/usage?from=2026-11-23&to=2026-11-24",
        VIEWER,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let usage: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let day = |host: &str| {
        usage["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["host"] == host)
            .unwrap()["days"][0]
            .clone()
    };
    assert_eq!(
        (&day("pc-1")["logons"], &day("pc-1")["distinct_users"]),
        (&2.into(), &2.into())
    );
    assert_eq!(
        (&day("pc-2")["logons"], &day("pc-2")["distinct_users"]),
        (&0.into(), &0.into())
    );
    let lab = &usage["groups"][0];
    assert_eq!(lab["group"], "Lab A");
    assert_eq!(
        (&lab["logons"], &lab["distinct_users"]),
        (&2.into(), &2.into())
    );
}

/// A sheet's rows as text.
fn sheet_rows(body: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(body.to_vec())).unwrap();
    let range = book.worksheet_range(name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect()
}

#[tokio::test]
async fn aged_snapshots_give_the_same_utilization_and_licences_and_the_snapshots_sheet_says_where_they_end()
 {
    let state = state("Mon-Fri 08:00-22:00");
    fill(&state);
    let path = "/export.xlsx?from=2026-11-23&to=2026-11-24";
    let (_, _, before) = get(&state, path, ADMIN).await;
    // Fold the hour from 09:00 into minutes: every snapshot but the last of each PC, which
    // still covers the first seconds after 10:00 (pc-1's; pc-2 stopped at 09:30).
    let aged = state
        .store
        .local()
        .age(MONDAY + 10 * HOUR + 30 * 60_000, 15_000)
        .unwrap();
    assert_eq!(aged.folded_hours, 2, "09:00 of both PCs");
    let (status, _, after) = get(&state, path, ADMIN).await;
    assert_eq!(status, StatusCode::OK);
    for sheet in ["Utilization", "Apps", "Licences"] {
        assert!(sheet_rows(&before, sheet).len() > 1, "{sheet} has rows");
        assert_eq!(
            sheet_rows(&after, sheet),
            sheet_rows(&before, sheet),
            "{sheet} is the same after aging"
        );
    }
    let snapshots = sheet_rows(&after, "Snapshots");
    let notes: Vec<&Vec<String>> = snapshots
        .iter()
        .filter(|r| {
            r.get(3)
                .is_some_and(|c| c.starts_with("Snapshots kept from here"))
        })
        .collect();
    assert_eq!(notes.len(), 2, "one note per PC: {notes:?}");
    // No snapshot of the day is counted twice: only the notes are left of pc-1.
    let kept = snapshots
        .iter()
        .filter(|r| r.get(2).is_some_and(|h| h == "pc-1"))
        .count();
    assert_eq!(kept, 1);
}
