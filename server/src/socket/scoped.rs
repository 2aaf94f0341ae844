//! Dashboards of a viewer token scoped to labs. They are not in the dashboards room, which gets
//! every host's `telemetry`: each joins [`SCOPED`] and the room of each of its labs, and gets
//! `telemetry` of its labs' hosts, `agent_list` narrowed to them, the `alert`s in its scope
//! and the `seats` events of its labs. They are few (a lab's supervisor, a screen in a
//! department), so each event goes to each of them on its own, with its own flow control
//! ([`crate::relay::Relay::admit`]): one too far behind misses events until it has read half
//! its backlog, then gets the current list first. A revoked token's dashboards and seat views
//! are disconnected at once ([`close_revoked`]), and at the latest at the next event they would
//! get.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use idlewatch_protocol::api::Alert;
use idlewatch_protocol::events;
use serde::Serialize;
use serde_json::json;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Socket;
use tracing::info;

use crate::auth::Scope;
use crate::auth::scope::group_key;
use crate::relay::{Admit, Flow};
use crate::state::AppState;

/// Room of every scoped dashboard.
pub const SCOPED: &str = "dashboards-scoped";

/// Room of every seat view opened with a scoped token.
pub const SCOPED_SEATS: &str = "seats-scoped";

/// Notes that seat-view `socket` was opened with `scope` (closed when it is revoked).
pub fn join_seat_view<A: Adapter>(socket: &Socket<A>, scope: Arc<Scope>) {
    socket.join(SCOPED_SEATS);
    socket.extensions.insert(scope);
}

/// Closes the dashboards and seat views of each viewer token revoked, as it is revoked, and
/// again a second later (a socket whose connect checked the token just before it was revoked
/// joins its room after the first look). Runs until aborted.
pub async fn close_revoked(io: SocketIo, state: AppState) {
    loop {
        state.tokens.scope_revoked().await;
        close_revoked_now(&io);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        close_revoked_now(&io);
    }
}

fn close_revoked_now(io: &SocketIo) {
    for room in [SCOPED, SCOPED_SEATS] {
        let Some(root) = io.of("/") else {
            return;
        };
        for socket in root.to(room).sockets() {
            let scope = scope_of(&socket).or_else(|| socket.extensions.get::<Arc<Scope>>());
            if scope.is_some_and(|s| s.is_revoked()) {
                info!(sid = %socket.id, room, "socket disconnected: its token was revoked");
                let _ = socket.disconnect();
            }
        }
    }
}

/// The room of the scoped dashboards that see lab `key` (lower-cased).
fn lab_room(key: &str) -> String {
    format!("lab:{key}")
}

/// A scoped dashboard's scope, flow and own count of bytes relayed to it.
#[derive(Debug)]
pub struct ScopedDashboard {
    scope: Arc<Scope>,
    flow: Arc<Flow>,
    relayed: AtomicU64,
}

/// Makes `socket` (a dashboard whose session's drain is `flow`'s) a dashboard of `scope`.
pub fn join<A: Adapter>(socket: &Socket<A>, state: &AppState, scope: Arc<Scope>, flow: Arc<Flow>) {
    socket.join(SCOPED);
    for key in scope.keys() {
        socket.join(lab_room(&key));
    }
    crate::seats::live::join(socket, Some(scope.keys()));
    socket.extensions.insert(Arc::new(ScopedDashboard {
        scope,
        flow,
        relayed: AtomicU64::new(0),
    }));
    state.relay.scoped.fetch_add(1, Relaxed);
}

/// `socket` went away or stopped being a dashboard.
pub fn left<A: Adapter>(socket: &Socket<A>, state: &AppState) {
    if socket.extensions.remove::<Arc<ScopedDashboard>>().is_some() {
        state.relay.scoped.fetch_sub(1, Relaxed);
    }
}

/// The scope of `socket`, when it is a scoped dashboard.
pub fn scope_of<A: Adapter>(socket: &Socket<A>) -> Option<Arc<Scope>> {
    socket
        .extensions
        .get::<Arc<ScopedDashboard>>()
        .map(|d| d.scope.clone())
}

/// The hosts with a connected agent that `scope` sees.
pub fn connected_hosts(state: &AppState, scope: &Scope) -> Vec<String> {
    let mut hosts = state.registry.connected_hosts();
    hosts.retain(|h| scope.admits_host(&state.groups, h));
    hosts
}

