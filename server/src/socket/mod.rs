//! The Socket.IO side: the Python original's events on namespace `/`, plus acks and errors.
//!
//! Connection set-up (auth, rooms, handler registration) happens in a connect middleware, which
//! runs before the client is told it is connected, so no event sent right after connecting can
//! miss its handler. Message handlers run synchronously in arrival order ([`ingest`]).

mod auth;
pub mod cluster;
pub mod gate;
mod ingest;
mod kind;
mod reply;
pub mod scoped;

use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use idlewatch_protocol::events;
use serde::Serialize;
use serde_json::json;
use socketioxide::extract::{SocketRef, State};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;
use socketioxide::{BroadcastError, SocketIo};
use tracing::{debug, info, warn};

use crate::state::AppState;
use idlewatch_protocol::time::now_ms;
use kind::SocketKind;

/// Room holding every dashboard socket (those that did not register as agents).
pub const DASHBOARDS: &str = "dashboards";

/// Installs the namespace `/` handlers on `io`.
pub fn attach(io: &SocketIo) {
    io.ns("/", on_connect.with(auth::authenticate));
}

async fn on_connect(socket: SocketRef, State(state): State<AppState>) {
    let _ = socket.emit(events::HELLO, &json!({ "msg": events::HELLO_MESSAGE }));
    if SocketKind::of(&socket) == SocketKind::SeatView {
        crate::seats::live::send_all(&socket, &state.seats);
    }
    if SocketKind::of(&socket) == SocketKind::Dashboard {
        // Not in the Python original, which only sent the list on changes: a dashboard that
        // connects between changes would otherwise show no hosts until the next one.
        let hosts = match scoped::scope_of(&socket) {
            Some(scope) => scoped::connected_hosts(&state, &scope),
            None => state.registry.connected_hosts(),
        };
        let _ = socket.emit(events::AGENT_LIST, &json!({ "hosts": hosts }));
    }
}

async fn on_disconnect(socket: SocketRef, State(state): State<AppState>, reason: DisconnectReason) {
    state.metrics.socket_closed();
    state.relay.left(&socket);
    scoped::left(&socket, &state);
    if let Some(auth::TokenSlot(id)) = socket.extensions.get::<auth::TokenSlot>() {
        state.token_connections.close(id);
    }
    if reason == DisconnectReason::PacketParsingError {
        // socketioxide reads the event name of every message before any handler runs; a
        // message that is not JSON (`NaN` or `Infinity` from Python's json.dumps) fails there,
        // and the Socket.IO library closes the connection without a way to answer it.
        state.metrics.sockets_closed_unparsable.inc();
        info!(sid = %socket.id, "connection closed: a message was not valid JSON (NaN or Infinity, as Python's json.dumps writes them, are not JSON); send finite numbers or null");
    }
    match SocketKind::of(&socket) {
        SocketKind::Dashboard => {
            state.metrics.dashboards_connected.dec();
            debug!(sid = %socket.id, ?reason, "dashboard disconnected");
        }
        SocketKind::Agent(host) => {
            state.metrics.agents_connected.dec();
            state.registry.agent_disconnected(&host);
            info!(sid = %socket.id, %host, ?reason, "agent disconnected");
            state.agent_list_changed();
        }
        SocketKind::SeatView => {
            state.metrics.seat_viewers_connected.dec();
            debug!(sid = %socket.id, ?reason, "seat view disconnected");
        }
        SocketKind::Unbound => debug!(sid = %socket.id, ?reason, "socket disconnected"),
    }
}

/// Shortest time between two `agent_list` broadcasts.
pub const AGENT_LIST_MIN_GAP: Duration = Duration::from_millis(200);

