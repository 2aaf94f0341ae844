//! Cluster mode on a shared PostgreSQL store (Debian's server, started by the test) and Redis:
//! two real servers, a real agent given both. Each server answers the history of a host whose
//! agent is on the other; when the agent's server is SIGKILLed under load, the agent goes on
//! through the other, and every snapshot is stored exactly once (the agent's seqs contiguous,
//! none twice) and read the same from the survivor, which then deletes them from the database.
//! A per-host token issued on one server lets its agent into the other, and revoked there, no
//! longer into the first. A licence server is polled by the lead alone, its answer and pool
//! history the same on both servers, and an alert the lead recorded is one record listed by
//! both, resolved in place by the survivor after the lead is killed.

use std::path::Path;
use std::time::Duration;

use idlewatch_tests::admin::admin_in;
use idlewatch_tests::postgres::Postgres;
use idlewatch_tests::receiver::Receiver;
use idlewatch_tests::redis::Redis;
use idlewatch_tests::{
    Agent, Connect, Peer, PeerKind, Server, free_address, wait_until, wait_until_explained,
};
use serde_json::Value;

fn start(dir: &Path, name: &str, redis: &Redis, postgres_url: &str, listen: &str) -> Server {
    start_with(dir, name, redis, postgres_url, listen, "")
}

/// As [`start`], with more configuration after the `[cluster]` table.
fn start_with(
    dir: &Path,
    name: &str,
    redis: &Redis,
    postgres_url: &str,
    listen: &str,
    more: &str,
) -> Server {
    let config = format!(
        "[cluster]\nredis_url = \"{}\"\npostgres_url = \"{postgres_url}\"\nlease = \"2s\"\n{more}",
        redis.url()
    );
    Server::try_start_configured(&dir.join(name), &config, listen)
        .unwrap_or_else(|f| panic!("{name} did not start: {}", f.stderr))
}

/// The agent seqs of `host`'s stored snapshots as `server` reads them, oldest first.
fn stored_seqs(server: &Server, host: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut path = format!("/api/v1/hosts/{host}/history?limit=100");
    loop {
        let answer = server.get(&path, None);
        if answer.status == 404 {
            return seqs;
        }
        assert_eq!(answer.status, 200, "{}", answer.body);
        let page: Value = answer.json();
        for s in page["snapshots"].as_array().unwrap() {
            seqs.push(s["seq"].as_u64().expect("the agent's seq"));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/hosts/{host}/history?limit=100&cursor={cursor}");
            }
            None => return seqs,
        }
    }
}

