//! Viewer tokens scoped to labs, against the real server binary: a token issued with
//! `idlewatch-admin tokens issue --viewer --group "Lab CTI"` sees Lab CTI and nothing of the
//! Library in every route (`/`, `/data`, hosts, history, timeline, usage, the licence views and
//! the licence server's checkouts, alerts, seats), in every event a python-socketio dashboard
//! receives (`agent_list`, `telemetry`, `alert`, `seats`), is refused what is about the whole
//! server (`/metrics`, the status, the Sheets upload) or admin's, and stops at once when revoked
//! — open sockets too.

use std::path::Path;
use std::time::Duration;

use idlewatch_protocol::api::{HostsAnswer, LicenceServersAnswer, SeatsView};
use idlewatch_protocol::time::{now_ms, rfc3339_ms};
use idlewatch_tests::receiver::Receiver;
use idlewatch_tests::{Connect, Peer, PeerKind, Server, lmutil_printing, send_all, wait_until};
use serde_json::{Value, json};

/// The licence server's answer: one Ansys seat on a Lab CTI PC, one in the Library.
const LMSTAT: &str = "lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.
Flexible License Manager status on Wed 12/2/2026 10:15

License server status: 1055@lic1
    lic1: license server UP (MASTER) v11.19.0

Users of aa_r:  (Total of 10 licenses issued;  Total of 2 licenses in use)

  \"aa_r\" v2024.0630, vendor: ansyslmd, expiry: 31-dec-2026
  floating license

    ana pc01 pc01 (v2024.0630) (lic1/1055 101), start Mon 11/30 9:05
    lea lib01 lib01 (v2024.0630) (lic1/1055 102), start Mon 11/30 9:06
";

fn start(dir: &Path, hook: &Receiver) -> Server {
    let script = lmutil_printing(dir, LMSTAT);
    Server::with_config(
        dir,
        &format!(
            r#"
[report]
time_zone = "UTC"

[report.groups]
"Lab CTI" = ["pc01", "pc02"]
"Library" = ["lib01"]

[seats]
groups = ["Lab CTI", "Library"]

[[licence_servers]]
name = "ansys"
command = ["{script}"]
app = "ansys"

[[alerts]]
name = "ansys-idle"
kind = "licence_idle"
app = "ansys"
notify = ["hook"]

[notifiers.hook]
webhook = "{hook}"
"#,
            script = script.display(),
            hook = hook.url(),
        ),
    )
}

fn snapshot(host: &str, ansys: &str) -> Value {
    json!({
        "host": host,
        "captured_at": rfc3339_ms(now_ms()),
        "idle_seconds": 5,
        "user_active": true,
        "session": {"user": format!("user-of-{host}"), "source": "helper"},
        "foreground_process": format!("fg-of-{host}.exe"),
        "watched": {"Ansys": {"running": true, "state": ansys}},
    })
}

/// Issues a viewer token of `groups`: (id, token, groups as the server names them).
fn issue_viewer(server: &Server, groups: &[&str]) -> (u64, String, Vec<String>) {
    let mut args = vec!["tokens", "issue", "--viewer", "--format", "json"];
    for g in groups {
        args.extend(["--group", g]);
    }
    let (code, out, err) = server.admin(&args);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let groups = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_owned())
        .collect();
    (
        v["id"].as_u64().unwrap(),
        v["token"].as_str().unwrap().to_owned(),
        groups,
    )
}

