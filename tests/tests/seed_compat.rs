//! An unchanged client of the Python original keeps working: python-socketio as the seed's
//! agent (registering in its connect handler, emitting without ack) and as a dashboard, and
//! socket.io-client as a dashboard, over polling-then-upgrade and websocket-only.

use idlewatch_tests::{Connect, Peer, PeerKind, Server, ordered_text, seed_payloads};
use serde_json::{Value, json};

fn seed_round_trip(dashboard_kind: PeerKind, how: fn() -> Connect) {
    let server = Server::start_open();
    let mut dashboard = Peer::start(dashboard_kind);
    dashboard.connect_ok(&server, &how());
    dashboard.wait_event("hello", |d| d == &json!({"msg": "connected"}));

    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(&server, &how().register("seed-agent"));
    agent.wait_event("registered", |d| d == &json!({"host": "seed-agent"}));
    if how().transports.len() == 2 {
        agent.wait_transport("websocket");
        dashboard.wait_transport("websocket");
    }
    dashboard.wait_event("agent_list", |d| d["hosts"] == json!(["seed-agent"]));

    // JavaScript has one number type, so socket.io-client turns `3.0` into `3`: compare what
    // Node received as numbers, and what Python received as exact text.
    let same = |a: &Value, b: &Value| match dashboard_kind {
        PeerKind::Python => ordered_text(a) == ordered_text(b),
        PeerKind::Node => ordered_text(&numbers_as_f64(a)) == ordered_text(&numbers_as_f64(b)),
    };
    for (shape, payload) in seed_payloads() {
        agent.emit("agent_snapshot", &payload, false);
        let got = dashboard.wait_event("telemetry", |d| same(d, &payload));
        assert!(same(&got, &payload), "{shape}");
    }
    assert_eq!(
        server.get("/data", None).json()["lab-srv-01"],
        seed_payloads()["headless_shape"]
    );
}

/// The value with every number as a float, keys in their order.
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn python_seed_agent_to_python_dashboard_over_polling_then_upgrade() {
    seed_round_trip(PeerKind::Python, Connect::polling_then_upgrade);
}

#[test]
fn python_seed_agent_to_python_dashboard_over_websocket_only() {
    seed_round_trip(PeerKind::Python, Connect::websocket);
}

#[test]
fn python_seed_agent_to_node_dashboard_over_polling_then_upgrade() {
    seed_round_trip(PeerKind::Node, Connect::polling_then_upgrade);
}

#[test]
fn python_seed_agent_to_node_dashboard_over_websocket_only() {
    seed_round_trip(PeerKind::Node, Connect::websocket);
}

#[test]
fn acked_snapshots_get_increasing_sequence_numbers_on_both_transports() {
    let server = Server::start();
    let token = server.tokens().agent.clone();
    for how in [Connect::polling_then_upgrade(), Connect::websocket()] {
        let mut agent = Peer::start(PeerKind::Python);
        agent.connect_ok(&server, &how.token(&token).register("acker"));
        let a = agent.emit(
            "agent_snapshot",
            &json!({"host": "acker", "idle_seconds": 1}),
            true,
        );
        let b = agent.emit(
            "agent_snapshot",
            &json!({"host": "acker", "idle_seconds": 2}),
            true,
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a["ok"], true, "{a}");
        assert!(
            b["seq"].as_u64().unwrap() > a["seq"].as_u64().unwrap(),
            "{a} {b}"
        );
    }
}

#[test]
fn node_client_can_send_acked_snapshots_too() {
    let server = Server::start_open();
    let mut agent = Peer::start(PeerKind::Node);
    agent.connect_ok(&server, &Connect::websocket().register("node-agent"));
    let ack = agent
        .emit(
            "agent_snapshot",
            &json!({"host": "node-agent", "cpu_percent": 12.5}),
            true,
        )
        .unwrap();
    assert_eq!(ack["ok"], true, "{ack}");
    let data = server.get("/data", None).json();
    assert_eq!(data["node-agent"]["cpu_percent"], 12.5);
}