#[test]
fn servers_on_one_postgres_answer_for_every_host_and_store_each_snapshot_once_through_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let url = pg.create_database("idlewatch");
    let listens = [free_address(), free_address()];
    let mut servers = [
        start(dir.path(), "a", &redis, &url, &listens[0]),
        start(dir.path(), "b", &redis, &url, &listens[1]),
    ];
    let spool = tempfile::tempdir().unwrap();
    let list = format!("http://{},http://{}", listens[0], listens[1]);
    let mut agent = Agent::start(
        &["--server", &list, "--interval", "1", "--host", "pg-pc"],
        spool.path(),
    );
    // Both answer its history, whichever server it sends to.
    wait_until(
        "five snapshots readable on both servers",
        Duration::from_secs(60),
        || servers.iter().all(|s| stored_seqs(s, "pg-pc").len() >= 5),
    );
    assert_eq!(
        stored_seqs(&servers[0], "pg-pc")[..5],
        stored_seqs(&servers[1], "pg-pc")[..5]
    );
    let stored_on = |s: &Server| s.metric("idlewatch_snapshots_stored_total");
    let first = usize::from(stored_on(&servers[1]) > stored_on(&servers[0]));
    let other = 1 - first;
    assert_eq!(
        stored_on(&servers[other]),
        0,
        "the agent sends to one server"
    );

    // Kill the server the agent sends to; it goes on through the other.
    servers[first].signal_and_wait("KILL", Duration::from_secs(10));
    wait_until(
        "the survivor to store the agent's snapshots",
        Duration::from_secs(60),
        || stored_on(&servers[other]) >= 5,
    );
    agent.stop();
    let seqs = stored_seqs(&servers[other], "pg-pc");
    let last = *seqs.last().unwrap();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        seqs.len(),
        "a snapshot was stored twice: {seqs:?}"
    );
    assert_eq!(
        sorted,
        (sorted[0]..=last).collect::<Vec<_>>(),
        "a snapshot was lost between the servers"
    );
    // The survivor restarted from the shared store knows the host's latest state.
    let data = servers[other].get("/data", None).json();
    assert!(
        data.to_string().contains("pg-pc"),
        "/data of the survivor lacks the host: {data}"
    );
    // The status names the shared store (without a password) and counts what it holds.
    let status = servers[other].get("/api/v1/status", None).json();
    let shared = status["store"]["shared"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        shared.starts_with("postgres://") && shared.contains("/idlewatch"),
        "{status}"
    );
    assert_eq!(status["store"]["snapshots"], seqs.len(), "{status}");
    // And what its tables take on disk.
    let bytes = &status["store"]["shared_bytes"];
    assert!(bytes["snapshots"].as_u64().unwrap_or(0) > 0, "{status}");
    assert!(
        bytes["minutes"].is_u64() && bytes["days"].is_u64(),
        "{status}"
    );
    let home = tempfile::tempdir().unwrap();
    let url = format!("http://{}", servers[other].addr);
    let shown = admin_in(home.path(), &["--server", &url, "status"], &[]);
    assert!(
        shown.stdout.contains("PostgreSQL postgres://") && shown.stdout.contains(", day rows "),
        "{}{}",
        shown.stdout,
        shown.stderr
    );
    // What the database holds, per host, through either server.
    let stats = admin_in(
        home.path(),
        &[
            "--server", &url, "db", "stats", "--shared", "--format", "json",
        ],
        &[],
    );
    let stats: Value = serde_json::from_str(&stats.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stats.stdout, stats.stderr));
    assert_eq!(stats["snapshots"], seqs.len(), "{stats}");
    assert_eq!(stats["hosts"][0]["host"], "pg-pc", "{stats}");
    assert_eq!(stats["hosts"][0]["snapshots"], seqs.len(), "{stats}");
    assert!(
        stats["path"]
            .as_str()
            .unwrap_or_default()
            .starts_with("postgres://")
            && stats["schema_version"].as_u64() >= Some(4)
            && stats["record_bytes"].as_u64() > Some(0),
        "{stats}"
    );
    // The shared store ages as the redb file does.
    assert_eq!(
        status["retention_snapshots_seconds"],
        14 * 86_400,
        "{status}"
    );
    // Deleting a host's snapshots deletes them from the shared store.
    let answer = idlewatch_tests::request(
        servers[other].addr,
        "DELETE",
        "/api/v1/hosts/pg-pc/snapshots",
        &[],
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let deleted: Value = answer.json();
    assert_eq!(deleted["deleted"], seqs.len(), "{deleted}");
    assert_eq!(stored_seqs(&servers[other], "pg-pc"), Vec::<u64>::new());
    let status = servers[other].get("/api/v1/status", None).json();
    assert_eq!(status["store"]["snapshots"], 0, "{status}");
}

#[test]
fn a_postgres_store_without_redis_or_with_a_wrong_address_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let failed = Server::try_start_configured(
        &dir.path().join("a"),
        "[cluster]\npostgres_url = \"postgres://x@127.0.0.1/x\"\n",
        "127.0.0.1:0",
    )
    .err()
    .expect("postgres_url without redis_url was accepted");
    assert!(
        failed.stderr.contains("needs cluster.redis_url"),
        "{}",
        failed.stderr
    );

    let redis = Redis::start(&dir.path().join("redis"));
    let nowhere = format!("postgres://idlewatch@{}/idlewatch", free_address());
    let config = format!(
        "[cluster]\nredis_url = \"{}\"\npostgres_url = \"{nowhere}\"\n",
        redis.url()
    );
    let failed = Server::try_start_configured(&dir.path().join("b"), &config, "127.0.0.1:0")
        .err()
        .expect("an unreachable PostgreSQL was accepted");
    assert!(
        failed.stderr.contains("cannot open the shared store")
            && failed.stderr.contains("connecting to PostgreSQL"),
        "{}",
        failed.stderr
    );
}

/// A server of the cluster with tokens (not open), listening on a free port.
fn start_secured(dir: &Path, name: &str, redis: &Redis, postgres_url: &str) -> Server {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[cluster]\nredis_url = \"{}\"\npostgres_url = \"{postgres_url}\"\n",
            redis.url()
        ),
    )
    .unwrap();
    let listen = free_address();
    Server::try_start(
        &["--listen", &listen, "--config", config.to_str().unwrap()],
        &[],
        Some(&dir.join("data")),
    )
    .unwrap_or_else(|f| panic!("{name} did not start: {}", f.stderr))
}

/// Whether an agent connecting to `server` with `token` is let in.
fn admitted(server: &Server, token: &str) -> bool {
    let mut peer = Peer::start(PeerKind::Python);
    let answer = peer.connect(server, &Connect::websocket().token(token));
    let admitted = answer["type"] == "connected";
    if admitted {
        peer.disconnect();
    }
    admitted
}

