//! Durable history against the real binary: acked snapshots survive SIGKILL exactly once,
//! replays are stored once, a restart restores the live state, a second server on the same
//! data dir is refused, and history is served over HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idlewatch_client::Client;
use idlewatch_protocol::api::{HistoryPage, HostsAnswer};
use idlewatch_tests::{Connect, Peer, PeerKind, Server};
use serde_json::{Value, json};

fn snapshot(host: &str, k: u64) -> Value {
    let processes: Vec<Value> = (0..50)
        .map(|p| json!({"pid": p, "name": format!("proc-{}", (p + k) % 60), "username": "lab"}))
        .collect();
    json!({
        "host": host,
        "captured_at": idlewatch_tests::recent_base_ms() + i64::try_from(k).unwrap() * 5000,
        "seq": k,
        "idle_seconds": k % 90,
        "processes": processes,
    })
}

/// Every stored agent `seq` of `host`, oldest first.
fn stored_seqs(server: &Server, host: &str) -> Vec<u64> {
    server
        .history(host)
        .iter()
        .map(|s| {
            assert!(s["received_at"].is_string());
            s["seq"].as_u64().unwrap()
        })
        .collect()
}

/// Sends snapshots 0.. with acks, up to 8 in flight, until the connection fails; returns the
/// agent seqs whose ack said ok.
async fn stream_until_failure(url: String, host: String, acked: Arc<Mutex<BTreeSet<u64>>>) {
    let Ok((client, _events)) = Client::connect(&url, None).await else {
        return;
    };
    let _ = client.emit("agent_register", &json!({"host": host})).await;
    let client = Arc::new(client);
    let mut in_flight = tokio::task::JoinSet::new();
    for k in 0u64.. {
        if in_flight.len() >= 8 && in_flight.join_next().await.is_none() {
            break;
        }
        let text = snapshot(&host, k).to_string();
        let Ok(pending) = client.send_with_ack("agent_snapshot", &text).await else {
            break;
        };
        let acked = acked.clone();
        in_flight.spawn(async move {
            if let Ok(ack) = pending.wait().await
                && ack["ok"] == true
            {
                acked.lock().unwrap().insert(k);
            }
        });
    }
    while in_flight.join_next().await.is_some() {}
}

fn start_on(dir: &Path) -> Server {
    Server::try_start(&["--open"], &[], Some(dir)).unwrap_or_else(|f| panic!("{}", f.stderr))
}

#[test]
fn every_acked_snapshot_survives_sigkill_exactly_once_and_replays_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start_on(&data);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let hosts: Vec<String> = (0..4).map(|i| format!("crash-{i}")).collect();
    let acked: Vec<Arc<Mutex<BTreeSet<u64>>>> = hosts.iter().map(|_| Arc::default()).collect();
    let tasks: Vec<_> = hosts
        .iter()
        .zip(&acked)
        .map(|(h, a)| runtime.spawn(stream_until_failure(server.url(), h.clone(), a.clone())))
        .collect();
    // Let acks accumulate, then kill the server mid-stream.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acked.iter().map(|a| a.lock().unwrap().len()).min().unwrap() < 50 {
        assert!(std::time::Instant::now() < deadline, "too few acks");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.signal_and_wait("KILL", Duration::from_secs(10));
    runtime.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });

    let server = start_on(&data);
    let mut highest = BTreeMap::new();
    for (host, acked) in hosts.iter().zip(&acked) {
        let acked = acked.lock().unwrap().clone();
        let stored = stored_seqs(&server, host);
        let unique: BTreeSet<u64> = stored.iter().copied().collect();
        assert_eq!(
            unique.len(),
            stored.len(),
            "{host}: a snapshot stored twice"
        );
        let lost: Vec<_> = acked.difference(&unique).collect();
        assert!(
            lost.is_empty(),
            "{host}: acked but lost after SIGKILL: {lost:?}"
        );
        highest.insert(host.clone(), *acked.iter().max().unwrap() + 20);
    }

    // Agents replay everything they took (acked or not) after the restart: stored once.
    runtime.block_on(async {
        for (host, top) in &highest {
            let (client, _events) = Client::connect(&server.url(), None).await.unwrap();
            for k in 0..*top {
                let ack = client
                    .emit_with_ack("agent_snapshot", &snapshot(host, k))
                    .await
                    .unwrap();
                assert_eq!(ack["ok"], true, "{ack}");
            }
            client.close().await;
        }
    });
    for (host, top) in &highest {
        let stored = stored_seqs(&server, host);
        assert_eq!(
            stored,
            (0..*top).collect::<Vec<_>>(),
            "{host}: in capture order, once each"
        );
    }
}