/// Whether any scoped dashboard is connected (else nothing here needs doing).
pub fn any(state: &AppState) -> bool {
    state.relay.scoped.load(Relaxed) > 0
}

/// `telemetry` of `host` to the scoped dashboards of its lab.
pub fn telemetry<T: Serialize + ?Sized>(
    io: &SocketIo,
    state: &AppState,
    host: &str,
    data: &T,
    bytes: usize,
) {
    if !any(state) {
        return;
    }
    let Some(group) = state.groups.of(host) else {
        return;
    };
    to_room(
        io,
        state,
        &lab_room(&group_key(&group)),
        events::TELEMETRY,
        data,
        bytes,
    );
}

/// An `alert` to the scoped dashboards whose scope holds it.
pub fn alert(io: &SocketIo, state: &AppState, alert: &Alert, bytes: usize) {
    if !any(state) {
        return;
    }
    let Some(root) = io.of("/") else {
        return;
    };
    for socket in root.to(SCOPED).sockets() {
        if let Some(dashboard) = socket.extensions.get::<Arc<ScopedDashboard>>()
            && dashboard.scope.admits_alert(&state.groups, alert)
        {
            send(&socket, &dashboard, state, events::ALERT, alert, bytes);
        }
    }
}

/// The current `agent_list`, narrowed to each scoped dashboard's labs.
pub fn agent_lists(io: &SocketIo, state: &AppState) {
    if !any(state) {
        return;
    }
    let Some(root) = io.of("/") else {
        return;
    };
    // Each connected host's lab, looked up once for every scoped dashboard.
    let connected: Vec<(String, Option<String>)> = state
        .registry
        .connected_hosts()
        .into_iter()
        .map(|h| {
            let group = state.groups.of(&h);
            (h, group)
        })
        .collect();
    for socket in root.to(SCOPED).sockets() {
        if let Some(dashboard) = socket.extensions.get::<Arc<ScopedDashboard>>() {
            let hosts: Vec<&str> = connected
                .iter()
                .filter(|(_, group)| dashboard.scope.admits(group.as_deref()))
                .map(|(host, _)| host.as_str())
                .collect();
            let bytes = super::agent_list_bytes(&hosts);
            send(
                &socket,
                &dashboard,
                state,
                events::AGENT_LIST,
                &json!({ "hosts": hosts }),
                bytes,
            );
        }
    }
}

fn to_room<T: Serialize + ?Sized>(
    io: &SocketIo,
    state: &AppState,
    room: &str,
    event: &'static str,
    data: &T,
    bytes: usize,
) {
    let Some(root) = io.of("/") else {
        return;
    };
    for socket in root.to(room.to_owned()).sockets() {
        if let Some(dashboard) = socket.extensions.get::<Arc<ScopedDashboard>>() {
            send(&socket, &dashboard, state, event, data, bytes);
        }
    }
}

/// One event to one scoped dashboard, under its flow control; a revoked token's dashboard is
/// disconnected instead.
fn send<A: Adapter, T: Serialize + ?Sized>(
    socket: &SocketRef<A>,
    dashboard: &ScopedDashboard,
    state: &AppState,
    event: &'static str,
    data: &T,
    bytes: usize,
) {
    if dashboard.scope.is_revoked() {
        info!(sid = %socket.id, token = dashboard.scope.id, "dashboard disconnected: its token was revoked");
        let _ = socket.clone().disconnect();
        return;
    }
    let bytes = bytes as u64;
    match state
        .relay
        .admit(&dashboard.flow, &dashboard.relayed, bytes)
    {
        Admit::Drop => {
            state.metrics.events_dropped.inc();
            return;
        }
        Admit::Resumed => {
            // It missed events: the list first, so it knows again who is connected.
            let hosts = connected_hosts(state, &dashboard.scope);
            let list_bytes = super::agent_list_bytes(&hosts) as u64;
            dashboard.relayed.fetch_add(list_bytes, Relaxed);
            emit(
                socket,
                state,
                events::AGENT_LIST,
                &json!({ "hosts": hosts }),
            );
        }
        Admit::Send => {}
    }
    emit(socket, state, event, data);
}

fn emit<A: Adapter, T: Serialize + ?Sized>(
    socket: &SocketRef<A>,
    state: &AppState,
    event: &'static str,
    data: &T,
) {
    if socket.emit(event, data).is_err() {
        state.metrics.events_dropped.inc();
    }
}
