//! Anyone on the network, no token: 20,000 Engine.IO polling handshakes that never
//! authenticate, then 3,000 connections that send one header byte every 2 s (slowloris).
//! Reports how many were refused, the server's memory, whether `/healthz` answers during the
//! slow connections and how many are still open after the header timeout.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Figures, Target};

const HANDSHAKES: usize = 20_000;
const SLOW: usize = 3_000;

/// Runs the scenario.
///
/// # Errors
/// When the server cannot be reached.
pub async fn run(target: &Target, figures: &mut Figures) -> anyhow::Result<()> {
    let (before, _) = target.memory_mib();
    let started = Instant::now();
    let mut pending = FuturesUnordered::new();
    let (mut opened, mut refused, mut failed) = (0usize, 0usize, 0usize);
    for _ in 0..HANDSHAKES {
        pending.push(target.get("/socket.io/?EIO=4&transport=polling", None));
        if pending.len() >= 200
            && let Some(done) = pending.next().await
        {
            count(done, &mut opened, &mut refused, &mut failed);
        }
    }
    while let Some(done) = pending.next().await {
        count(done, &mut opened, &mut refused, &mut failed);
    }
    let (after, peak) = target.memory_mib();
    figures.add(
        "anonymous",
        format!(
            "{HANDSHAKES} tokenless handshakes in {:.1} s: opened / refused 503 / failed",
            started.elapsed().as_secs_f64()
        ),
        format!("{opened} / {refused} / {failed}"),
    );
    figures.add(
        "anonymous",
        "server memory before / after / peak, MiB",
        format!("{before:.0} / {after:.0} / {peak:.0}"),
    );
    let addr: std::net::SocketAddr = target.server.url().trim_start_matches("http://").parse()?;
    let slow_started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        if let Ok(stream) = TcpStream::connect(addr).await {
            slow.push(stream);
        }
    }
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut health = None;
    for round in 0..8 {
        tick.tick().await;
        for stream in &mut slow {
            let _ = stream.write_all(b"G").await;
        }
        if round == 1 {
            health = Some(target.get("/healthz", None).await);
        }
    }
    let mut open = 0;
    for stream in &mut slow {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_millis(5), stream.read(&mut buf)).await;
        // Closed by the server: end of file or an error at once; open: nothing to read.
        if read.is_err() {
            open += 1;
        }
    }
    figures.add(
        "anonymous",
        format!(
            "{} slow connections (1 byte / 2 s): /healthz meanwhile",
            slow.len()
        ),
        match health {
            Some(Ok((status, _, secs))) => format!("{status} in {:.0} ms", secs * 1000.0),
            Some(Err(e)) => format!("no answer ({e})"),
            None => "not asked".to_owned(),
        },
    );
    figures.add(
        "anonymous",
        format!(
            "slow connections still open after {:.0} s",
            slow_started.elapsed().as_secs_f64()
        ),
        open.to_string(),
    );
    let (rss, peak) = target.memory_mib();
    figures.add(
        "anonymous",
        "server memory after / peak, MiB",
        format!("{rss:.0} / {peak:.0}"),
    );
    Ok(())
}

fn count(
    done: anyhow::Result<(u16, Vec<u8>, f64)>,
    opened: &mut usize,
    refused: &mut usize,
    failed: &mut usize,
) {
    match done {
        Ok((200, _, _)) => *opened += 1,
        Ok((503, _, _)) => *refused += 1,
        _ => *failed += 1,
    }
}
