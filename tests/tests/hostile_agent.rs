//! One lab PC in hostile hands, against the real server binary: its token may hold a few
//! connections that share one snapshot rate and one daily byte budget, it cannot fill the disk
//! past the storage floor, cannot freeze its host with a capture time in the future, cannot
//! store JSON that breaks readers, and cannot lock the supervisors out; an admin can delete
//! one host's data.

use std::process::Command;
use std::time::Duration;

use idlewatch_client::{Client, Error};
use idlewatch_protocol::time::now_ms;
use idlewatch_tests::{Server, acked, wait_until};
use serde_json::{Value, json};

fn server_with(config: &str, env: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    std::fs::write(&path, config).unwrap();
    let server = Server::try_start(
        &["--config", path.to_str().unwrap()],
        env,
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    (server, dir)
}

/// Epoch ms as RFC 3339.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

#[test]
fn one_token_holds_a_few_connections_that_share_one_rate() {
    let (server, _dir) = server_with(
        "[limits]\nsnapshot_rate = 2.0\nsnapshot_burst = 20\nconnections_per_token = 4\n",
        &[
            ("IDLEWATCH_SNAPSHOT_RATE", "2"),
            ("IDLEWATCH_CONNECTIONS_PER_TOKEN", "4"),
        ],
    );
    let token = server.issue_host_token("pc-1").1;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(Client::connect(&server.url(), Some(&token)).await.unwrap());
        }
        match Client::connect(&server.url(), Some(&token)).await {
            Err(Error::Refused { message }) => {
                assert!(message.contains("already holds 4 connections"), "{message}")
            }
            other => panic!("a fifth connection: {:?}", other.map(|_| ())),
        }
        let started = std::time::Instant::now();
        let mut accepted = 0;
        for k in 0..80i64 {
            let (client, _) = &clients[usize::try_from(k % 4).unwrap()];
            let s = json!({"host": "pc-1", "captured_at": 1_795_680_000_000i64 + k * 5000});
            if acked(client, &s).await["ok"] == true {
                accepted += 1;
            }
        }
        // One allowance for the host: the burst of 20 and the 2/s refill, not 4 × that.
        let refilled = (2.0 * started.elapsed().as_secs_f64()).ceil() as usize;
        assert!(
            (20..=20 + refilled).contains(&accepted),
            "{accepted} accepted over 4 connections, {refilled} refilled"
        );
        // A connection closing frees its slot.
        let (first, _events) = clients.remove(0);
        first.close().await;
        let mut admitted = false;
        for _ in 0..50 {
            if Client::connect(&server.url(), Some(&token)).await.is_ok() {
                admitted = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(admitted);
    });
    assert!(server.metric("idlewatch_connects_limited_total") >= 1);
    assert!(server.metric("idlewatch_snapshots_rate_limited_total") >= 40);
}

#[test]
fn a_hosts_daily_byte_budget_answers_busy_and_is_counted() {
    let (server, _dir) = server_with(
        "[limits]\nhost_bytes_per_day = \"2 MiB\"\n",
        &[("IDLEWATCH_HOST_BYTES_PER_DAY", "2MiB")],
    );
    let token = server.tokens().agent.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pad = "x".repeat(300_000);
    runtime.block_on(async {
        let (client, _events) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        let mut acks = Vec::new();
        for k in 0..8i64 {
            let s = json!({"host": "pc-big", "captured_at": now_ms() - 60_000 + k, "pad": pad});
            acks.push(acked(&client, &s).await);
        }
        let ok = acks.iter().filter(|a| a["ok"] == true).count();
        assert_eq!(ok, 6, "6 × 300 kB fit in 2 MiB: {acks:?}");
        let refused = &acks[6]["error"];
        assert_eq!(refused["code"], "busy");
        let message = refused["message"].as_str().unwrap();
        assert!(
            message.contains("limits.host_bytes_per_day") && message.contains("00:00 UTC"),
            "{message}"
        );
        // Another host has its own budget.
        let other = json!({"host": "pc-small", "captured_at": now_ms(), "pad": pad});
        assert_eq!(acked(&client, &other).await["ok"], true);
    });
    assert_eq!(server.metric("idlewatch_snapshots_over_budget_total"), 2);
}

