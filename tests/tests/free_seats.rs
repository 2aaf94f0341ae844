//! The free-seat view against the real server binary: `GET /api/v1/seats` and the Socket.IO
//! `seats` rooms, public and private, read by anonymous python-socketio and socket.io-client
//! peers. Anonymous answers carry seats only — never users, processes, titles or foreground
//! apps — and anonymous sockets get no telemetry and cannot report.

use std::time::Duration;

use idlewatch_protocol::api::{SeatMap, SeatState, SeatsView};
use idlewatch_protocol::time::{now_ms, rfc3339_ms};
use idlewatch_tests::{Connect, Peer, PeerKind, Server, send_all, wait_until};
use serde_json::{Value, json};

/// What no anonymous answer may contain: a user, a process, a window title, a foreground app.
const PRIVATE: [&str; 4] = ["zelda.q", "solver-x.exe", "Thesis draft", "calc-fg.exe"];

fn snapshot(host: &str, idle: f64, apps: &[(&str, bool)]) -> Value {
    let watched: serde_json::Map<String, Value> = apps
        .iter()
        .map(|(app, running)| ((*app).to_owned(), json!({ "running": running })))
        .collect();
    json!({
        "host": host,
        "captured_at": rfc3339_ms(now_ms()),
        "idle_seconds": idle,
        "user_active": idle < 60.0,
        "session": {"user": "zelda.q", "source": "helper"},
        "foreground_process": "calc-fg.exe",
        "foreground_title": "Thesis draft - Writer",
        "processes": [{"pid": 1, "name": "solver-x.exe", "user": "zelda.q", "cpu_percent": 1.0}],
        "watched": watched,
    })
}

const PLAN: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100">
  <rect id="wall" x="0" y="0" width="200" height="4"/>
  <g id="LIB01"><rect x="10" y="20" width="40" height="30"/></g>
  <rect id="lib02" x="60" y="20" width="40" height="30"/>
</svg>"##;

fn config(dir: &std::path::Path, public: bool) -> std::path::PathBuf {
    let plan = dir.join("library.svg");
    std::fs::write(&plan, PLAN).unwrap();
    let path = dir.join("server.toml");
    std::fs::write(
        &path,
        format!(
            "[report.groups]\n\"Lab CTI\" = [\"pc01\", \"pc02\", \"pc03\"]\n\"Library\" = [\"lib01\"]\n\n\
             [seats]\npublic = {public}\ngroups = [\"Lab CTI\", \"library\"]\nidle_after = \"10m\"\n\n\
             [[seats.maps]]\ngroup = \"Lab CTI\"\nrows = [\"pc01 pc02 . pc03\", \"pc04\"]\n\n\
             [[seats.maps]]\ngroup = \"Library\"\nsvg = \"{}\"\n",
            plan.display()
        ),
    )
    .unwrap();
    path
}

fn start(public: bool) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), public);
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    (dir, server)
}