/// What a Lab CTI token must never see: the Library PC, its user, its foreground app.
fn assert_no_library(what: &str, text: &str) {
    for secret in ["lib01", "user-of-lib01", "fg-of-lib01", "Library"] {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

#[test]
fn a_token_scoped_to_a_lab_sees_only_that_lab_in_every_route_and_event() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(&[]);
    let server = start(dir.path(), &hook);
    let admin = server.tokens().admin.clone();

    // A misspelt lab is refused, naming the labs there are.
    let (code, _, err) = server.admin(&["tokens", "issue", "--viewer", "--group", "Lab XYZ"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no host is in group \"Lab XYZ\"") && err.contains("Lab CTI, Library"),
        "{err}"
    );
    let (code, _, err) = server.admin(&["tokens", "issue", "--viewer"]);
    assert_ne!(code, 0, "a viewer token without a group: {err}");
    let (id, token, groups) = issue_viewer(&server, &["lab cti"]);
    assert_eq!(groups, ["Lab CTI"], "the server's spelling is kept");
    assert!(token.starts_with("iwv_"));
    let (code, out, err) = server.admin(&["tokens", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("viewer of Lab CTI"), "{out}");

    // The dashboard of the scoped token, connected before anything reports.
    let mut dashboard = Peer::start(PeerKind::Python);
    dashboard.connect_ok(&server, &Connect::websocket().token(&token));
    let first = dashboard.wait_event("agent_list", |_| true);
    assert_eq!(first["hosts"], json!([]));

    let agents = send_all(
        &server,
        &[snapshot("pc01", "idle"), snapshot("lib01", "idle")],
        &["pc01", "lib01"],
    );

    // Every route, beside what the unscoped viewer gets.
    let get = |path: &str| {
        let answer = server.get(path, Some(&token));
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_no_library(path, &answer.body);
        answer
    };
    let root = get("/").json();
    assert!(root["agents"]["pc01"].is_object(), "{root}");
    assert!(
        server.get("/", Some(&admin)).json()["agents"]["lib01"].is_object(),
        "the admin sees the Library"
    );
    assert!(get("/data").json()["pc01"].is_object());
    let hosts: HostsAnswer = get("/api/v1/hosts").json_as();
    assert_eq!(
        hosts
            .hosts
            .iter()
            .map(|h| h.host.as_str())
            .collect::<Vec<_>>(),
        ["pc01"]
    );
    assert_eq!(hosts.online, 1);
    for path in [
        "/api/v1/hosts/lib01/history",
        "/api/v1/hosts/lib01/timeline",
        "/api/v1/usage?host=lib01",
        "/api/v1/usage?group=Library",
        "/api/v1/licences/ansys/heatmap?group=Library",
    ] {
        let answer = server.get(path, Some(&token));
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert_eq!(
            server.get(path, Some(&admin)).status,
            200,
            "{path} for the admin"
        );
    }
    // Out of scope reads exactly as unknown.
    assert_eq!(
        server
            .get("/api/v1/hosts/lib01/history", Some(&token))
            .json()["error"]["message"],
        server
            .get("/api/v1/hosts/nowhere/history", Some(&token))
            .json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace("nowhere", "lib01")
    );
    wait_until("pc01's snapshot stored", Duration::from_secs(10), || {
        get("/api/v1/hosts/pc01/history").json()["snapshots"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    });
    get("/api/v1/hosts/pc01/timeline");
    let usage = get("/api/v1/usage").json();
    assert!(usage.to_string().contains("pc01"), "{usage}");
    get("/api/v1/licences");
    get("/api/v1/licences/ansys/heatmap");
    get("/api/v1/licences/ansys/simulate?reclaim_after=30m");

    // The licence server's view: its totals, the checkouts on Lab CTI's PCs only.
    let mut licences = LicenceServersAnswer {
        servers: Vec::new(),
    };
    wait_until("the licence server polled", Duration::from_secs(20), || {
        licences = get("/api/v1/licences/servers").json_as();
        licences.servers.iter().all(|s| s.polled_at.is_some())
    });
    let ansys = &licences.servers[0];
    assert_eq!((ansys.issued, ansys.in_use), (10, 2));
    let users: Vec<&str> = ansys.pools[0]
        .checkouts
        .iter()
        .map(|c| c.user.as_str())
        .collect();
    assert_eq!(users, ["ana"]);
    let everyone: LicenceServersAnswer = server
        .get("/api/v1/licences/servers", Some(&admin))
        .json_as();
    assert_eq!(everyone.servers[0].pools[0].checkouts.len(), 2);

    // Both PCs hold Ansys idle: two alerts, of which the token sees pc01's.
    wait_until("both alerts fired", Duration::from_secs(20), || {
        server.get("/api/v1/alerts", Some(&admin)).json()["alerts"]
            .as_array()
            .is_some_and(|a| a.len() == 2)
    });
    let alerts = get("/api/v1/alerts").json();
    let hosts: Vec<&str> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["pc01"]);

    // The seat view: Lab CTI only, whatever is asked.
    let mut seats = get("/api/v1/seats");
    wait_until(
        "the seats of the snapshots",
        Duration::from_secs(10),
        || {
            seats = get("/api/v1/seats");
            seats.body.contains("pc01")
        },
    );
    let view: SeatsView = seats.json_as();
    assert_eq!(
        view.groups
            .iter()
            .map(|g| g.group.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["Lab CTI"]
    );
    let asked: SeatsView = get("/api/v1/seats?group=Library").json_as();
    assert!(asked.groups.is_empty(), "{asked:?}");

    // What is about the whole server, or an admin's, is refused.
    for path in [
        "/metrics",
        "/api/v1/status",
        "/api/v1/exports/status",
        "/api/v1/tokens",
        "/export.xlsx",
    ] {
        let answer = server.get(path, Some(&token));
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
    }
    assert!(
        server
            .get("/metrics", Some(&token))
            .body
            .contains("scoped to labs"),
        "the refusal says why"
    );

    // The events: Lab CTI's only.
    dashboard.wait_event("agent_list", |d| d["hosts"] == json!(["pc01"]));
    dashboard.wait_event("telemetry", |d| d["host"] == "pc01");
    dashboard.wait_event("alert", |d| d["host"] == "pc01");
    let _more = send_all(
        &server,
        &[snapshot("lib01", "idle"), snapshot("pc01", "idle")],
        &[],
    );
    dashboard.wait_event_count("telemetry", 2);
    dashboard.settle(Duration::from_millis(1500));
    for event in dashboard.settle(Duration::ZERO).to_vec() {
        assert_no_library("an event to the scoped dashboard", &event.to_string());
    }
    assert!(
        dashboard
            .events("agent_list")
            .iter()
            .all(|d| d["hosts"].as_array().unwrap().len() <= 1)
    );

    // An unscoped dashboard still gets everything.
    let mut staff = Peer::start(PeerKind::Python);
    staff.connect_ok(
        &server,
        &Connect::websocket().token(&server.tokens().viewer),
    );
    staff.wait_event("agent_list", |d| {
        d["hosts"].as_array().is_some_and(|h| h.len() == 2)
    });

    // Revoked: refused at once over HTTP, and its open socket closed at once (nothing is
    // sent to it meanwhile).
    let (code, _, err) = server.admin(&["tokens", "revoke", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(server.get("/data", Some(&token)).status, 401);
    dashboard.wait_for("the server closing the socket", |v| {
        v["type"] == "disconnect"
    });
    let refused =
        Peer::start(PeerKind::Python).connect(&server, &Connect::websocket().token(&token));
    assert_eq!(refused["type"], "connect_error", "{refused}");
    drop(agents);
}

#[test]
fn a_scoped_token_reads_only_its_labs_on_the_seat_socket() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(&[]);
    let server = start(dir.path(), &hook);
    let _agents = send_all(
        &server,
        &[snapshot("pc01", "idle"), snapshot("lib01", "idle")],
        &["pc01", "lib01"],
    );
    let (id, token, _) = issue_viewer(&server, &["Lab CTI"]);
    // The seat view answers from its last round: wait for the one holding both PCs.
    wait_until("both PCs seated", Duration::from_secs(10), || {
        let all = server.get("/api/v1/seats", Some(&server.tokens().viewer));
        all.body.contains("pc01") && all.body.contains("lib01")
    });
    // It asks for the Library too: it gets Lab CTI only.
    let mut node = Peer::start(PeerKind::Node);
    node.connect_ok(
        &server,
        &Connect {
            auth: Some(json!({"view": "seats", "token": token, "groups": ["Library", "Lab CTI"]})),
            ..Connect::websocket()
        },
    );
    let full = node.wait_event("seats", |d| d["full"] == true);
    let hosts: Vec<&str> = full["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["pc01"], "{full}");
    // A scoped token holds at most `limits.connections_per_token` (4) connections: the seat view
    // and three dashboards here.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let refused = runtime.block_on(async {
        let mut open = Vec::new();
        for _ in 0..3 {
            open.push(
                idlewatch_client::Client::connect(&server.url(), Some(&token))
                    .await
                    .expect("a dashboard within the cap"),
            );
        }
        let fifth = idlewatch_client::Client::connect(&server.url(), Some(&token)).await;
        drop(open);
        fifth.err().map(|e| e.to_string())
    });
    let refused = refused.expect("the fifth connection must be refused");
    assert!(refused.contains("connections_per_token"), "{refused}");
    // Revoking the token closes the seat view at once.
    let (code, _, err) = server.admin(&["tokens", "revoke", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    node.wait_for("the server closing the seat view", |v| {
        v["type"] == "disconnect"
    });
}
