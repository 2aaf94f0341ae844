//! The HTTP API against the real binary: hosts, metrics, the dashboard page, the browser
//! redirect and JSON errors.

use idlewatch_protocol::WatchedState;
use idlewatch_protocol::api::HostsAnswer;
use idlewatch_tests::{Connect, Peer, PeerKind, Server, get};
use serde_json::json;

#[test]
fn hosts_lists_online_state_and_latest_figures() {
    let server = Server::start();
    let viewer = server.tokens().viewer.clone();
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(
        &server,
        &Connect::websocket()
            .token(&server.tokens().agent)
            .register("pc-9"),
    );
    let snapshot = json!({
        "host": "pc-9", "idle_seconds": 75.0, "user_active": false, "cpu_percent": 63.5,
        "memory_percent": 71.2, "foreground_process": "ansysedt.exe",
        "rocky_running": false, "ansys_running": true, "ansys_in_focus": true,
        "ansys_user_active": false, "processes": [{"pid": 1, "name": "a"}, {"pid": 2, "name": "b"}],
        "captured_at": "2026-11-26T08:00:00Z", "os": "windows"
    });
    agent.emit("agent_snapshot", &snapshot, true);
    let answer: HostsAnswer = server.get("/api/v1/hosts", Some(&viewer)).json_as();
    assert_eq!(answer.online, 1, "{answer:?}");
    let host = &answer.hosts[0];
    assert_eq!(host.host, "pc-9");
    assert!(host.online);
    assert_eq!(host.idle_seconds, Some(75.0));
    assert_eq!(host.process_count, Some(2));
    assert_eq!(
        host.captured_at.as_deref(),
        Some("2026-11-26T08:00:00.000Z")
    );
    assert_eq!(host.os.as_deref(), Some("windows"));
    assert_eq!(
        host.watched["ansys"].state,
        Some(WatchedState::Idle),
        "open licence, user away"
    );
    assert_eq!(host.watched["rocky"].state, Some(WatchedState::NotRunning));

    agent.disconnect();
    let answer: HostsAnswer = server.get("/api/v1/hosts", Some(&viewer)).json_as();
    assert!(!answer.hosts[0].online, "{answer:?}");
    assert_eq!(answer.offline, 1);
    assert_eq!(
        server.get("/data", Some(&viewer)).json()["pc-9"]["cpu_percent"],
        63.5
    );
}

#[test]
fn metrics_count_snapshots_and_sockets() {
    let server = Server::start_with(&["--open"], &[]);
    let mut agent = Peer::start(PeerKind::Node);
    agent.connect_ok(&server, &Connect::websocket().register("m-1"));
    agent.emit("agent_snapshot", &json!({"host": "m-1"}), true);
    agent.emit("agent_snapshot", &json!({"host": 1}), true);
    let metrics = server.get("/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let body = metrics.body;
    assert!(
        body.contains("idlewatch_snapshots_accepted_total 1\n"),
        "{body}"
    );
    assert!(
        body.contains("idlewatch_snapshots_rejected_total{code=\"invalid_field\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("idlewatch_sockets{kind=\"agent\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("idlewatch_hosts{state=\"online\"} 1\n"),
        "{body}"
    );
}

#[test]
fn public_metrics_need_no_token_when_configured() {
    let server = Server::start_with(&[], &[("IDLEWATCH_PUBLIC_METRICS", "true")]);
    assert_eq!(server.get("/metrics", None).status, 200);
    assert_eq!(server.get("/data", None).status, 401);
}

#[test]
fn a_browser_asking_for_root_is_sent_to_the_dashboard_with_its_token() {
    let server = Server::start();
    let answer = get(
        server.addr,
        "/?token=abc",
        &[("Accept", "text/html,application/xhtml+xml")],
    );
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header("location"), Some("/dashboard?token=abc"));
    let page = server.get("/dashboard", None);
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("/dashboard/app.js"));
    let script = server.get("/dashboard/app.js", None);
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.body.contains("/api/v1/hosts"));
    let client = server.get("/dashboard/socket.io.min.js", None);
    assert!(client.body.starts_with("/*!\n * Socket.IO v4.8.4"));
}

#[test]
fn unknown_routes_answer_a_json_404() {
    let server = Server::start_open();
    let answer = server.get("/nope", None);
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["error"]["code"], "not_found");
}