#[test]
fn a_restart_restores_hosts_as_offline_with_their_latest_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start_on(&data);
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(&server, &Connect::websocket().register("keeper"));
    let last = json!({"host": "keeper", "idle_seconds": 7.5, "ünï": "ç"});
    agent.emit(
        "agent_snapshot",
        &json!({"host": "keeper", "idle_seconds": 1}),
        true,
    );
    agent.emit("agent_snapshot", &last, true);
    drop(agent);
    assert!(
        server
            .signal_and_wait("TERM", Duration::from_secs(15))
            .success()
    );

    let server = start_on(&data);
    assert!(
        server.log().contains("1 hosts restored"),
        "{}",
        server.log()
    );
    let data_answer = server.get("/data", None).json();
    assert_eq!(data_answer["keeper"].to_string(), last.to_string());
    let hosts: HostsAnswer = server.get("/api/v1/hosts", None).json_as();
    assert!(!hosts.hosts[0].online);
    let history: HistoryPage = server.get("/api/v1/hosts/keeper/history", None).json_as();
    assert_eq!(history.snapshots.len(), 2);
}

#[test]
fn a_second_server_on_the_same_data_dir_exits_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = start_on(&data);
    let failure = Server::try_start(&["--open"], &[], Some(&data))
        .err()
        .expect("the second server must not start");
    assert_eq!(failure.status.code(), Some(1));
    let errors: Vec<&str> = failure
        .stderr
        .lines()
        .filter(|l| l.contains("error"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", failure.stderr);
    assert!(
        errors[0].contains("is in use by another idlewatch-server"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains(&format!("pid {}", first.pid())),
        "{}",
        errors[0]
    );
    assert!(!failure.stderr.contains("panicked"));
}

#[test]
fn odd_payloads_round_trip_through_the_store_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_on(&dir.path().join("data"));
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(&server, &Connect::websocket());
    let processes: Vec<Value> = (0..10_000)
        .map(|i| json!({"pid": i, "name": "p", "x": [i]}))
        .collect();
    let cases = [
        json!({"host": "机房-3 ☃ café", "idle_seconds": 1.25}),
        json!({"host": "big", "n": 12_345_678_901_234_567_890u64, "neg": -9_007_199_254_740_993i64, "f": 1.0e-7}),
        json!({"host": "nested", "extra": {"deep": [{"a": {"b": [null, true, "x"]}}]}, "z": 1, "a": 2}),
        json!({"host": "many", "processes": processes}),
    ];
    for case in &cases {
        assert_eq!(
            agent.emit("agent_snapshot", case, true).unwrap()["ok"],
            true
        );
        let host = case["host"].as_str().unwrap();
        let encoded: String = host.bytes().map(|b| format!("%{b:02X}")).collect();
        let history = server.get(&format!("/api/v1/hosts/{encoded}/history"), None);
        assert_eq!(history.status, 200, "{}", history.body);
        let mut stored = history.json()["snapshots"][0].clone();
        stored.as_object_mut().unwrap().remove("received_at");
        assert_eq!(stored.to_string(), case.to_string(), "{host}");
    }
}