#[test]
fn a_token_issued_on_one_server_of_a_postgres_cluster_is_accepted_and_revoked_on_all() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let url = pg.create_database("idlewatch");
    let a = start_secured(dir.path(), "a", &redis, &url);
    let b = start_secured(dir.path(), "b", &redis, &url);
    let admin = |server: &Server| format!("Bearer {}", server.tokens().admin);

    // Issued on A: B lets the host's agent in, and lists the token.
    let issued = idlewatch_tests::request(
        a.addr,
        "POST",
        "/api/v1/tokens",
        &[("Authorization", &admin(&a))],
        Some(r#"{"host": "pg-pc"}"#),
    );
    assert_eq!(issued.status, 201, "{}", issued.body);
    let issued: Value = issued.json();
    let token = issued["token"].as_str().unwrap().to_owned();
    wait_until("B to accept A's token", Duration::from_secs(20), || {
        admitted(&b, &token)
    });
    let listed = b.get("/api/v1/tokens", Some(&b.tokens().admin)).json();
    assert!(listed.to_string().contains("pg-pc"), "{listed}");

    // Revoked on B: A refuses it.
    let revoked = idlewatch_tests::request(
        b.addr,
        "DELETE",
        &format!("/api/v1/tokens/{}", issued["id"]),
        &[("Authorization", &admin(&b))],
        None,
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    wait_until(
        "A to refuse the revoked token",
        Duration::from_secs(20),
        || !admitted(&a, &token),
    );
    assert!(!admitted(&b, &token));
}

/// lmstat's answer while a PC no agent reports holds an Ansys seat.
const HELD: &str = "lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.
License server status: 1055@lic1
Users of aa_r:  (Total of 10 licenses issued;  Total of 1 license in use)

  \"aa_r\" v2024.0630, vendor: ansyslmd, expiry: 31-dec-2026
  floating license

    cy LAB-GHOST LAB-GHOST (v2024.0630) (lic1/1055 103), start Mon 11/30 9:07
";

/// lmstat's answer once the seat is released.
const RELEASED: &str = "lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.
License server status: 1055@lic1
Users of aa_r:  (Total of 10 licenses issued;  Total of 0 licenses in use)
";

fn get_json(server: &Server, path: &str) -> Value {
    let answer = server.get(path, None);
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.json()
}

/// The licence server's latest poll time as `server` shows it.
fn polled_at(server: &Server) -> Option<String> {
    get_json(server, "/api/v1/licences/servers")["servers"][0]["polled_at"]
        .as_str()
        .map(str::to_owned)
}

fn alerts(server: &Server) -> Vec<Value> {
    get_json(server, "/api/v1/alerts")["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The alerts of the `orphans` rule `server` lists.
fn orphans(server: &Server) -> Vec<Value> {
    alerts(server)
        .into_iter()
        .filter(|a| a["alert"] == "orphans")
        .collect()
}

/// Writes into server `dir`'s own file what it kept before joining the cluster: a resolved
/// alert, one still firing, and one poll of the licence server `ansys`, an hour ago.
fn kept_before_joining(dir: &Path) {
    let (store, writer, _) =
        idlewatch_store::Store::open(&dir.join("data"), &idlewatch_store::OpenOptions::default())
            .unwrap();
    let at = idlewatch_protocol::time::now_ms() - 3_600_000;
    let stamp = idlewatch_protocol::time::rfc3339_ms(at);
    let mut alert = idlewatch_protocol::api::Alert {
        id: 0,
        alert: "before".to_owned(),
        kind: idlewatch_protocol::api::AlertKind::HostOffline,
        state: idlewatch_protocol::api::AlertState::Resolved,
        host: Some("lab-old".to_owned()),
        group: None,
        app: None,
        since: stamp.clone(),
        fired_at: stamp.clone(),
        notified_at: stamp.clone(),
        resolved_at: Some(stamp),
        summary: "lab-old reports again".to_owned(),
    };
    store.add_alert(&mut alert.clone()).unwrap();
    alert.alert = "before-firing".to_owned();
    alert.state = idlewatch_protocol::api::AlertState::Firing;
    alert.resolved_at = None;
    store.add_alert(&mut alert).unwrap();
    let point = idlewatch_store::PoolPoint {
        at_ms: at,
        issued: 10,
        in_use: 7,
    };
    store.add_licence_poll("ansys", point).unwrap();
    drop(store);
    drop(writer);
}

/// The pid of the server process behind each poll, in order.
fn pollers(log: &Path) -> Vec<u32> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().expect("a pid"))
        .collect()
}

#[test]
fn the_lead_alone_polls_licence_servers_and_records_alerts_which_every_server_lists() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"));
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let url = pg.create_database("idlewatch");
    let (answer, log) = (dir.path().join("lmstat.txt"), dir.path().join("polls.log"));
    std::fs::write(&answer, HELD).unwrap();
    let hook = Receiver::start(&[]);
    let lmutil = dir.path().join("lmutil");
    idlewatch_tests::write_script(
        &lmutil,
        &format!(
            "echo $PPID >> '{}'\ncat '{}'\n",
            log.display(),
            answer.display()
        ),
    );
    let more = format!(
        "[[licence_servers]]\nname = \"ansys\"\ncommand = [\"{}\"]\ninterval = \"10s\"\n\
         app = \"ansys\"\n\n[[alerts]]\nname = \"orphans\"\nkind = \"licence_orphaned\"\n\
         app = \"ansys\"\nnotify = [\"hook\"]\n\n[notifiers.hook]\nwebhook = \"{}\"\n\
         format = \"json\"\n",
        lmutil.display(),
        hook.url()
    );
    let listens = [free_address(), free_address()];
    kept_before_joining(&dir.path().join("a"));
    let mut servers = [
        start_with(dir.path(), "a", &redis, &url, &listens[0], &more),
        start_with(dir.path(), "b", &redis, &url, &listens[1], &more),
    ];
    // One poll, shown by both; the orphaned seat's alert one record, listed by both beside
    // the alert server a kept in its own file before it joined.
    wait_until(
        "both servers to show one poll and one alert",
        Duration::from_secs(40),
        || {
            polled_at(&servers[0]).is_some()
                && polled_at(&servers[0]) == polled_at(&servers[1])
                && orphans(&servers[0]).len() == 1
                && alerts(&servers[0]).len() == 3
                && alerts(&servers[0]) == alerts(&servers[1])
        },
    );
    let listed = alerts(&servers[1]);
    assert!(
        listed.iter().any(|a| a["alert"] == "before"),
        "the alert kept before joining is listed by the other server: {listed:?}"
    );
    // One firing when its server joined is moved resolved (its server did not lead).
    assert!(
        listed.iter().any(|a| a["alert"] == "before-firing"
            && a["state"] == "resolved"
            && a["summary"]
                .as_str()
                .is_some_and(|s| s.ends_with("(moved into the cluster's store)"))),
        "{listed:?}"
    );
    let fired = orphans(&servers[0]).remove(0);
    assert_eq!(fired["state"], "firing", "{fired}");
    assert!(
        fired["summary"].as_str().unwrap().contains("LAB-GHOST"),
        "{fired}"
    );
    // The next poll (10 s on) is the lead's again: the licence server is asked once a round.
    wait_until("a second poll", Duration::from_secs(30), || {
        pollers(&log).len() >= 2
    });
    let polls = pollers(&log);
    assert!(
        polls.iter().all(|&pid| pid == polls[0]),
        "more than one server polled: {polls:?}"
    );
    let lead = servers
        .iter()
        .position(|s| s.pid() == polls[0])
        .expect("a server polled");
    // Each poll's seats are in the one pool history both servers read, after the poll server
    // a kept before joining.
    let history =
        |s: &Server| get_json(s, "/api/v1/licences/servers/ansys/history")["points"].clone();
    wait_until(
        "both servers to read every poll in the pool's history",
        Duration::from_secs(10),
        || {
            let points = history(&servers[0]);
            points.as_array().map(Vec::len) == Some(pollers(&log).len() + 1)
                && points[0]["in_use"] == 7
                && points == history(&servers[1])
        },
    );

    // The seat is released and the lead killed: the survivor polls, and resolves the lead's
    // record rather than writing another.
    std::fs::write(&answer, RELEASED).unwrap();
    servers[lead].signal_and_wait("KILL", Duration::from_secs(10));
    let survivor = &servers[1 - lead];
    wait_until(
        "the survivor to poll and resolve the alert",
        Duration::from_secs(40),
        || {
            orphans(survivor)
                .first()
                .is_some_and(|a| a["state"] == "resolved")
        },
    );
    assert!(
        pollers(&log).contains(&survivor.pid()),
        "the survivor polled"
    );
    let after = orphans(survivor);
    assert_eq!(after.len(), 1, "one record per alert: {after:?}");
    assert_eq!(after[0]["id"], fired["id"], "{after:?}");
    // Told once each, firing by the lead and resolved by the survivor.
    wait_until_explained(
        "the resolution notified",
        Duration::from_secs(10),
        || hook.told().len() >= 2,
        || format!("{:?}", hook.told()),
    );
    assert_eq!(
        hook.told(),
        ["\"orphans\" \"firing\"", "\"orphans\" \"resolved\""],
        "each change notified once"
    );
}
