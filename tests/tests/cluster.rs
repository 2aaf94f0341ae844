//! Cluster mode with a real Redis (Debian's redis-server on loopback) and real server
//! processes: a dashboard on one server sees the agents and telemetry of another, `/data` is the
//! same on every server (one started later included), exactly one server leads, and when a
//! server is killed its hosts drop out of every `agent_list` and another server takes the lead
//! within one lease.

use std::path::Path;
use std::time::Duration;

use idlewatch_protocol::api::SheetsStatusAnswer;
use idlewatch_tests::google::{Google, TEST_EMAIL};
use idlewatch_tests::receiver::Receiver;
use idlewatch_tests::redis::Redis;
use idlewatch_tests::{Agent, Connect, Peer, PeerKind, Server, free_address, wait_until};
use serde_json::{Value, json};

/// The lease the servers hold the lead for: short, so a takeover is quick to see.
const LEASE: Duration = Duration::from_secs(2);

fn start(dir: &Path, name: &str, redis: &Redis) -> Server {
    start_with(dir, name, redis, "")
}

/// A server of the cluster with `extra` configuration after its `[cluster]` section.
fn start_with(dir: &Path, name: &str, redis: &Redis, extra: &str) -> Server {
    start_on(dir, name, redis, extra, "127.0.0.1:0")
}

/// As [`start_with`], listening on `listen`.
fn start_on(dir: &Path, name: &str, redis: &Redis, extra: &str, listen: &str) -> Server {
    let config = format!(
        "[cluster]\nredis_url = \"{}\"\nlease = \"{}s\"\n{extra}",
        redis.url(),
        LEASE.as_secs()
    );
    Server::try_start_configured(&dir.join(name), &config, listen)
        .unwrap_or_else(|f| panic!("{name} did not start: {}", f.stderr))
}

fn snapshot(host: &str, seq: u64) -> Value {
    json!({"host": host, "user": "ana", "idle_seconds": seq, "cpu_percent": 12.5,
           "memory_percent": 40.5, "foreground_app": "matlab.exe", "seq": seq})
}

/// A dashboard (a Python Socket.IO client) connected to `server`.
fn dashboard_on(server: &Server) -> Peer {
    let mut dashboard = Peer::start(PeerKind::Python);
    dashboard.connect_ok(server, &Connect::websocket());
    dashboard
}

fn leads(server: &Server) -> bool {
    server.metric("idlewatch_cluster_lead") == 1
}

