//! Reports never fail on data: a foreground app longer than a cell holds, thousands of watched
//! apps, and more rows than a worksheet holds, each read back with calamine.

use std::io::Cursor;

use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use idlewatch_server::config::Config;
use idlewatch_server::report::xlsx::{
    EXCEL_DATA_ROWS, ExportRequest, MAX_APP_COLUMNS, write_report,
};

mod common;

use common::{ADMIN, store};

/// 2026-11-23T09:00:00Z.
const NINE: i64 = 1_795_424_400_000;

async fn export(state: &idlewatch_server::state::AppState) -> Xlsx<Cursor<Vec<u8>>> {
    let path = "/export.xlsx?from=2026-11-23&to=2026-11-24";
    let (status, _, body) = common::call(state, common::get_request(path, Some(ADMIN))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    open_workbook_from_rs(Cursor::new(body)).unwrap()
}

#[tokio::test]
async fn a_foreground_app_longer_than_a_cell_is_cut_with_an_ellipsis() {
    let state = common::state_with(Config::default());
    let long = "é".repeat(40_000);
    store(
        &state,
        &format!(r#"{{"host":"pc","captured_at":{NINE},"foreground_process":"{long}"}}"#),
        NINE,
    );
    let mut book = export(&state).await;
    let rows = book.worksheet_range("Snapshots").unwrap();
    let cell = rows.get((1, 7)).unwrap();
    let Data::String(text) = cell else {
        panic!("{cell:?}")
    };
    assert_eq!(text.encode_utf16().count(), 32_767);
    assert!(text.starts_with("éé") && text.ends_with('…'));
}

#[tokio::test]
async fn thousands_of_watched_apps_get_capped_columns_and_a_count() {
    let state = common::state_with(Config::default());
    // 16,400 apps: more than Excel's 16,384 columns. app00000..app00099 run, the rest do not;
    // app00000..app00009 also ran in an earlier snapshot, so they rank first.
    let apps = |running: usize| {
        (0..16_400)
            .map(|i| {
                let state = if i < running { "idle" } else { "not_running" };
                format!(r#""app{i:05}":{{"state":"{state}"}}"#)
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let snapshot = |at: i64, running: usize| {
        format!(
            r#"{{"host":"pc","captured_at":{at},"watched":{{{}}}}}"#,
            apps(running)
        )
    };
    store(&state, &snapshot(NINE, 10), NINE);
    store(&state, &snapshot(NINE + 5_000, 100), NINE + 5_000);
    let mut book = export(&state).await;
    let rows = book.worksheet_range("Snapshots").unwrap();
    let header: Vec<String> = rows
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(header.len(), 9 + MAX_APP_COLUMNS + 1, "{header:?}");
    assert!(header.contains(&"ansys".to_owned()) && header.contains(&"rocky".to_owned()));
    assert!(header.contains(&"app00000".to_owned()) && header.contains(&"app00009".to_owned()));
    assert_eq!(header.last().unwrap(), "Other apps running");
    let second = rows.rows().nth(2).unwrap();
    // 100 running, 48 of them with a column (50 less rocky and ansys).
    assert_eq!(second.last().unwrap(), &Data::Float(52.0));
    let per_app = book.worksheet_range("Apps").unwrap();
    assert_eq!(per_app.height(), 1 + 16_400, "every app keeps its row");
}

#[test]
fn a_sheet_past_its_row_limit_continues_on_the_next() {
    assert_eq!(
        EXCEL_DATA_ROWS, 1_048_575,
        "Excel's 1,048,576 rows less the header"
    );
    let state = common::state_with(Config::default());
    for i in 0..250 {
        let at = NINE + i * 5_000;
        store(
            &state,
            &format!(r#"{{"host":"pc","captured_at":{at}}}"#),
            at,
        );
    }
    let mut request = ExportRequest::new(vec!["pc".to_owned()], NINE, NINE + 3_600_000);
    request.rows_per_sheet = 100;
    let rules = Config::default().report.rules();
    let mut out = Cursor::new(Vec::new());
    let counts = write_report(&state.store, &request, &rules, &mut out).unwrap();
    assert_eq!(counts.snapshots, 250);
    assert_eq!(
        counts.sheets, 6,
        "three Snapshots parts, Utilization, Apps, Licences"
    );
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(out.into_inner())).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "Snapshots",
            "Utilization",
            "Apps",
            "Snapshots (2)",
            "Snapshots (3)",
            "Licences"
        ]
    );
    let mut captured = Vec::new();
    for (name, rows) in [
        ("Snapshots", 100),
        ("Snapshots (2)", 100),
        ("Snapshots (3)", 50),
    ] {
        let sheet = book.worksheet_range(name).unwrap();
        assert_eq!(sheet.height(), 1 + rows, "{name}");
        assert_eq!(
            sheet.get((0, 2)),
            Some(&Data::String("Host".into())),
            "{name} header"
        );
        captured.extend(sheet.rows().skip(1).map(|r| r[1].to_string()));
    }
    let mut sorted = captured.clone();
    sorted.sort();
    assert_eq!(captured, sorted, "rows continue in order");
    assert_eq!(captured.len(), 250);
}