/// Sends `agent_list` to every dashboard (narrowed for scoped ones) whenever the list may have changed, at most once per
/// [`AGENT_LIST_MIN_GAP`]: the first change goes out at once, later ones within the gap are
/// folded into one. Without this, a reconnect storm of N agents costs O(N²) messages (in open
/// mode every new socket is a dashboard until it registers). Runs until aborted.
pub async fn agent_list_broadcaster(io: SocketIo, state: AppState) {
    loop {
        state.agent_list_dirty.notified().await;
        let hosts = state.registry.connected_hosts();
        let bytes = agent_list_bytes(&hosts);
        broadcast(
            &io,
            &state,
            events::AGENT_LIST,
            &json!({ "hosts": hosts }),
            bytes,
        );
        scoped::agent_lists(&io, &state);
        tokio::time::sleep(AGENT_LIST_MIN_GAP).await;
    }
}

/// About how long an `agent_list` of `hosts` is once encoded.
pub(crate) fn agent_list_bytes<S: AsRef<str>>(hosts: &[S]) -> usize {
    hosts.iter().map(|h| h.as_ref().len() + 3).sum::<usize>() + 32
}

/// Looks at the paused dashboards every [`crate::relay::RESUME_EVERY`] and resumes those that caught
/// up (the broadcasts look too, but only while events flow). Runs until aborted.
pub async fn resume_paused(io: SocketIo, state: AppState) {
    let mut tick = tokio::time::interval(crate::relay::RESUME_EVERY);
    loop {
        tick.tick().await;
        state
            .relay
            .resume(&io, DASHBOARDS, |socket| send_agent_list(socket, &state));
    }
}

/// The current `agent_list` to one socket (a dashboard that missed the broadcasts).
fn send_agent_list<A: socketioxide::adapter::Adapter>(socket: &SocketRef<A>, state: &AppState) {
    let hosts = state.registry.connected_hosts();
    if socket
        .emit(events::AGENT_LIST, &json!({ "hosts": hosts }))
        .is_err()
    {
        state.metrics.events_dropped.inc();
    }
}

/// Sends `event` (about `bytes` long once encoded) to the dashboards room now, on the caller's
/// thread when the adapter allows it (the local adapter always does), so events leave in the
/// order they were produced. Dashboards too far behind are paused first ([`crate::relay`]); each
/// paused one misses the event, counted as dropped.
/// An `alert` to every dashboard whose scope holds it.
pub(crate) fn alert(io: &SocketIo, state: &AppState, alert: &idlewatch_protocol::api::Alert) {
    // About 512 bytes once encoded.
    broadcast(io, state, events::ALERT, alert, 512);
    scoped::alert(io, state, alert, 512);
}

pub(crate) fn broadcast<T: Serialize + ?Sized>(
    io: &SocketIo,
    state: &AppState,
    event: &'static str,
    data: &T,
    bytes: usize,
) {
    // `io.of` rather than `io.to`: during shutdown the namespace is already gone, and `to`
    // would panic.
    let Some(root) = io.of("/") else {
        return;
    };
    let bytes = bytes as u64;
    if state.relay.due(bytes) {
        state.relay.check(io, DASHBOARDS, bytes, |socket| {
            send_agent_list(socket, state)
        });
    }
    state.relay.sent(bytes);
    let missed = state.relay.paused();
    if missed > 0 {
        state.metrics.events_dropped.inc_by(missed);
    }
    match root.to(DASHBOARDS).emit(event, data).now_or_never() {
        Some(Ok(())) => {}
        Some(Err(BroadcastError::Socket(failed))) => {
            // Each failure is one dashboard whose buffer is full (a slow reader) or closing.
            state.metrics.events_dropped.inc_by(failed.len() as u64);
            debug!(
                event,
                dropped = failed.len(),
                "broadcast not delivered to every dashboard"
            );
        }
        Some(Err(e)) => debug!(event, "broadcast failed: {e}"),
        // The local adapter this server uses completes broadcasts immediately; an adapter that
        // needs I/O would have to be driven by a task here.
        None => warn!(
            event,
            "broadcast did not complete synchronously and was dropped"
        ),
    }
}

fn now() -> SystemTime {
    SystemTime::now()
}
