//! A viewer whose dashboard stops reading, against the real server binary: what the server
//! queues for it is bounded by bytes (`limits.dashboard_buffer`), not by 1,024 packets of up to
//! 1 MiB; it misses telemetry (counted as dropped) while others get all of it, and once it has
//! read its backlog it gets telemetry again, starting with the current `agent_list`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use idlewatch_client::Client;
use idlewatch_tests::{Server, acked};
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

/// A dashboard speaking Engine.IO/Socket.IO by hand over a WebSocket with a small receive
/// buffer, so that when it stops reading the server's queue (not the kernel) holds the backlog.
struct RawDashboard {
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
}

impl RawDashboard {
    async fn connect(server: &Server, token: &str) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let tcp = socket.connect(server.addr).await.unwrap();
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr);
        let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
        let mut me = Self { ws };
        let open = me.next_text().await;
        assert!(open.starts_with('0'), "{open}");
        me.ws
            .send(Message::text(format!("40{}", json!({ "token": token }))))
            .await
            .unwrap();
        loop {
            let packet = me.next_text().await;
            if packet.starts_with("40") {
                return me;
            }
            assert!(!packet.starts_with("44"), "refused: {packet}");
        }
    }

    async fn next_text(&mut self) -> String {
        loop {
            match self.ws.next().await.expect("open").expect("frame") {
                Message::Text(t) => return t.to_string(),
                Message::Close(_) => panic!("closed by the server"),
                _ => {}
            }
        }
    }

    /// Reads for `period`, answering pings; returns the events read (`[name, data]`).
    async fn drain(&mut self, period: Duration) -> Vec<Value> {
        let mut events = Vec::new();
        let _ = tokio::time::timeout(period, async {
            loop {
                let packet = self.next_text().await;
                if packet == "2" {
                    self.ws.send(Message::text("3")).await.unwrap();
                } else if let Some(event) = packet.strip_prefix("42") {
                    events.push(serde_json::from_str::<Value>(event).unwrap());
                }
            }
        })
        .await;
        events
    }
}

fn telemetry_seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e[0] == "telemetry")
        .filter_map(|e| e[1]["seq"].as_u64())
        .collect()
}

#[test]
fn a_dashboard_that_stops_reading_is_bounded_by_bytes_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[limits]\ndashboard_buffer = \"4 MiB\"\n").unwrap();
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    let tokens = server.tokens().clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut slow = RawDashboard::connect(&server, &tokens.viewer).await;
        let (_fast, mut fast_events) = Client::connect(&server.url(), Some(&tokens.viewer))
            .await
            .unwrap();
        let (agent, _e) = Client::connect(&server.url(), Some(&tokens.agent))
            .await
            .unwrap();
        // 60 snapshots of ~1 MB while the slow dashboard reads nothing: 60 MB of telemetry.
        let pad = "x".repeat(1_000_000);
        for seq in 0..60u64 {
            let s = json!({"host": "pc-big", "captured_at": 1_795_680_000_000u64 + seq * 5000, "seq": seq, "pad": pad});
            assert_eq!(acked(&agent, &s).await["ok"], true);
        }
        let mut fast_seqs = Vec::new();
        while fast_seqs.len() < 60 {
            let event = tokio::time::timeout(Duration::from_secs(20), fast_events.recv())
                .await
                .expect("the fast dashboard gets everything")
                .unwrap();
            if event.name() == "telemetry" {
                let data: Value = serde_json::from_str(event.data().unwrap()).unwrap();
                fast_seqs.push(data["seq"].as_u64().unwrap());
            }
        }
        assert_eq!(fast_seqs, (0..60).collect::<Vec<_>>());
        // The slow one now reads what was kept for it: a bounded backlog, not 60 MB.
        let first = slow.drain(Duration::from_secs(3)).await;
        let backlog = telemetry_seqs(&first);
        assert!(!backlog.is_empty());
        assert!(
            backlog.len() <= 16,
            "{} of 60 telemetry events were queued for a dashboard that read nothing",
            backlog.len()
        );
        // Caught up: it is resumed, gets the current agent list, then new telemetry.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let small = json!({"host": "pc-big", "captured_at": 1_795_690_000_000u64, "seq": 1000});
        assert_eq!(acked(&agent, &small).await["ok"], true);
        let after = slow.drain(Duration::from_secs(3)).await;
        // Resumed while reading its backlog (or just after): the list comes first.
        let resumed = first
            .iter()
            .chain(&after)
            .skip_while(|e| e[0] != "agent_list")
            .filter(|e| e[0] == "telemetry")
            .count();
        assert!(resumed >= 1, "agent_list on resume, before new telemetry: {after:?}");
        assert_eq!(telemetry_seqs(&after), [1000]);
    });
    let dropped = server.metric("idlewatch_events_dropped_total");
    assert!(dropped >= 44, "{dropped} events counted as dropped");
}
