//! Sending spooled snapshots: connect (with exponential backoff and jitter, capped at 60 s),
//! register, then send the spool oldest first with an ack each, up to a window in flight.
//! A snapshot leaves the spool only when its ack says `ok`; an ack that does not come within
//! the timeout means the connection is presumed dead and everything unacked is sent again on
//! the next one (the server stores a resent snapshot once). With several servers (a cluster),
//! one that cannot be reached or refuses the agent is left for the next at once
//! ([`crate::servers`]); the pause comes after a whole round of them failed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idlewatch_client::{Client, ClientOptions, Error as ClientError, PendingAck};
use idlewatch_protocol::{Ack, AgentRegister, ErrorCode, events};
use tokio::sync::Notify;
use tracing::{debug, error, info, warn};

use crate::backoff::Pauses;
use crate::config::AgentConfig;
use crate::servers::Servers;
use crate::snapshot::AGENT_VERSION;
use crate::spool::Spool;

/// Snapshots awaiting their ack at once.
const WINDOW: usize = 16;
/// Longest wait for one ack.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest pause between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the agent tells the server about itself.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Host name.
    pub host: String,
    /// Stable agent id.
    pub agent_id: String,
    /// Operating system.
    pub os: String,
}

/// Pauses between connection attempts: 0.5 s doubling, each stretched by up to 100 %, at most
/// [`MAX_BACKOFF`]. A server back within seconds sees its agents within a second or two; a
/// fleet that lost it for longer comes back spread out.
fn reconnect_pauses() -> Pauses {
    Pauses::new(Duration::from_millis(500), MAX_BACKOFF / 2)
}

enum SessionEnd {
    /// The connection failed, an ack timed out or made no sense: reconnect.
    Lost(String),
    /// The server refuses this agent's token or host (logged): reconnect after a pause, in
    /// case an administrator fixes it meanwhile.
    Refused,
}

