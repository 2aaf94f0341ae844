//! One viewer token in hostile hands: 20 dashboards that stop reading while agents of 8 hosts
//! send 1 MB snapshots at their hosts' allowed rate, then a usage report from year 1 over hosts
//! with data since 1970, and a history page of 10,000 over those large snapshots. Reports the server's memory, the answers' sizes and
//! times.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use idlewatch_client::Client;
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

use idlewatch_protocol::time::now_ms;

use super::{Figures, Target, incompressible, mib};

const DASHBOARDS: usize = 20;
const SNAPSHOT_BYTES: usize = 1_000_000;
const HOSTS: usize = 11;
const RELAY_HOSTS: u64 = 8;

/// A dashboard that connects, then never reads again (a tiny receive buffer, so the backlog
/// stays in the server).
async fn stalled_dashboard(
    url: &str,
    addr: std::net::SocketAddr,
    token: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(16 * 1024)?;
    let tcp = socket.connect(addr).await?;
    let ws_url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        url.replace("http", "ws")
    );
    let (mut ws, _) = tokio_tungstenite::client_async(ws_url, tcp).await?;
    ws.next().await; // OPEN
    ws.send(Message::text(format!("40{}", json!({ "token": token }))))
        .await?;
    while let Some(Ok(message)) = ws.next().await {
        if message.to_text().is_ok_and(|t| t.starts_with("40")) {
            break;
        }
    }
    Ok(ws)
}

/// Runs the scenario for `duration`.
///
/// # Errors
/// When the server cannot be reached.
pub async fn run(target: &Target, duration: Duration, figures: &mut Figures) -> anyhow::Result<()> {
    let tokens = target.tokens().clone();
    let url = target.server.url().to_owned();
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse()?;
    let mut stalled = Vec::new();
    for _ in 0..DASHBOARDS {
        stalled.push(stalled_dashboard(&url, addr, &tokens.viewer_token).await?);
    }
    let (before, _) = target.memory_mib();
    // One connection per host, each within its host's snapshot rate: the relay carries up to
    // ~16 MB/s.
    let mut senders = Vec::new();
    for h in 0..RELAY_HOSTS {
        let (client, _events) = Client::connect(&url, Some(&tokens.agent_token)).await?;
        senders.push(tokio::spawn(async move {
            let started = Instant::now();
            let (mut ok, mut k) = (0u64, 0u64);
            while started.elapsed() < duration {
                let pad = incompressible(SNAPSHOT_BYTES, h << 32 | k);
                let snapshot = json!({"host": format!("pc-relay-{h}"), "captured_at": now_ms(), "seq": k, "pad": pad});
                match client.emit_with_ack("agent_snapshot", &snapshot).await {
                    Ok(ack) if ack["ok"] == true => ok += 1,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    Err(_) => break,
                }
                k += 1;
            }
            client.close().await;
            ok
        }));
    }
    let mut ok = 0;
    for sender in senders {
        ok += sender.await?;
    }
    let (_, peak) = target.memory_mib();
    figures.add(
        "viewer",
        format!(
            "{DASHBOARDS} dashboards not reading while {ok} snapshots of 1 MB are relayed: \
             server memory before / peak, MiB"
        ),
        format!("{before:.0} / {peak:.0}"),
    );
    drop(stalled);
    // 11 hosts with a snapshot from 1970-01-02 and one from now, then a report from year 1.
    let (agent, _events) = Client::connect(&url, Some(&tokens.agent_token)).await?;
    for h in 0..HOSTS {
        for at in [86_400_000, now_ms() - 60_000] {
            let snapshot = json!({"host": format!("pc-{h:02}"), "captured_at": at});
            let _ = agent.emit_with_ack("agent_snapshot", &snapshot).await;
        }
    }
    let (status, body, secs) = target
        .get("/api/v1/usage?from=0001-01-01", Some(&tokens.viewer_token))
        .await?;
    let (rss, peak) = target.memory_mib();
    figures.add(
        "viewer",
        format!("usage from 0001-01-01, {HOSTS} hosts with data since 1970: status, answer, time"),
        format!("{status}, {:.2} MiB, {secs:.2} s", mib(body.len() as u64)),
    );
    figures.add(
        "viewer",
        "server memory after that / peak, MiB",
        format!("{rss:.0} / {peak:.0}"),
    );
    let (status, body, secs) = target
        .get(
            "/api/v1/hosts/pc-relay-0/history?limit=10000",
            Some(&tokens.viewer_token),
        )
        .await?;
    figures.add(
        "viewer",
        "history page, limit 10,000, of 1 MB snapshots: status, answer, time",
        format!("{status}, {:.1} MiB, {secs:.2} s", mib(body.len() as u64)),
    );
    agent.close().await;
    Ok(())
}
