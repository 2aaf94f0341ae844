//! In-process tests of the HTTP routes: `App::new(state).router.oneshot(request)`.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use idlewatch_protocol::Snapshot;
use idlewatch_server::config::Config;
use idlewatch_server::state::AppState;
use serde_json::{Value, json};

mod common;

fn state() -> AppState {
    common::state_with(Config::default())
}

use common::{AGENT, VIEWER, store};

/// [`common::call`] with the body as text.
async fn call(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let (status, headers, body) = common::call(state, request).await;
    (status, headers, String::from_utf8(body).unwrap())
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    common::get_request(path, token)
}

fn record(state: &AppState, text: &str) {
    state
        .registry
        .record(&Snapshot::parse(text).unwrap(), SystemTime::now());
}

#[tokio::test]
async fn data_returns_each_latest_snapshot_verbatim() {
    let state = state();
    let text = r#"{"host":"b","z":1.50,"a":[1,{"y":true}]}"#;
    record(&state, text);
    record(&state, r#"{"host":"a"}"#);
    let (status, _, body) = call(&state, get("/data", Some(VIEWER))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!(r#"{{"a":{{"host":"a"}},"b":{text}}}"#));
}

#[tokio::test]
async fn data_escapes_host_names_as_json_keys() {
    let state = state();
    record(&state, r#"{"host":"lab \"7\" é"}"#);
    let (_, _, body) = call(&state, get("/data", Some(VIEWER))).await;
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["lab \"7\" é"]["host"], "lab \"7\" é");
}

#[tokio::test]
async fn agent_tokens_may_not_read() {
    let state = state();
    let (status, _, body) = call(&state, get("/api/v1/hosts", Some(AGENT))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["error"]["code"], "forbidden");
    assert!(
        value["error"]["message"]
            .as_str()
            .unwrap()
            .contains("viewer")
    );
}

#[tokio::test]
async fn a_query_token_works_for_browser_links() {
    let state = state();
    let (status, _, _) = call(&state, get(&format!("/api/v1/hosts?token={VIEWER}"), None)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn root_summarises_hosts_like_the_python_original() {
    let state = state();
    record(
        &state,
        r#"{"host":"pc","idle_seconds":3,"watched":{"ansys":{"running":true,"in_focus":true,"user_active":true}}}"#,
    );
    let (status, _, body) = call(&state, get("/", Some(VIEWER))).await;
    assert_eq!(status, StatusCode::OK);
    let value: Value = serde_json::from_str(&body).unwrap();
    let pc = &value["agents"]["pc"];
    assert_eq!(pc["idle_seconds"], 3.0);
    assert_eq!(pc["ansys_running"], true);
    assert_eq!(pc["ansys_user_active"], true);
    assert_eq!(pc["rocky_running"], Value::Null);
}

#[tokio::test]
async fn root_without_a_token_shows_no_host_activity() {
    let state = state();
    record(
        &state,
        r#"{"host":"pc","idle_seconds":3,"foreground_process":"x.exe"}"#,
    );
    for token in [None, Some("not-a-token-at-all"), Some(AGENT)] {
        let (status, _, body) = call(&state, get("/", token)).await;
        assert_eq!(status, StatusCode::OK, "{token:?}");
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value, json!({"status": "ok", "agents": {}}), "{token:?}");
    }
}

#[tokio::test]
async fn hosts_reports_counts_and_derived_watched_state() {
    let state = state();
    record(
        &state,
        r#"{"host":"pc","ansys_running":true,"ansys_in_focus":false}"#,
    );
    let (_, _, body) = call(&state, get("/api/v1/hosts", Some(VIEWER))).await;
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["online"], 0, "no agent socket: offline");
    assert_eq!(value["offline"], 1);
    assert_eq!(value["hosts"][0]["watched"]["ansys"]["state"], "idle");
    assert_eq!(
        value["hosts"][0]["watched"],
        json!({"ansys": {"running": true, "in_focus": false, "user_active": null, "cpu_percent": null, "state": "idle"}})
    );
}

#[tokio::test]
async fn healthz_and_unknown_routes() {
    let state = state();
    assert_eq!(call(&state, get("/healthz", None)).await.0, StatusCode::OK);
    let (status, _, body) = call(&state, get("/nowhere", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("not_found"));
}

#[tokio::test]
async fn metrics_need_a_viewer_token_by_default() {
    let state = state();
    assert_eq!(
        call(&state, get("/metrics", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, headers, body) = call(&state, get("/metrics", Some(VIEWER))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/plain"))
    );
    assert!(body.contains("idlewatch_http_refused_total 1"), "{body}");
}

#[tokio::test]
async fn history_pages_oldest_first_with_received_at_appended() {
    let state = state();
    for i in 0..5 {
        store(
            &state,
            &format!(
                r#"{{"host":"pc","captured_at":{},"n":{i}}}"#,
                1_795_680_000_000i64 + i * 5000
            ),
            1_795_680_000_000 + i * 5000 + 7,
        );
    }
    let (status, _, body) = call(
        &state,
        get("/api/v1/hosts/pc/history?limit=2", Some(VIEWER)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.starts_with(r#"{"host":"pc","snapshots":[{"host":"pc","captured_at":1795680000000,"n":0,"received_at":"2026-11-26T08:00:00.007Z"},"#),
        "{body}"
    );
    let mut seen = Vec::new();
    let mut next: Value = serde_json::from_str::<Value>(&body).unwrap()["next_cursor"].clone();
    let first: Value = serde_json::from_str(&body).unwrap();
    seen.extend(
        first["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["n"].as_i64().unwrap()),
    );
    while let Some(cursor) = next.as_str() {
        let (_, _, body) = call(
            &state,
            get(
                &format!("/api/v1/hosts/pc/history?limit=2&cursor={cursor}"),
                Some(VIEWER),
            ),
        )
        .await;
        let page: Value = serde_json::from_str(&body).unwrap();
        seen.extend(
            page["snapshots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["n"].as_i64().unwrap()),
        );
        next = page["next_cursor"].clone();
    }
    assert_eq!(seen, [0, 1, 2, 3, 4]);

    let (_, _, body) = call(
        &state,
        get(
            "/api/v1/hosts/pc/history?from=2026-11-26T08:00:05Z&to=2026-11-26T08:00:15Z",
            Some(VIEWER),
        ),
    )
    .await;
    let page: Value = serde_json::from_str(&body).unwrap();
    let ns: Vec<i64> = page["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [1, 2], "from inclusive, to exclusive");
}

#[tokio::test]
async fn history_errors_are_json_with_the_reason() {
    let state = state();
    store(&state, r#"{"host":"pc"}"#, 1);
    let (status, _, body) = call(&state, get("/api/v1/hosts/nobody/history", Some(VIEWER))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("nobody"), "{body}");
    let (status, _, body) = call(
        &state,
        get("/api/v1/hosts/pc/history?from=yesterday", Some(VIEWER)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["error"]["code"], "bad_request");
    assert!(
        value["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`from`"),
        "{body}"
    );
    let (status, _, _) = call(
        &state,
        get("/api/v1/hosts/pc/history?cursor=zzz", Some(VIEWER)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&state, get("/api/v1/hosts/pc/history", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn restoring_live_state_shows_stored_hosts_offline() {
    let state = state();
    store(
        &state,
        r#"{"host":"old-pc","idle_seconds":9}"#,
        1_795_680_000_000,
    );
    assert_eq!(idlewatch_server::restore_live_state(&state).unwrap(), 1);
    let (_, _, body) = call(&state, get("/api/v1/hosts", Some(VIEWER))).await;
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["hosts"][0]["host"], "old-pc");
    assert_eq!(value["hosts"][0]["online"], false);
    assert_eq!(value["hosts"][0]["received_at"], "2026-11-26T08:00:00.000Z");
    let (_, _, body) = call(&state, get("/data", Some(VIEWER))).await;
    assert_eq!(body, r#"{"old-pc":{"host":"old-pc","idle_seconds":9}}"#);
}

#[tokio::test]
async fn timeline_gives_activity_and_app_bands() {
    let state = state();
    // 10:00, 10:00:05 active with Ansys in use; 10:00:10 idle (covers 15 s at the default 5 s).
    let base = 1_795_687_200_000_i64; // 2026-11-26T10:00:00Z
    for (k, active) in [(0, true), (1, true), (2, false)] {
        let app = if active { "interactive" } else { "idle" };
        store(
            &state,
            &format!(
                r#"{{"host":"pc-1","captured_at":{},"user_active":{active},"watched":{{"Ansys":{{"state":"{app}"}}}}}}"#,
                base + k * 5000
            ),
            base + k * 5000,
        );
    }
    let path = "/api/v1/hosts/pc-1/timeline?from=2026-11-26T09:59:00Z&to=2026-11-26T10:01:00Z";
    let (status, _, body) = call(&state, get(path, Some(VIEWER))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let bands: Vec<(i64, i64, String)> = v["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["start"].as_i64().unwrap() - base,
                b["end"].as_i64().unwrap() - base,
                b["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        bands,
        [
            (-60_000, 0, "offline".to_owned()),
            (0, 10_000, "active".to_owned()),
            (10_000, 25_000, "idle".to_owned()),
            (25_000, 60_000, "offline".to_owned()),
        ]
    );
    assert_eq!(v["apps"]["Ansys"][1]["state"], "idle");
    let (status, _, _) = call(&state, get("/api/v1/hosts/nobody/timeline", Some(VIEWER))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&state, get(path, Some(AGENT))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cross_origin_access_only_for_configured_origins() {
    let origin_of = |state: &AppState, origin: &'static str| {
        let state = state.clone();
        async move {
            let mut request = get("/data", Some(VIEWER));
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
            let (status, headers, _) = call(&state, request).await;
            assert_eq!(status, StatusCode::OK);
            headers
                .iter()
                .find(|(k, _)| k == "access-control-allow-origin")
                .map(|(_, v)| v.clone())
        }
    };
    // Same-origin only by default.
    assert_eq!(origin_of(&state(), "https://intranet.example").await, None);
    let mut config = Config::default();
    config.auth.allowed_origins = vec!["https://intranet.example".to_owned()];
    let allowing = common::state_with(config);
    assert_eq!(
        origin_of(&allowing, "https://intranet.example")
            .await
            .as_deref(),
        Some("https://intranet.example")
    );
    assert_eq!(origin_of(&allowing, "https://evil.example").await, None);
}