#[test]
fn servers_sharing_a_redis_show_every_host_and_one_leads() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let a = start(dir.path(), "a", &redis);
    let mut b = start(dir.path(), "b", &redis);

    let mut dashboard = dashboard_on(&a);
    dashboard.wait_event("hello", |_| true);

    let mut on_b = Peer::start(PeerKind::Node);
    on_b.connect_ok(&b, &Connect::websocket().register("lab-b-01"));
    on_b.wait_event("registered", |_| true);
    let mut on_a = Peer::start(PeerKind::Python);
    on_a.connect_ok(&a, &Connect::websocket().register("lab-a-01"));
    on_a.wait_event("registered", |_| true);

    // The dashboard on A lists the agent on B, and gets its telemetry.
    dashboard.wait_event("agent_list", |d| {
        d["hosts"] == json!(["lab-a-01", "lab-b-01"])
    });
    let sent = snapshot("lab-b-01", 1);
    on_b.emit("agent_snapshot", &sent, false);
    let got = dashboard.wait_event("telemetry", |d| d["host"] == "lab-b-01");
    assert_eq!(got, sent);
    on_a.emit("agent_snapshot", &snapshot("lab-a-01", 1), false);
    dashboard.wait_event("telemetry", |d| d["host"] == "lab-a-01");

    // `/data` is the same on both servers, and on one that starts later.
    let both = |s: &Server| {
        let data = s.get("/data", None).json();
        data.get("lab-a-01").is_some() && data.get("lab-b-01").is_some()
    };
    wait_until(
        "both servers to know both hosts",
        Duration::from_secs(10),
        || both(&a) && both(&b),
    );
    let data = a.get("/data", None).body;
    assert_eq!(b.get("/data", None).body, data);
    let c = start(dir.path(), "c", &redis);
    assert_eq!(c.get("/data", None).body, data, "read from Redis at start");
    // Every server says both hosts are online (C once it has read the others' agent lists).
    let online = |s: &Server| -> Vec<String> {
        s.get("/api/v1/hosts", None).json()["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["online"] == true)
            .map(|h| h["host"].as_str().unwrap().to_owned())
            .collect()
    };
    wait_until("every server to show both hosts online", LEASE, || {
        [&a, &b, &c]
            .iter()
            .all(|s| online(s) == ["lab-a-01", "lab-b-01"])
    });

    // Exactly one server leads.
    wait_until("a server to lead", LEASE * 4, || {
        [&a, &b, &c].iter().any(|s| leads(s))
    });
    for _ in 0..10 {
        let leaders = [&a, &b, &c].iter().filter(|s| leads(s)).count();
        assert!(leaders <= 1, "{leaders} servers lead at once");
        std::thread::sleep(LEASE / 20);
    }
    wait_until("every server to see the other two", LEASE * 2, || {
        [&a, &b, &c]
            .iter()
            .all(|s| s.get("/api/v1/status", None).json()["cluster"]["servers"] == 3)
    });
    let said_leading = [&a, &b, &c]
        .iter()
        .filter(|s| s.get("/api/v1/status", None).json()["cluster"]["leads"] == true)
        .count();
    assert_eq!(said_leading, 1, "the status says who leads");

    // B dies: its agent drops out of A's list; whoever leads now, exactly one does.
    b.signal_and_wait("KILL", Duration::from_secs(10));
    dashboard.wait_event("agent_list", |d| d["hosts"] == json!(["lab-a-01"]));
    wait_until("a surviving server to lead", LEASE * 4, || {
        leads(&a) != leads(&c)
    });
    let offline = |s: &Server| {
        s.get("/api/v1/hosts", None).json()["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["host"] == "lab-b-01" && h["online"] == false)
    };
    wait_until("B's host offline everywhere", LEASE, || {
        offline(&a) && offline(&c)
    });
}

#[test]
fn the_lead_moves_when_its_server_dies() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let mut servers = vec![
        start(dir.path(), "a", &redis),
        start(dir.path(), "b", &redis),
    ];
    wait_until("a server to lead", LEASE * 4, || servers.iter().any(leads));
    let first = servers.iter().position(leads).unwrap();
    let mut leader = servers.remove(first);
    leader.signal_and_wait("KILL", Duration::from_secs(10));
    // Within two leases (and a try) of the kill, the other leads: the dead one's key runs out
    // within one, and the other acts one lease after taking it.
    let took = wait_until("the other server to lead", LEASE * 4, || leads(&servers[0]));
    assert!(took <= LEASE * 5 / 2, "took {took:?}");
}