fn assert_private_free(what: &str, text: &str) {
    for secret in PRIVATE {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

#[test]
fn the_public_seat_view_shows_seats_and_nothing_private() {
    let (_dir, server) = start(true);
    // pc01 in use with MATLAB, pc02 idle an hour (free; ran Ansys), pc03 reported then left
    // (offline), lib01 nobody logged on.
    let mut snapshots = vec![
        snapshot("pc01", 4.0, &[("MATLAB", true), ("Ansys", false)]),
        snapshot("pc02", 3600.0, &[("Ansys", true)]),
        snapshot("pc03", 0.0, &[]),
    ];
    let mut empty = snapshot("lib01", 0.0, &[]);
    empty["idle_source"] = json!("no_session");
    empty.as_object_mut().unwrap().remove("idle_seconds");
    empty.as_object_mut().unwrap().remove("session");
    snapshots.push(empty);
    // A staff PC: its lab is not one the seat view shows, nor is its software.
    let mut office = snapshot("office-7", 0.0, &[("Payroll", true)]);
    office["group"] = json!("Staff");
    snapshots.push(office);
    let agents = send_all(&server, &snapshots, &["pc01", "pc02", "lib01", "office-7"]);

    // The view is recomputed every second: wait for the round after the snapshots.
    let mut answer = server.get("/api/v1/seats", None);
    wait_until(
        "the seats of the snapshots",
        Duration::from_secs(10),
        || {
            answer = server.get("/api/v1/seats", None);
            answer.status == 200 && answer.body.contains("lib01")
        },
    );
    assert_private_free("GET /api/v1/seats", &answer.body);
    assert!(
        !answer.body.contains("office-7")
            && !answer.body.contains("Staff")
            && !answer.body.contains("Payroll"),
        "a lab not in seats.groups is shown: {}",
        answer.body
    );
    let view: SeatsView = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        (view.free, view.in_use, view.offline),
        (2, 1, 1),
        "{view:?}"
    );
    assert_eq!(view.apps, ["Ansys", "MATLAB"]);
    assert_eq!(view.idle_after_seconds, 600.0);
    let cti = &view.groups[0];
    assert_eq!(cti.group.as_deref(), Some("Lab CTI"));
    let state = |h: &str| cti.seats.iter().find(|s| s.host == h).unwrap().state;
    assert_eq!(state("pc01"), SeatState::InUse);
    assert_eq!(state("pc02"), SeatState::Free);
    assert_eq!(state("pc03"), SeatState::Offline);
    let pc01 = cti.seats.iter().find(|s| s.host == "pc01").unwrap();
    assert_eq!(pc01.installed, ["MATLAB"], "not running is not installed");
    assert!(
        matches!(&cti.map, Some(SeatMap::Rows { rows }) if rows[0].len() == 4 && rows[0][2].is_none())
    );
    let library = &view.groups[1];
    assert_eq!((library.free, library.in_use), (1, 0));
    let Some(SeatMap::Svg { url }) = &library.map else {
        panic!("{library:?}")
    };
    let plan = server.get(url, None);
    assert_eq!(plan.status, 200);
    assert!(plan.body.contains("LIB01"));
    assert!(
        plan.headers
            .iter()
            .any(|(k, v)| k == "content-security-policy" && v.contains("default-src 'none'")),
        "{:?}",
        plan.headers
    );
    // One lab, by name without case.
    let one: SeatsView =
        serde_json::from_str(&server.get("/api/v1/seats?group=library", None).body).unwrap();
    assert_eq!(one.groups.len(), 1);
    assert_eq!(server.get("/api/v1/seats?host=pc01", None).status, 400);
    assert_eq!(server.get("/api/v1/seats/maps/Nowhere", None).status, 404);
    // The page is public; nothing else is.
    let page = server.get("/seats", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Free PCs"));
    assert_eq!(server.get("/api/v1/hosts", None).status, 401);
    assert_eq!(server.get("/data", None).status, 401);
    // A token given is checked even on a public view.
    assert_eq!(server.get("/api/v1/seats", Some("not-a-token")).status, 401);

    // Anonymous sockets: every seat at once, then changes; never telemetry or the agent list.
    let mut python = Peer::start(PeerKind::Python);
    python.connect_ok(
        &server,
        &Connect {
            auth: Some(json!({"view": "seats"})),
            ..Connect::websocket()
        },
    );
    let full = python.wait_event("seats", |d| d["full"] == true);
    assert_eq!(full["seats"].as_array().unwrap().len(), 4, "{full}");
    assert_private_free("the seats event", &full.to_string());
    let mut node = Peer::start(PeerKind::Node);
    node.connect_ok(
        &server,
        &Connect {
            auth: Some(json!({"view": "seats", "groups": ["LIBRARY"]})),
            ..Connect::polling_then_upgrade()
        },
    );
    let full = node.wait_event("seats", |d| d["full"] == true);
    let hosts: Vec<&str> = full["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["lib01"]);

    // pc01's user walks away: the change reaches the all-labs socket, not the Library one.
    // (A round after the hosts appeared goes by first: it sends them all, as they are new.)
    python.settle(Duration::from_millis(1500));
    let _later = send_all(
        &server,
        &[snapshot("pc01", 900.0, &[("MATLAB", true)])],
        &[],
    );
    // (The test's peers start slowly: pc01 may have gone offline for silence meanwhile.)
    let change = python.wait_event("seats", |d| {
        d["full"] == false
            && d["seats"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["host"] == "pc01" && s["state"] == "free")
    });
    assert_eq!(
        change["seats"].as_array().unwrap().len(),
        1,
        "only changes are sent: {change}"
    );
    // lib01 goes offline: its agent disconnects; both sockets hear it.
    drop(agents);
    let gone = node.wait_event("seats", |d| {
        d["full"] == false
            && d["seats"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["host"] == "lib01")
    });
    assert!(
        gone["seats"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["group"] == "Library"),
        "{gone}"
    );
    python.settle(Duration::from_secs(2));
    node.settle(Duration::from_millis(200));
    for peer in [&mut python, &mut node] {
        assert!(
            peer.events("telemetry").is_empty(),
            "telemetry reached an anonymous socket"
        );
        assert!(
            peer.events("agent_list").is_empty(),
            "agent_list reached an anonymous socket"
        );
        for event in peer.events("seats") {
            assert_private_free("a seats event", &event.to_string());
        }
    }
    assert!(
        node.events("seats")
            .iter()
            .all(|e| !e.to_string().contains("pc01"))
    );

    // A PC moving from the Library to Lab CTI: the Library's socket hears it left.
    let mut roamer = snapshot("roamer", 4000.0, &[]);
    roamer["group"] = json!("Library");
    let _roaming = send_all(&server, &[roamer.clone()], &["roamer"]);
    node.wait_event("seats", |d| {
        d["seats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["host"] == "roamer")
    });
    roamer["group"] = json!("Lab CTI");
    roamer["captured_at"] = json!(rfc3339_ms(now_ms()));
    let _moved = send_all(&server, &[roamer.clone()], &[]);
    let left = node.wait_event("seats", |d| {
        d["seats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["host"] == "roamer" && s["group"] == "Lab CTI")
    });
    assert_private_free("a move", &left.to_string());
    assert_eq!(
        left["seats"][0]["installed"],
        json!([]),
        "the lab it left is not told its software: {left}"
    );
    // It moves on to a staff office, which the view does not show: the pages showing it are
    // told it is gone, by name only.
    roamer["group"] = json!("Staff");
    roamer["captured_at"] = json!(rfc3339_ms(now_ms()));
    let _gone = send_all(&server, &[roamer], &[]);
    let gone = python.wait_event("seats", |d| d["removed"] == json!(["roamer"]));
    assert!(!gone.to_string().contains("Staff"), "{gone}");

    // An anonymous socket cannot report.
    python.emit("agent_snapshot", &snapshot("intruder", 0.0, &[]), false);
    python.emit("agent_register", &json!({"host": "intruder"}), false);
    python.settle(Duration::from_secs(1));
    let tokens = server.tokens();
    assert!(
        !server
            .get("/api/v1/hosts", Some(&tokens.viewer))
            .body
            .contains("intruder")
    );

    // Without `view`, no token is still no token; an unknown view says what to use.
    let mut peer = Peer::start(PeerKind::Node);
    let outcome = peer.connect(&server, &Connect::websocket());
    assert_eq!(outcome["type"], "connect_error", "{outcome}");
    let mut peer = Peer::start(PeerKind::Node);
    let outcome = peer.connect(
        &server,
        &Connect {
            auth: Some(json!({"view": "hosts"})),
            ..Connect::websocket()
        },
    );
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("unknown view"),
        "{outcome}"
    );
}

#[test]
fn a_private_seat_view_needs_the_viewer_token() {
    let (_dir, server) = start(false);
    let _agents = send_all(&server, &[snapshot("pc01", 4.0, &[])], &["pc01"]);
    let tokens = server.tokens().clone();
    let anonymous = server.get("/api/v1/seats", None);
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("not public"), "{}", anonymous.body);
    assert_eq!(server.get("/api/v1/seats", Some(&tokens.agent)).status, 403);
    let viewer = server.get("/api/v1/seats", Some(&tokens.viewer));
    assert_eq!(viewer.status, 200);
    assert_eq!(server.get("/api/v1/seats/maps/Library", None).status, 401);
    // The page itself is served (it asks for the token).
    assert_eq!(server.get("/seats", None).status, 200);

    let mut peer = Peer::start(PeerKind::Python);
    let outcome = peer.connect(
        &server,
        &Connect {
            auth: Some(json!({"view": "seats"})),
            ..Connect::websocket()
        },
    );
    assert_eq!(outcome["type"], "connect_error", "{outcome}");
    assert!(
        outcome["message"].as_str().unwrap().contains("not public"),
        "{outcome}"
    );
    let mut peer = Peer::start(PeerKind::Python);
    let outcome = peer.connect(
        &server,
        &Connect {
            auth: Some(json!({"view": "seats", "token": tokens.agent})),
            ..Connect::websocket()
        },
    );
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("may not read the seat view"),
        "{outcome}"
    );
    let mut peer = Peer::start(PeerKind::Python);
    peer.connect_ok(
        &server,
        &Connect {
            auth: Some(json!({"view": "seats", "token": tokens.viewer})),
            ..Connect::websocket()
        },
    );
    // On connecting, the seats of the last round (up to a second old), then the changes.
    peer.wait_event("seats", |d| d["full"] == true);
    let pc01 = peer.wait_event("seats", |d| {
        d["seats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["host"] == "pc01")
    });
    assert_eq!(pc01["seats"][0]["state"], "in_use", "{pc01}");
    peer.settle(Duration::from_secs(1));
    assert!(peer.events("telemetry").is_empty());
}

#[test]
fn floor_plans_are_served_as_drawing_only_and_bad_maps_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("lab.svg");
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[seats]\npublic = true\ngroups = [\"Lab\"]\n\n[[seats.maps]]\ngroup = \"Lab\"\nsvg = \"{}\"\n",
            plan.display()
        ),
    )
    .unwrap();
    // Not SVG: refused with the map named.
    std::fs::write(&plan, "<html><body/></html>").unwrap();
    let failure = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
        .err()
        .expect("the server refuses the plan");
    assert!(
        failure.stderr.contains("seats.maps[0]") && failure.stderr.contains("not <svg>"),
        "{}",
        failure.stderr
    );
    // A handler, a script and an animation that sets a link: served without them, and said so.
    std::fs::write(
        &plan,
        r##"<svg xmlns="http://www.w3.org/2000/svg"><script>steal()</script><a href="#pc01"><set attributeName="href" to="javascript:steal()"/><rect id="pc01" onclick="steal()"/></a></svg>"##,
    )
    .unwrap();
    let server = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
        .unwrap_or_else(|f| panic!("{}", f.stderr));
    let served = server.get("/api/v1/seats/maps/Lab", None);
    assert_eq!(served.status, 200);
    assert!(served.body.contains(r#"id="pc01""#), "{}", served.body);
    for bad in ["steal", "script", "onclick", "<set"] {
        assert!(!served.body.contains(bad), "{bad} served: {}", served.body);
    }
    assert!(server.log().contains("shown without"), "{}", server.log());
    std::fs::write(
        &config,
        "[[seats.maps]]\ngroup = \"Lab\"\nrows = [\"pc01 pc02\", \"pc02\"]\n",
    )
    .unwrap();
    let failure = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
        .err()
        .expect("the server refuses the map");
    assert!(
        failure.stderr.contains("pc02 appears twice"),
        "{}",
        failure.stderr
    );
}