/// Runs until aborted.
pub async fn run(
    config: AgentConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    registration: Registration,
    spool: Arc<Mutex<Spool>>,
    wake: Arc<Notify>,
) {
    let options = ClientOptions {
        token: config.token.clone(),
        ack_timeout: ACK_TIMEOUT,
        tls,
        ..ClientOptions::default()
    };
    let mut backoff = reconnect_pauses();
    let mut servers = Servers::new(config.servers(), &registration.agent_id);
    let mut was_connected = true;
    loop {
        let server = servers.current().to_owned();
        let (client, _events) = match Client::connect_with(&server, &options).await {
            Ok(c) => c,
            Err(e) => {
                // Another server of the cluster is tried at once; after a whole round, a pause.
                let round_over = servers.failed();
                let delay = if round_over {
                    backoff.next_delay()
                } else {
                    Duration::ZERO
                };
                if was_connected {
                    if servers.several() {
                        warn!(%server, next = %servers.current(), "cannot reach the server ({e}); snapshots are kept in the spool; trying the next");
                    } else {
                        warn!(%server, "cannot reach the server ({e}); snapshots are kept in the spool; retrying");
                    }
                    was_connected = false;
                } else {
                    debug!(%server, "connect failed ({e}); next attempt in {delay:?}");
                }
                if e.is_certificate_error() {
                    error!(
                        "the server's TLS certificate is not trusted: {e}; give the certificate \
                         of the CA that signed it with --ca-file (or check the server name in \
                         --server)"
                    );
                }
                match &e {
                    // A busy server says so (its connection limits); the agent just retries.
                    ClientError::Refused { message } if message.starts_with("server busy") => {
                        debug!("the server is busy ({message}); retrying in {delay:?}");
                    }
                    ClientError::Refused { .. } => error!(
                        "the server refused this agent: {e}; check --token (the server's agent_token)"
                    ),
                    _ => {}
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        info!(%server, "connected");
        was_connected = true;
        let register = AgentRegister {
            host: registration.host.clone(),
            agent_id: Some(registration.agent_id.clone()),
            agent_version: Some(AGENT_VERSION.to_owned()),
            os: Some(registration.os.clone()),
            ..AgentRegister::default()
        };
        // Whether the server proved it works: it stored a snapshot, or had nothing to store.
        let mut worked = false;
        let end = match client.emit(events::AGENT_REGISTER, &register).await {
            Ok(()) => session(&client, &spool, &wake, &mut worked).await,
            Err(e) => SessionEnd::Lost(format!("registering failed: {e}")),
        };
        client.close().await;
        if worked {
            backoff.reset();
        }
        let refused = match end {
            SessionEnd::Lost(why) => {
                warn!(%server, "connection lost ({why}); unsent snapshots stay in the spool");
                false
            }
            SessionEnd::Refused => true,
        };
        if servers.after_session(worked, refused) {
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}

/// Waits for the acks of the snapshots in flight, removing from the spool those stored.
async fn settle(
    in_flight: &mut VecDeque<(u64, PendingAck)>,
    spool: &Arc<Mutex<Spool>>,
) -> Result<(), String> {
    for (later, pending) in in_flight.drain(..) {
        match pending.wait().await.map(serde_json::from_value::<Ack>) {
            Ok(Ok(Ack::Ok { .. })) => {
                if let Ok(mut s) = spool.lock() {
                    s.remove(later);
                }
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Longest pause on one connection while the server answers `busy` or `storage`.
pub const MAX_BUSY_PAUSE: Duration = Duration::from_secs(30);

/// Sends the spool on one connection until it fails. A `busy` or `storage` answer (the
/// server's rate limit, a full queue or a full disk) keeps the connection: the snapshots in
/// flight are settled, the agent waits — longer while it lasts — and resends from the oldest
/// unacknowledged one.
/// `worked` is set once the server stores a snapshot or the spool is empty.
async fn session(
    client: &Client,
    spool: &Arc<Mutex<Spool>>,
    wake: &Notify,
    worked: &mut bool,
) -> SessionEnd {
    let mut in_flight: VecDeque<(u64, PendingAck)> = VecDeque::new();
    let mut busy = Pauses::new(Duration::from_secs(1), MAX_BUSY_PAUSE / 2);
    let mut clock_logged = false;
    loop {
        // Top up the window with the oldest snapshots not yet in flight, in order.
        let after = in_flight.back().map(|(s, _)| *s);
        let next = match spool.lock() {
            Ok(s) => s.oldest(WINDOW - in_flight.len(), after),
            Err(_) => return SessionEnd::Lost("spool lock poisoned".to_owned()),
        };
        for seq in next {
            let text = match spool.lock().map(|s| s.read(seq)) {
                Ok(Ok(text)) => text,
                Ok(Err(e)) => {
                    error!("dropping unreadable spooled snapshot {seq}: {e}");
                    if let Ok(mut s) = spool.lock() {
                        s.remove(seq);
                    }
                    continue;
                }
                Err(_) => return SessionEnd::Lost("spool lock poisoned".to_owned()),
            };
            match client.send_with_ack(events::AGENT_SNAPSHOT, &text).await {
                Ok(pending) => in_flight.push_back((seq, pending)),
                Err(e) => return SessionEnd::Lost(e.to_string()),
            }
        }
        let Some((seq, pending)) = in_flight.pop_front() else {
            // Nothing to send: wait for the next snapshot, or notice at once that the
            // connection ended (a server restart: reconnect now, not at the next snapshot).
            *worked = true;
            tokio::select! {
                () = wake.notified() => {}
                () = client.closed() => {
                    return SessionEnd::Lost("closed by the server".to_owned());
                }
            }
            continue;
        };
        let ack = match pending.wait().await {
            Ok(ack) => ack,
            Err(e) => return SessionEnd::Lost(e.to_string()),
        };
        let body = match serde_json::from_value::<Ack>(ack) {
            Ok(Ack::Ok { .. }) => {
                if let Ok(mut s) = spool.lock() {
                    s.remove(seq);
                }
                *worked = true;
                busy.reset();
                continue;
            }
            Ok(Ack::Err(body)) => body,
            // Not an answer this agent understands (a newer or foreign server): keep the
            // snapshot and start over rather than guess.
            Err(e) => return SessionEnd::Lost(format!("unexpected ack for snapshot {seq}: {e}")),
        };
        let (code, message) = (body.code, body.message.as_str());
        // A capture time the server finds too far ahead of its clock: this PC's clock is
        // wrong. The snapshot is kept (not dropped) and sent again later, like `busy`.
        let clock = code == ErrorCode::InvalidField && message.contains("`captured_at`");
        if clock && !clock_logged {
            error!(seq, "{message}; snapshots are kept in the spool meanwhile");
            clock_logged = true;
        }
        match code {
            _ if clock => {
                if let Err(e) = settle(&mut in_flight, spool).await {
                    return SessionEnd::Lost(e);
                }
                tokio::time::sleep(busy.next_delay()).await;
            }
            ErrorCode::Busy | ErrorCode::Storage | ErrorCode::Unavailable => {
                debug!(
                    seq,
                    %code, "server could not store the snapshot yet; will resend: {message}"
                );
                // Settle what is in flight (some may be stored), then pause and resend in order.
                if let Err(e) = settle(&mut in_flight, spool).await {
                    return SessionEnd::Lost(e);
                }
                tokio::time::sleep(busy.next_delay()).await;
            }
            ErrorCode::Unauthorized | ErrorCode::Forbidden => {
                error!(seq, "the server refuses this agent's snapshots: {message}");
                return SessionEnd::Refused;
            }
            _ => {
                // The server will never accept it as it is: keeping it would block the spool.
                error!(
                    seq,
                    %code, "the server rejected snapshot {seq}, dropping it: {message}"
                );
                if let Ok(mut s) = spool.lock() {
                    s.remove(seq);
                }
            }
        }
    }
}
