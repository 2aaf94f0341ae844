//! `idlewatch-agent session`: the helper that runs in each user session (started at logon)
//! and reports that session's idle time, foreground window, user and logon time to the
//! service over the local channel, every interval the service asks for. It reconnects when the
//! service restarts, and says goodbye when stopped on purpose (a logoff).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tracing::{debug, info, warn};

use super::os::own_session;
use super::report::{HelperSettings, MAX_LINE, SessionReport};
use super::transport;
use crate::backoff::Pauses;
use crate::collect::{ForegroundSource, IdleSource, session_sources};

/// Longest wait for the service's settings after connecting.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

struct Sources {
    idle: Box<dyn IdleSource>,
    foreground: Box<dyn ForegroundSource>,
}

/// Runs the helper until `shutdown` resolves.
///
/// # Errors
/// Only when the runtime's blocking threads fail.
pub async fn run(
    channel: &Path,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut sources = tokio::task::spawn_blocking(|| {
        let (idle, foreground) = session_sources();
        Sources { idle, foreground }
    })
    .await
    .context("the collector thread failed")?;
    info!(channel = %channel.display(), idle_source = sources.idle.name(), "session helper started");
    tokio::pin!(shutdown);
    let mut backoff = Pauses::new(Duration::from_secs(1), MAX_BACKOFF / 2);
    let mut warned = false;
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return Ok(()),
            s = transport::connect(channel) => s,
        };
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                if !warned {
                    warn!(
                        "cannot reach the agent service at {} ({e}); retrying",
                        channel.display()
                    );
                    warned = true;
                }
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(backoff.next_delay()) => {}
                }
                continue;
            }
        };
        warned = false;
        backoff.reset();
        let (read, mut write) = tokio::io::split(stream);
        let mut read = BufReader::new(read);
        let mut hello = Vec::new();
        let settings = tokio::time::timeout(
            HELLO_TIMEOUT,
            (&mut read)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut hello),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|_| serde_json::from_slice::<HelperSettings>(&hello).ok());
        let Some(settings) = settings else {
            debug!("the service sent no settings; reconnecting");
            continue;
        };
        info!(
            interval_ms = settings.interval_ms,
            "connected to the agent service"
        );
        let interval = Duration::from_millis(settings.interval_ms.max(200));
        let mut tick = tokio::time::interval(interval);
        let mut closed = [0u8; 1];
        loop {
            tokio::select! {
                () = &mut shutdown => {
                    let _ = send(&mut write, &SessionReport::bye()).await;
                    info!("session helper stopped");
                    return Ok(());
                }
                // The service never sends after its settings: anything here is its close.
                _ = read.read(&mut closed) => break,
                _ = tick.tick() => {}
            }
            let own = own_session().await;
            let titles = settings.collect_titles;
            let (back, mut report) = tokio::task::spawn_blocking(move || {
                let idle = sources.idle.idle();
                let foreground = sources.foreground.foreground(titles);
                let report = SessionReport {
                    idle_seconds: idle.seconds,
                    idle_source: idle.source,
                    foreground_pid: foreground.as_ref().map(|f| f.pid),
                    foreground_title: foreground.and_then(|f| f.title),
                    ..SessionReport::default()
                };
                (sources, report)
            })
            .await
            .context("the collector thread failed")?;
            sources = back;
            report.user = own.user;
            report.since_ms = own.since_ms;
            report.active = own.active;
            if send(&mut write, &report).await.is_err() {
                break;
            }
        }
        warn!("the agent service closed the connection; reconnecting");
    }
}

async fn send<W: tokio::io::AsyncWrite + Unpin>(
    write: &mut W,
    report: &SessionReport,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(report).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    write.flush().await
}
