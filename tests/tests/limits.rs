//! Abuse limits on the real server binary: a connection sending faster than
//! `limits.snapshot_rate` gets `busy` acks (not a disconnect) while others are unaffected; past
//! `limits.max_connections` and past `limits.connect_rate` per IP, new connections are refused
//! with a clear message; each limit is counted in `/metrics`.

use std::time::Duration;

use idlewatch_client::{Client, Error};
use idlewatch_tests::Server;
use serde_json::json;

fn server_with(limits: &str, env: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, format!("[limits]\n{limits}\n")).unwrap();
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        env,
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    (server, dir)
}

#[test]
fn a_fast_connection_gets_busy_acks_and_stays_connected() {
    // The test harness lifts the limit; this test puts the default back.
    let (server, _dir) = server_with(
        "snapshot_rate = 2.0\nsnapshot_burst = 20",
        &[("IDLEWATCH_SNAPSHOT_RATE", "2")],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let token = server.tokens().agent.clone();
        let (fast, _e1) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        let mut ok = 0;
        let mut busy = Vec::new();
        let started = std::time::Instant::now();
        for k in 0..40 {
            let s = json!({"host": "pc-fast", "captured_at": 1_795_680_000_000i64 + k * 5000});
            let ack = idlewatch_tests::acked(&fast, &s).await;
            if ack["ok"] == true {
                ok += 1;
            } else {
                busy.push(ack);
            }
        }
        // The burst of 20, plus what the rate (2/s) refilled while sending.
        let refilled = (2.0 * started.elapsed().as_secs_f64()).ceil() as usize;
        assert!(
            (20..=20 + refilled).contains(&ok),
            "{ok} accepted, {refilled} refilled"
        );
        assert_eq!(busy[0]["error"]["code"], "busy", "{}", busy[0]);
        let message = busy[0]["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("more than 2 snapshots per second"),
            "{message}"
        );
        // Another connection has its own allowance.
        let (other, _e2) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        let ack = idlewatch_tests::acked(&other, &json!({"host": "pc-calm"})).await;
        assert_eq!(ack["ok"], true, "{ack}");
        // The fast one is still connected, and may send again once the rate refills.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let ack =
            idlewatch_tests::acked(&fast, &json!({"host": "pc-fast", "captured_at": 1})).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let limited = server.metric("idlewatch_snapshots_rate_limited_total");
        assert_eq!(limited, busy.len() as u64);
    });
}

#[test]
fn connections_past_the_maximum_are_refused_until_one_closes() {
    let (server, _dir) = server_with(
        "max_connections = 3\nreserved_connections = 1",
        &[("IDLEWATCH_MAX_CONNECTIONS", "3")],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let token = server.tokens().viewer.clone();
        let mut open = Vec::new();
        for _ in 0..3 {
            open.push(Client::connect(&server.url(), Some(&token)).await.unwrap());
        }
        let refused = Client::connect(&server.url(), Some(&token))
            .await
            .err()
            .unwrap();
        match &refused {
            Error::Refused { message } => {
                assert!(
                    message.contains("server busy: 3 connections are open"),
                    "{message}"
                );
            }
            other => panic!("{other}"),
        }
        let (first, _events) = open.remove(0);
        first.close().await;
        // The server notices the close, then admits a new connection.
        let mut admitted = false;
        for _ in 0..50 {
            if Client::connect(&server.url(), Some(&token)).await.is_ok() {
                admitted = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(admitted, "a connection is admitted once one closed");
    });
    assert!(server.metric("idlewatch_connects_limited_total") >= 1);
}

#[test]
fn one_address_connecting_too_fast_is_refused() {
    let (server, _dir) = server_with(
        "connect_rate = 1.0\nconnect_burst = 3",
        &[("IDLEWATCH_CONNECT_RATE", "1")],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let token = server.tokens().viewer.clone();
        let mut open = Vec::new();
        for _ in 0..3 {
            open.push(Client::connect(&server.url(), Some(&token)).await.unwrap());
        }
        match Client::connect(&server.url(), Some(&token))
            .await
            .err()
            .unwrap()
        {
            Error::Refused { message } => assert!(
                message.contains("more than 1 new connections per second from 127.0.0.1"),
                "{message}"
            ),
            other => panic!("{other}"),
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(Client::connect(&server.url(), Some(&token)).await.is_ok());
    });
    assert_eq!(server.metric("idlewatch_connects_limited_total"), 1);
}