#[test]
fn a_capture_time_ahead_is_refused_and_a_stored_one_never_freezes_its_host() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let lenient = dir.path().join("lenient.toml");
    // A server that accepted any capture time (as before the limit) stores one from 9999.
    std::fs::write(&lenient, "[limits]\nmax_clock_skew = \"3000000d\"\n").unwrap();
    let server = Server::try_start(&["--config", lenient.to_str().unwrap()], &[], Some(&data))
        .unwrap_or_else(|f| panic!("{}", f.stderr));
    let token = server.tokens().agent.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let genuine = now_ms() - 60_000;
    runtime.block_on(async {
        let (client, _e) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        for at in [json!(genuine), json!("9999-12-31T23:59:59Z")] {
            let ack = acked(&client, &json!({"host": "pc-clock", "captured_at": at})).await;
            assert_eq!(ack["ok"], true, "{ack}");
        }
    });
    drop(server);
    // Restarted with the default limit: the live state is the genuine snapshot.
    let server =
        Server::try_start(&[], &[], Some(&data)).unwrap_or_else(|f| panic!("{}", f.stderr));
    let viewer = server.tokens().viewer.clone();
    let shown = server.get("/data", Some(&viewer)).json();
    assert_eq!(shown["pc-clock"]["captured_at"], genuine, "{shown}");
    let next = runtime.block_on(async {
        let (dashboard, mut events) = Client::connect(&server.url(), Some(&viewer)).await.unwrap();
        let (client, _e) = Client::connect(&server.url(), Some(&server.tokens().agent))
            .await
            .unwrap();
        let ahead = now_ms() + 3_600_000;
        let ack = acked(&client, &json!({"host": "pc-clock", "captured_at": ahead})).await;
        assert_eq!(ack["error"]["code"], "invalid_field", "{ack}");
        let message = ack["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("ahead of the server's clock (at most 600 s"),
            "{message}"
        );
        let next = now_ms();
        let ack = acked(&client, &json!({"host": "pc-clock", "captured_at": next})).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let relayed = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(event) = events.recv().await {
                if event.name() == "telemetry" {
                    return serde_json::from_str::<Value>(event.data().unwrap()).unwrap();
                }
            }
            Value::Null
        })
        .await
        .unwrap();
        assert_eq!(
            relayed["captured_at"], next,
            "a genuine snapshot is relayed"
        );
        drop(dashboard);
        next
    });
    let shown = server.get("/data", Some(&viewer)).json();
    assert_eq!(shown["pc-clock"]["captured_at"], next, "{shown}");
}

#[test]
fn hostile_json_is_refused_and_readers_keep_working() {
    let server = Server::start();
    let token = server.tokens().agent.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (client, _e) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        let deep = format!(
            "{{\"host\":\"pc-json\",\"x\":{}1{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let lone = r#"{"host":"pc-json","note":"\ud800"}"#.to_owned();
        for (payload, why) in [(deep, "levels deep"), (lone, "lone surrogate")] {
            let ack = client
                .send_with_ack("agent_snapshot", &payload)
                .await
                .unwrap()
                .wait()
                .await
                .unwrap();
            assert_eq!(ack["error"]["code"], "invalid_json", "{ack}");
            assert!(
                ack["error"]["message"].as_str().unwrap().contains(why),
                "{ack}"
            );
        }
        let ack = client
            .send_with_ack("agent_register", r#"{"host":"pc-json","x":"\udc00"}"#)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(ack["error"]["code"], "invalid_json", "{ack}");
        assert_eq!(
            acked(
                &client,
                &json!({"host": "pc-json", "note": "\u{e9}t\u{e9}"})
            )
            .await["ok"],
            true
        );
    });
    // What a Python client of the original reads still parses.
    let python = idlewatch_tests::workspace_root().join("target/test-env/venv/bin/python");
    let script = format!(
        "import json, urllib.request\n\
         r = urllib.request.Request('{}/data', headers={{'Authorization': 'Bearer {}'}})\n\
         print(json.load(urllib.request.urlopen(r))['pc-json']['note'])",
        server.url(),
        server.tokens().viewer
    );
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "\u{e9}t\u{e9}"
    );
}