#[test]
fn a_server_given_an_unreachable_redis_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    let port = idlewatch_tests::free_address();
    std::fs::write(
        &config,
        format!("[cluster]\nredis_url = \"redis://{port}/0\"\n"),
    )
    .unwrap();
    let failed = Server::try_start(
        &["--open", "--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .err()
    .expect("no Redis, no start");
    assert!(
        failed.stderr.contains("cannot reach Redis") && failed.stderr.contains("cluster.redis_url"),
        "{}",
        failed.stderr
    );
}

#[test]
fn an_alert_about_a_host_on_any_server_is_told_once_and_shown_everywhere() {
    alert_told_once(false);
}

#[test]
fn an_alert_fired_by_a_leader_that_dies_is_resolved_by_the_next() {
    alert_told_once(true);
}

/// An alert about a host whose agent reports to the server that does not lead: fired and
/// resolved, each told once and shown on every dashboard — with `kill_leader`, the leader is
/// killed in between and the other server, leading then, tells the resolution.
fn alert_told_once(kill_leader: bool) {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let hook = Receiver::start(&[]);
    let rules = format!(
        "\n[[alerts]]\nname = \"ansys-idle\"\nkind = \"licence_idle\"\napp = \"ansys\"\n\
         for = \"1s\"\nnotify = [\"it\"]\n\n[notifiers.it]\nwebhook = \"{}\"\n",
        hook.url()
    );
    let mut servers = vec![
        start_with(dir.path(), "a", &redis, &rules),
        start_with(dir.path(), "b", &redis, &rules),
    ];
    wait_until("a server to lead", LEASE * 4, || servers.iter().any(leads));
    // The agent reports to the server that does not lead: the leader learns through Redis.
    let leader = servers.iter().position(leads).unwrap();
    let mut leader = servers.remove(leader);
    let follower = servers.pop().unwrap();
    let mut on_leader = dashboard_on(&leader);
    let mut on_follower = dashboard_on(&follower);
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(&follower, &Connect::websocket().register("lab-01"));
    agent.wait_event("registered", |_| true);
    let idle = |seq: u64| {
        json!({"host": "lab-01", "idle_seconds": 900, "user_active": false, "seq": seq,
               "watched": {"ansys": {"running": true, "state": "idle"}}})
    };
    for seq in 0..4 {
        agent.emit("agent_snapshot", &idle(seq), false);
        std::thread::sleep(Duration::from_millis(500));
    }
    let alert =
        |state: &'static str| move |a: &Value| a["alert"] == "ansys-idle" && a["state"] == state;
    on_leader.wait_event("alert", alert("firing"));
    on_follower.wait_event("alert", alert("firing"));
    wait_until("the notification", Duration::from_secs(10), || {
        !hook.delivered().is_empty()
    });
    if kill_leader {
        leader.signal_and_wait("KILL", Duration::from_secs(10));
        wait_until("the other server to lead", LEASE * 4, || leads(&follower));
    }
    agent.emit(
        "agent_snapshot",
        &json!({"host": "lab-01", "idle_seconds": 0, "user_active": true, "seq": 9,
                "watched": {"ansys": {"running": true, "state": "interactive"}}}),
        false,
    );
    on_follower.wait_event("alert", alert("resolved"));
    if !kill_leader {
        on_leader.wait_event("alert", alert("resolved"));
    }
    wait_until("the resolution", Duration::from_secs(10), || {
        hook.delivered().len() >= 2
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        hook.told(),
        ["\"ansys-idle\" \"firing\"", "\"ansys-idle\" \"resolved\""],
        "told once, by one server"
    );
    if kill_leader {
        // The new leader keeps the resolved alert.
        let kept = follower.get("/api/v1/alerts", None).json();
        assert_eq!(kept["alerts"][0]["state"], "resolved", "{kept}");
    }
}

#[test]
fn scheduled_sheets_uploads_run_on_the_lead_only_and_go_on_when_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let google = Google::with_test_key("sheet-1");
    let creds = google.test_credentials(dir.path(), TEST_EMAIL);
    let sheets = google.sheets_section("sheet-1", &creds, "1s");
    let mut servers = vec![
        start_with(dir.path(), "a", &redis, &sheets),
        start_with(dir.path(), "b", &redis, &sheets),
    ];
    let runs = |s: &Server| {
        s.get("/api/v1/exports/status", None)
            .json_as::<SheetsStatusAnswer>()
            .sheets
            .runs
    };
    wait_until("a server to lead", LEASE * 4, || servers.iter().any(leads));
    let leader = servers.iter().position(leads).unwrap();
    let mut leader = servers.remove(leader);
    let follower = servers.pop().unwrap();
    wait_until("the leader's uploads", Duration::from_secs(10), || {
        runs(&leader) >= 2
    });
    assert_eq!(
        runs(&follower),
        0,
        "the server that does not lead uploads nothing"
    );
    leader.signal_and_wait("KILL", Duration::from_secs(10));
    wait_until(
        "the other server's uploads",
        LEASE * 4 + Duration::from_secs(5),
        || runs(&follower) >= 1,
    );
    assert!(
        google.tab("Status").is_some(),
        "uploads reached the spreadsheet"
    );
}

#[test]
fn an_agent_whose_server_dies_goes_on_through_the_other_and_dashboards_see_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let listens = [free_address(), free_address()];
    let mut servers = [
        start_on(dir.path(), "a", &redis, "", &listens[0]),
        start_on(dir.path(), "b", &redis, "", &listens[1]),
    ];
    let mut dashboards: Vec<Peer> = servers.iter().map(dashboard_on).collect();
    let list = format!("http://{},http://{}", listens[0], listens[1]);
    let spool = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(
        &["--server", &list, "--interval", "1", "--host", "cluster-pc"],
        spool.path(),
    );
    // Both dashboards see it, whichever server it sends to.
    let seq = |d: &Value| d["seq"].as_u64().unwrap_or(0);
    for d in &mut dashboards {
        d.wait_event("telemetry", |t| t["host"] == "cluster-pc" && seq(t) >= 2);
    }
    let hosts_of = |s: &Server| s.get("/api/v1/hosts", None).json()["hosts"].clone();
    let on = |s: &Server| {
        hosts_of(s)
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["host"] == "cluster-pc" && h["online"] == true)
    };
    assert!(on(&servers[0]) && on(&servers[1]));
    // Kill the server it sends to (the one whose store has it).
    let history = "/api/v1/hosts/cluster-pc/history";
    let first = usize::from(servers[0].get(history, None).status != 200);
    let other = 1 - first;
    let before = dashboards[other]
        .events("telemetry")
        .iter()
        .map(seq)
        .max()
        .unwrap();
    servers[first].signal_and_wait("KILL", Duration::from_secs(10));
    // The other server's dashboard goes on getting it, and the host stays online there.
    dashboards[other].wait_event("telemetry", |t| {
        t["host"] == "cluster-pc" && seq(t) >= before + 5
    });
    wait_until("the host online on the other server", LEASE * 4, || {
        on(&servers[other])
    });
    let got: Vec<u64> = dashboards[other]
        .events("telemetry")
        .iter()
        .filter(|t| t["host"] == "cluster-pc")
        .map(seq)
        .collect();
    let gaps: Vec<(u64, u64)> = got
        .windows(2)
        .filter(|w| w[1] > w[0] + 1)
        .map(|w| (w[0], w[1]))
        .collect();
    assert!(
        gaps.is_empty(),
        "telemetry on the surviving server skipped seqs: {gaps:?}"
    );
    agent.stop();
}

