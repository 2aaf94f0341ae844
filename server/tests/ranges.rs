//! A viewer cannot make the server allocate or work without bound: report ranges start where
//! the data does, answers have a size cap with a clear 400 past it, and every report route
//! treats `from` after `to` alike.

use axum::http::StatusCode;
use idlewatch_server::config::Config;
use idlewatch_server::state::AppState;
use serde_json::Value;

mod common;

use common::{VIEWER, store};
use idlewatch_protocol::time::now_ms;

const DAY: i64 = 86_400_000;

async fn get(state: &AppState, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = common::call(state, common::get_request(path, Some(VIEWER))).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn usage_from_year_one_starts_at_the_first_stored_day() {
    let state = common::state_with(Config::default());
    let now = now_ms();
    for k in 0..3 {
        let at = now - 2 * DAY + k * 5_000;
        store(
            &state,
            &format!(r#"{{"host":"pc","captured_at":{at}}}"#),
            at,
        );
    }
    let (status, body) = get(&state, "/api/v1/usage?from=0001-01-01").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let days = body["hosts"][0]["days"].as_array().unwrap();
    assert!(
        (2..=3).contains(&days.len()),
        "the first stored day to today, not two thousand years: {}",
        days.len()
    );
}

#[tokio::test]
async fn an_answer_past_the_host_day_cap_is_a_clear_400() {
    let state = common::state_with(Config::default());
    // Five hosts with data since 1970: 20,000+ days each, 100,000+ host-days.
    let now = now_ms();
    for h in 0..5 {
        for at in [DAY, now - 60_000] {
            store(
                &state,
                &format!(r#"{{"host":"pc-{h}","captured_at":{at}}}"#),
                at,
            );
        }
    }
    let (status, body) = get(&state, "/api/v1/usage?from=1970-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("at most 100000"), "{message}");
    assert!(message.contains("`host`"), "{message}");
    // One host of them fits, and counts from its first day.
    let (status, body) = get(&state, "/api/v1/usage?from=1970-01-01&host=pc-0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let days = body["hosts"][0]["days"].as_array().unwrap();
    assert_eq!(days[0]["date"], "1970-01-02");
    assert!(days.len() > 20_000);
}

#[tokio::test]
async fn every_report_route_refuses_from_after_to() {
    let state = common::state_with(Config::default());
    store(&state, r#"{"host":"pc","captured_at":1000}"#, 1000);
    for path in [
        "/api/v1/hosts/pc/history?from=2026-11-02&to=2026-11-01",
        "/api/v1/hosts/pc/timeline?from=2026-11-02&to=2026-11-01",
        "/api/v1/usage?from=2026-11-02&to=2026-11-01",
    ] {
        let (status, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("`from`"), "{path}: {message}");
    }
}

#[tokio::test]
async fn a_timeline_spans_at_most_a_month() {
    let state = common::state_with(Config::default());
    store(&state, r#"{"host":"pc","captured_at":1000}"#, 1000);
    let (status, body) = get(
        &state,
        "/api/v1/hosts/pc/timeline?from=2026-01-01&to=2026-03-01",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 31 days")
    );
    let (status, _) = get(
        &state,
        "/api/v1/hosts/pc/timeline?from=2026-01-01&to=2026-01-31",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn history_pages_stop_at_their_byte_budget() {
    let state = common::state_with(Config::default());
    // 20 snapshots of ~1 MB: 10,000 per page would be 20 MB; a page stops at 16 MiB.
    let pad = "x".repeat(1_000_000);
    for k in 0..20 {
        let at = 1_000 + k * 5_000;
        store(
            &state,
            &format!(r#"{{"host":"pc","captured_at":{at},"pad":"{pad}"}}"#),
            at,
        );
    }
    let (status, body) = get(&state, "/api/v1/hosts/pc/history?limit=10000").await;
    assert_eq!(status, StatusCode::OK);
    let page = body["snapshots"].as_array().unwrap().len();
    assert_eq!(
        page, 17,
        "16 MiB holds 16 whole snapshots; the 17th crosses it"
    );
    assert!(body["next_cursor"].is_string());
}