#[test]
fn nan_from_python_closes_the_connection_logged_and_counted() {
    let server = Server::start();
    let python = idlewatch_tests::workspace_root().join("target/test-env/venv/bin/python");
    // python-socketio encodes with json.dumps, which writes NaN (not JSON).
    let script = format!(
        "import socketio, threading\n\
         gone = threading.Event()\n\
         sio = socketio.Client(reconnection=False)\n\
         sio.on('disconnect', lambda *a: gone.set())\n\
         sio.connect('{}', auth={{'token': '{}'}}, transports=['websocket'])\n\
         sio.emit('agent_snapshot', {{'host': 'pc-nan', 'cpu_percent': float('nan')}}, callback=lambda *a: print('acked'))\n\
         print('closed' if gone.wait(10) else 'open')",
        server.url(),
        server.tokens().agent
    );
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        "closed",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("the close is logged", Duration::from_secs(5), || {
        server.log().contains("was not valid JSON (NaN or Infinity")
    });
    assert_eq!(
        server.metric("idlewatch_sockets_closed_unparsable_total"),
        1
    );
}

#[test]
fn reserved_slots_let_supervisors_in_when_agents_fill_the_server() {
    let (server, _dir) = server_with(
        "[limits]\nmax_connections = 6\nreserved_connections = 2\n",
        &[
            ("IDLEWATCH_MAX_CONNECTIONS", "6"),
            ("IDLEWATCH_CONNECTIONS_PER_TOKEN", "0"),
        ],
    );
    let tokens = server.tokens().clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut open = Vec::new();
        for _ in 0..4 {
            open.push(
                Client::connect(&server.url(), Some(&tokens.agent))
                    .await
                    .unwrap(),
            );
        }
        let refused = Client::connect(&server.url(), Some(&tokens.agent)).await;
        assert!(
            matches!(refused, Err(Error::Refused { .. })),
            "an agent past its share"
        );
        for token in [&tokens.viewer, &tokens.admin] {
            open.push(Client::connect(&server.url(), Some(token)).await.unwrap());
        }
        let full = Client::connect(&server.url(), Some(&tokens.viewer)).await;
        match full {
            Err(Error::Refused { message }) => {
                assert!(message.contains("6 connections are open"), "{message}");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    });
}

#[test]
fn an_admin_deletes_one_hosts_data() {
    let server = Server::start();
    let token = server.tokens().agent.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t0 = now_ms() - 3_600_000;
    runtime.block_on(async {
        let (client, _e) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        for k in 0..300i64 {
            for host in ["pc-a", "pc-b"] {
                let s = json!({"host": host, "captured_at": t0 + k * 5000, "seq": k});
                assert_eq!(acked(&client, &s).await["ok"], true);
            }
        }
    });
    let (code, _, err) = server.admin(&["db", "delete", "--host", "pc-a"]);
    assert_eq!(code, 1);
    assert!(err.contains("add --yes"), "{err}");
    assert_eq!(
        server.seqs("pc-a").len(),
        300,
        "nothing deleted without --yes"
    );
    let from = rfc3339(t0 + 100 * 5000);
    let to = rfc3339(t0 + 200 * 5000);
    let (code, out, err) = server.admin(&[
        "db", "delete", "--host", "pc-a", "--from", &from, "--to", &to, "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("deleted 100 snapshots: the snapshots of host \"pc-a\" captured from"),
        "{out}"
    );
    let kept: Vec<u64> = (0..100).chain(200..300).collect();
    assert_eq!(server.seqs("pc-a"), kept);
    assert_eq!(server.seqs("pc-b").len(), 300);
    let (code, out, err) = server.admin(&[
        "db", "delete", "--host", "pc-a", "--yes", "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["deleted"], 200);
    let viewer = server.tokens().viewer.clone();
    let history = server.get("/api/v1/hosts/pc-a/history", Some(&viewer));
    assert_eq!(history.status, 404, "{}", history.body);
    let (code, _, err) = server.admin(&["db", "delete", "--host", "pc-zz", "--yes"]);
    assert_eq!(code, 1);
    assert!(err.contains("no host named \"pc-zz\""), "{err}");
}
