//! Bad input never crashes the server, is never relayed or kept, and gets a clear error: as an
//! ack when the client asked for one, otherwise as an `error` event.

use std::time::{Duration, Instant};

use idlewatch_tests::{Connect, Peer, PeerKind, Server};
use serde_json::{Value, json};

struct Rig {
    server: Server,
    dashboard: Peer,
    agent: Peer,
}

fn rig(agent_kind: PeerKind) -> Rig {
    let server = Server::start_open();
    let mut dashboard = Peer::start(PeerKind::Node);
    dashboard.connect_ok(&server, &Connect::websocket());
    let mut agent = Peer::start(agent_kind);
    agent.connect_ok(&server, &Connect::websocket().register("bad-pc"));
    agent.wait_event("registered", |_| true);
    Rig {
        server,
        dashboard,
        agent,
    }
}

impl Rig {
    /// After bad input: nothing was relayed, nothing is stored, and the server still works.
    fn assert_nothing_leaked_and_still_serving(&mut self) {
        self.dashboard.settle(Duration::from_millis(200));
        assert!(
            self.dashboard.events("telemetry").is_empty(),
            "bad input was relayed"
        );
        assert_eq!(self.server.get("/data", None).json(), json!({}));
        assert_eq!(self.server.get("/healthz", None).status, 200);
        let good = json!({"host": "bad-pc", "idle_seconds": 1.5});
        self.agent.emit("agent_snapshot", &good, false);
        self.dashboard.wait_event("telemetry", |d| d == &good);
    }
}

fn ack_error(rig: &mut Rig, payload: &Value) -> Value {
    let ack = rig
        .agent
        .emit("agent_snapshot", payload, true)
        .expect("ack");
    assert_eq!(ack["ok"], false, "{payload} -> {ack}");
    ack["error"].clone()
}

#[test]
fn non_objects_are_refused_with_invalid_payload() {
    let mut rig = rig(PeerKind::Python);
    for payload in [
        json!([1, 2]),
        json!("pc"),
        json!(42),
        json!(null),
        json!(true),
    ] {
        let error = ack_error(&mut rig, &payload);
        assert_eq!(error["code"], "invalid_payload", "{payload}: {error}");
    }
    rig.assert_nothing_leaked_and_still_serving();
}

#[test]
fn wrong_types_are_refused_naming_the_field() {
    let mut rig = rig(PeerKind::Node);
    for (payload, field) in [
        (json!({"host": 7}), "host"),
        (json!({"idle_seconds": 3}), "host"),
        (
            json!({"host": "bad-pc", "cpu_percent": "high"}),
            "cpu_percent",
        ),
        (
            json!({"host": "bad-pc", "user_active": "yes"}),
            "user_active",
        ),
        (
            json!({"host": "bad-pc", "idle_seconds": -4}),
            "idle_seconds",
        ),
        (
            json!({"host": "bad-pc", "processes": [{"pid": "one"}]}),
            "processes",
        ),
        (
            json!({"host": "bad-pc", "processes": {"pid": 1}}),
            "processes",
        ),
        (json!({"host": ""}), "host"),
        (json!({"host": "a\u{0001}b"}), "host"),
        (json!({"host": "x".repeat(254)}), "host"),
    ] {
        let error = ack_error(&mut rig, &payload);
        assert_eq!(error["code"], "invalid_field", "{payload}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(field), "{payload}: {message}");
    }
    rig.assert_nothing_leaked_and_still_serving();
}

#[test]
fn without_ack_a_refusal_comes_as_an_error_event() {
    let mut rig = rig(PeerKind::Python);
    rig.agent.emit(
        "agent_snapshot",
        &json!({"host": "bad-pc", "memory_percent": []}),
        false,
    );
    let event = rig.agent.wait_event("error", |_| true);
    assert_eq!(event["event"], "agent_snapshot");
    assert_eq!(event["error"]["code"], "invalid_field");
    rig.assert_nothing_leaked_and_still_serving();
}

#[test]
fn too_many_processes_are_refused() {
    let mut rig = rig(PeerKind::Python);
    let processes: Vec<Value> = (0..10_001)
        .map(|i| json!({"pid": i, "name": "p"}))
        .collect();
    let error = ack_error(&mut rig, &json!({"host": "bad-pc", "processes": processes}));
    assert_eq!(error["code"], "too_many_processes", "{error}");
    rig.assert_nothing_leaked_and_still_serving();
}

#[test]
fn a_2_mib_payload_is_dropped_and_the_server_keeps_serving() {
    for how in [Connect::websocket(), Connect::polling_then_upgrade()] {
        let server = Server::start_open();
        let mut dashboard = Peer::start(PeerKind::Node);
        dashboard.connect_ok(&server, &Connect::websocket());
        let mut big = Peer::start(PeerKind::Python);
        big.connect_ok(&server, &how.clone().register("big-pc"));
        let huge = json!({"host": "big-pc", "pad": "x".repeat(2 << 20)});
        big.emit("agent_snapshot", &huge, false);
        // Over the transport limit the connection is closed: an abuse limit.
        big.wait_for("a disconnect", |v| v["type"] == "disconnect");
        dashboard.settle(Duration::from_millis(300));
        assert!(dashboard.events("telemetry").is_empty());
        assert_eq!(server.get("/data", None).json(), json!({}));

        let mut next = Peer::start(PeerKind::Python);
        next.connect_ok(&server, &Connect::websocket().register("next-pc"));
        let ack = next
            .emit("agent_snapshot", &json!({"host": "next-pc"}), true)
            .unwrap();
        assert_eq!(ack["ok"], true);
        dashboard.wait_event("telemetry", |d| d["host"] == "next-pc");
    }
}

#[test]
fn unknown_events_are_ignored_and_the_connection_stays() {
    let mut rig = rig(PeerKind::Python);
    rig.agent
        .emit("format_c_drive", &json!({"now": true}), false);
    rig.agent
        .emit("telemetry", &json!({"host": "spoofed"}), false);
    rig.assert_nothing_leaked_and_still_serving();
}

#[test]
fn ten_thousand_invalid_emits_leave_the_server_answering() {
    let mut rig = rig(PeerKind::Node);
    rig.agent.emit_many(
        "agent_snapshot",
        &json!({"host": "bad-pc", "cpu_percent": "x"}),
        10_000,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        let metrics = rig.server.get("/metrics", None).body;
        if metric(
            &metrics,
            "idlewatch_snapshots_rejected_total{code=\"invalid_field\"}",
        ) == 10_000
        {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not handle every emit:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Every refusal is answered, unless the client reads so slowly that its socket buffer
    // fills: such answers are dropped and counted, never queued without bound.
    let dropped = metric(&metrics, "idlewatch_events_dropped_total");
    rig.agent.wait_event_count("error", 10_000 - dropped);
    let ack = rig
        .agent
        .emit("agent_snapshot", &json!({"host": 0}), true)
        .unwrap();
    assert_eq!(ack["ok"], false, "{ack}");
    // One line at info for the first refusal; the rest only at debug.
    let refusals = rig.server.log().matches("refused:").count();
    assert_eq!(refusals, 1, "{}", rig.server.log());
    rig.assert_nothing_leaked_and_still_serving();
}

fn metric(text: &str, name: &str) -> usize {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
}