#[test]
fn servers_go_on_alone_while_redis_is_away_and_share_again_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let redis_dir = dir.path().join("redis");
    let mut redis = Redis::start(&redis_dir);
    let a = start(dir.path(), "a", &redis);
    let b = start(dir.path(), "b", &redis);
    let mut on_a = dashboard_on(&a);
    let mut on_b = dashboard_on(&b);
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(&b, &Connect::websocket().register("lab-b-01"));
    agent.wait_event("registered", |_| true);
    agent.emit("agent_snapshot", &snapshot("lab-b-01", 1), false);
    on_a.wait_event("telemetry", |t| t["seq"] == 1);

    redis.stop();
    // B still stores, acks and relays to its own dashboards, for longer than a command waits
    // for Redis (5 s) and than the lease.
    for seq in 2..10 {
        let ack = agent.emit("agent_snapshot", &snapshot("lab-b-01", seq), true);
        assert_eq!(ack.unwrap()["ok"], true);
        on_b.wait_event("telemetry", |t| t["seq"] == seq);
        std::thread::sleep(Duration::from_secs(1));
    }
    wait_until("the lead to run out", LEASE * 2, || {
        !leads(&a) && !leads(&b)
    });

    let redis = Redis::start_on(&redis_dir, redis.port());
    // Back: B's snapshots reach A again, and a server leads again.
    wait_until(
        "telemetry through Redis again",
        Duration::from_secs(20),
        || {
            agent.emit("agent_snapshot", &snapshot("lab-b-01", 10), false);
            on_a.settle(Duration::from_millis(200));
            on_a.events("telemetry").iter().any(|t| t["seq"] == 10)
        },
    );
    wait_until("a server to lead again", LEASE * 4, || {
        leads(&a) || leads(&b)
    });
    // A warning when a use of Redis starts failing and a line when it works again, not one
    // per try (each failed every half second for 8 s).
    let log = b.log();
    let warned = log
        .matches("cannot reach the cluster's Redis to hold the lead")
        .count();
    let back = log
        .matches("the cluster's Redis answers again: hold the lead works")
        .count();
    assert!(
        warned >= 1 && back >= 1 && warned <= back + 1 && warned <= 3,
        "{log}"
    );
    drop(redis);
}
