//! One per-host agent token in hostile hands: it opens 12 connections and floods 1 MB
//! snapshots of incompressible data over all of them, each waiting for its ack, for the run's
//! duration. Reports the connections admitted, what was accepted (and what that makes per
//! day, within the host's daily budget), the store's growth and the server's memory.

use std::time::{Duration, Instant};

use idlewatch_client::Client;
use serde_json::json;

use idlewatch_protocol::time::now_ms;

use super::{Figures, Target, incompressible, mib};

const CONNECTIONS: usize = 12;
const SNAPSHOT_BYTES: usize = 1_000_000;

/// Runs the scenario for `duration`.
///
/// # Errors
/// When the server cannot be reached.
pub async fn run(target: &Target, duration: Duration, figures: &mut Figures) -> anyhow::Result<()> {
    let host = "pc-hostile";
    let token = match target.issue(host).await? {
        Some(token) => token,
        None => target.tokens().agent_token.clone(),
    };
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        if let Ok(client) = Client::connect(target.server.url(), Some(&token)).await {
            clients.push(client);
        }
    }
    figures.add(
        "agent",
        format!("connections admitted of {CONNECTIONS} with one token"),
        clients.len().to_string(),
    );
    let stored_before = target.stored_bytes();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (client, _events)) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut refused) = (0u64, 0u64);
            let mut k = 0u64;
            while started.elapsed() < duration {
                let pad = incompressible(SNAPSHOT_BYTES, (i as u64) << 32 | k);
                let snapshot = json!({"host": host, "captured_at": now_ms(), "seq": k, "pad": pad});
                match client.emit_with_ack("agent_snapshot", &snapshot).await {
                    Ok(ack) if ack["ok"] == true => ok += 1,
                    Ok(_) => refused += 1,
                    Err(_) => break,
                }
                k += 1;
            }
            client.close().await;
            (ok, refused)
        }));
    }
    let (mut ok, mut refused) = (0u64, 0u64);
    for task in tasks {
        let (o, r) = task.await?;
        ok += o;
        refused += r;
    }
    let secs = started.elapsed().as_secs_f64();
    let accepted_per_s = ok as f64 * SNAPSHOT_BYTES as f64 / secs;
    figures.add(
        "agent",
        "snapshots accepted / refused (busy)",
        format!("{ok} / {refused} in {secs:.0} s"),
    );
    figures.add(
        "agent",
        "accepted JSON, MiB/s",
        format!("{:.2}", accepted_per_s / f64::from(1u32 << 20)),
    );
    figures.add(
        "agent",
        "accepted JSON at that pace, GiB/day (before the daily budget)",
        format!("{:.0}", accepted_per_s * 86_400.0 / f64::from(1u32 << 30)),
    );
    figures.add(
        "agent",
        "store growth during the run, MiB",
        format!(
            "{:.1}",
            mib(target.stored_bytes().saturating_sub(stored_before))
        ),
    );
    let (rss, peak) = target.memory_mib();
    figures.add(
        "agent",
        "server memory after / peak, MiB",
        format!("{rss:.0} / {peak:.0}"),
    );
    Ok(())
}