#[test]
fn agents_never_receive_other_agents_telemetry() {
    let server = Server::start_open();
    let mut dashboard = Peer::start(PeerKind::Node);
    dashboard.connect_ok(&server, &Connect::websocket());
    let mut a = Peer::start(PeerKind::Python);
    a.connect_ok(&server, &Connect::websocket().register("pc-a"));
    a.wait_event("registered", |_| true);
    let mut b = Peer::start(PeerKind::Python);
    b.connect_ok(&server, &Connect::websocket().register("pc-b"));
    b.wait_event("registered", |_| true);

    a.emit("agent_snapshot", &json!({"host": "pc-a", "n": 1}), true);
    b.emit("agent_snapshot", &json!({"host": "pc-b", "n": 2}), true);
    dashboard.wait_event("telemetry", |d| d["host"] == "pc-a");
    dashboard.wait_event("telemetry", |d| d["host"] == "pc-b");
    // Both acks are in, so any relay to an agent would already be on its way; give it time.
    a.settle(std::time::Duration::from_millis(500));
    assert!(a.events("telemetry").is_empty(), "agent a got telemetry");
    assert!(b.events("telemetry").is_empty(), "agent b got telemetry");
    let lists_after_register = a
        .events("agent_list")
        .iter()
        .filter(|d| d["hosts"].to_string().contains("pc-b"))
        .count();
    assert_eq!(
        lists_after_register, 0,
        "agent a got agent_list after registering"
    );
}

#[test]
fn agent_list_follows_registers_and_disconnects() {
    let server = Server::start_open();
    let mut dashboard = Peer::start(PeerKind::Python);
    dashboard.connect_ok(&server, &Connect::websocket());
    let mut a = Peer::start(PeerKind::Python);
    a.connect_ok(&server, &Connect::websocket().register("lab-1"));
    dashboard.wait_event("agent_list", |d| d["hosts"] == json!(["lab-1"]));
    let mut b = Peer::start(PeerKind::Node);
    b.connect_ok(&server, &Connect::websocket().register("lab-2"));
    dashboard.wait_event("agent_list", |d| d["hosts"] == json!(["lab-1", "lab-2"]));
    a.disconnect();
    dashboard.wait_event("agent_list", |d| d["hosts"] == json!(["lab-2"]));

    // A dashboard connecting later is told the current list at once.
    let mut late = Peer::start(PeerKind::Node);
    late.connect_ok(&server, &Connect::websocket());
    late.wait_event("agent_list", |d| d["hosts"] == json!(["lab-2"]));
}

#[test]
fn data_and_root_answer_like_the_python_original() {
    let server = Server::start_open();
    let payloads = seed_payloads();
    let later = payloads["later_agent_shape"].clone();
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(
        &server,
        &Connect::polling_then_upgrade().register("LAB-CTI-07"),
    );
    agent.emit("agent_snapshot", &later, true);

    let data = server.get("/data", None);
    assert_eq!(data.status, 200);
    let data = data.json();
    assert_eq!(ordered_text(&data["LAB-CTI-07"]), ordered_text(&later));

    let root = server.get("/", None).json();
    assert_eq!(root["status"], "ok");
    let summary = &root["agents"]["LAB-CTI-07"];
    assert!(summary["ts"].as_f64().unwrap() > 1.7e9, "{summary}");
    for key in [
        "idle_seconds",
        "user_active",
        "cpu_percent",
        "memory_percent",
        "foreground_process",
        "rocky_running",
        "ansys_running",
        "rocky_in_focus",
        "ansys_in_focus",
        "rocky_user_active",
        "ansys_user_active",
    ] {
        assert_eq!(summary[key], later[key], "{key}");
    }
}

#[test]
fn a_snapshot_older_than_the_latest_is_accepted_but_not_relayed() {
    let server = Server::start_open();
    let mut dashboard = Peer::start(PeerKind::Node);
    dashboard.connect_ok(&server, &Connect::websocket());
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(&server, &Connect::websocket().register("replayer"));
    let newer = json!({"host": "replayer", "captured_at": 2_000_000, "seq": 2});
    let older = json!({"host": "replayer", "captured_at": 1_000_000, "seq": 1});
    assert_eq!(
        agent.emit("agent_snapshot", &newer, true).unwrap()["ok"],
        true
    );
    assert_eq!(
        agent.emit("agent_snapshot", &older, true).unwrap()["ok"],
        true
    );
    dashboard.wait_event("telemetry", |d| d["seq"] == 2);
    dashboard.settle(std::time::Duration::from_millis(300));
    let seqs: Vec<Value> = dashboard
        .events("telemetry")
        .iter()
        .map(|d| d["seq"].clone())
        .collect();
    assert_eq!(seqs, [json!(2)]);
    assert_eq!(server.get("/data", None).json()["replayer"]["seq"], 2);
}
