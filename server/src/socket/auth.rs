//! Connect middleware: who is this socket? Reads the token from the Socket.IO `auth` object
//! (`{"token": "..."}`), the `?token=` query parameter, or an `Authorization: Bearer` header,
//! refuses the connection with a clear `connect_error` message when it grants no role, and
//! otherwise sets the socket up before the client hears it is connected. The connection limits
//! that depend on the token (`limits.max_connections` less the slots reserved for viewers and
//! admins, `limits.connections_per_token`) are checked here; the per-IP connect rate was
//! checked at the Engine.IO handshake ([`super::gate`]).

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use serde::Deserialize;
use socketioxide::extract::{SocketRef, State, TryData};
use tracing::{debug, info, warn};

use super::ingest::{RegisterHandler, SnapshotHandler};
use super::kind::SocketKind;
use crate::auth::Refusal;
use crate::auth::presented::token_from_parts;
use crate::state::AppState;
use idlewatch_protocol::events;

/// The Socket.IO `auth` object.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuthObject {
    #[serde(default)]
    token: Option<String>,
    /// `"seats"`: the free-seat view, which receives only `seats` events (without a token when
    /// `[seats] public = true`).
    #[serde(default)]
    view: Option<String>,
    /// With the seat view: only these labs (default: all).
    #[serde(default)]
    groups: Option<Vec<String>>,
}

/// The per-host agent token a socket holds one of its connection slots of (released when the
/// socket disconnects).
#[derive(Debug, Clone, Copy)]
pub(super) struct TokenSlot(pub(super) u64);

/// Why a connection is refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum Refused {
    /// No valid token.
    #[error(transparent)]
    Auth(#[from] Refusal),
    /// A request the server cannot serve as asked.
    #[error("{0}")]
    Unusable(String),
    /// An abuse limit; the client should retry later.
    #[error("server busy: {0}; retry later")]
    Limit(String),
}

/// Peer address of the socket's HTTP request, for logs.
pub fn peer(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "?".to_owned(), |c| c.0.to_string())
}

pub(super) async fn authenticate(
    socket: SocketRef,
    State(state): State<AppState>,
    TryData(auth): TryData<Option<AuthObject>>,
) -> Result<(), Refused> {
    // Whatever follows, this session no longer waits for its connect.
    state.pending_handshakes.connected();
    let parts = socket.req_parts();
    let limits = &state.config.limits;
    let auth = auth.ok().flatten().unwrap_or_default();
    let presented = auth.token.or_else(|| token_from_parts(parts));
    match auth.view.as_deref() {
        None => {}
        Some(SEAT_VIEW) => {
            if let Some(groups) = &auth.groups
                && (groups.len() > MAX_SEAT_GROUPS
                    || groups.iter().any(|g| g.len() > MAX_GROUP_BYTES))
            {
                state.metrics.connects_refused.inc();
                return Err(Refused::Unusable(format!(
                    "the seat view takes at most {MAX_SEAT_GROUPS} groups of at most \
                     {MAX_GROUP_BYTES} bytes each; ask for fewer labs"
                )));
            }
            let only = auth
                .groups
                .map(|g| g.iter().map(|g| g.trim().to_lowercase()).collect());
            return seat_view(&socket, &state, presented.as_deref(), only);
        }
        Some(other) => {
            state.metrics.connects_refused.inc();
            return Err(Refused::Unusable(format!(
                "unknown view {other:?} in the auth object; use \"{SEAT_VIEW}\" for the seat view, \
                 or leave it out"
            )));
        }
    }
    let caller = match crate::auth::caller_of(&state.auth, &state.tokens, presented.as_deref()) {
        Ok(found) => found,
        Err(refusal) => {
            state.metrics.connects_refused.inc();
            warn!(peer = %peer(parts), "socket.io connection refused: {refusal}");
            return Err(refusal.into());
        }
    };
    let (role, bound) = (caller.role, caller.bound);
    // Viewers and admins may use the slots reserved for them: a flood of agent connections
    // never locks out the people who must react to it.
    let slots = if role.can_view() {
        limits.max_connections
    } else {
        limits.agent_connections()
    };
    open_slot(&state, slots, role.as_str())?;
    let issued = bound
        .as_ref()
        .map(|b| (b.id, "agent"))
        .or_else(|| caller.scope.as_ref().map(|s| (s.id, "viewer")));
    if let Some((id, kind)) = issued {
        token_slot(&socket, &state, id, kind)?;
    }
    if role.can_view() {
        SocketKind::make_dashboard(&socket, &state, caller.scope);
    }
    // Handlers are installed for every role: one that may not report gets a `forbidden`
    // answer rather than silence.
    socket.on(
        events::AGENT_REGISTER,
        RegisterHandler::new(state.clone(), role, bound.clone()),
    );
    socket.on(
        events::AGENT_SNAPSHOT,
        SnapshotHandler::new(state.clone(), role, bound.clone()),
    );
    socket.on_disconnect(super::on_disconnect);
    let host = bound.as_ref().map(|b| b.host.to_string());
    info!(sid = %socket.id, peer = %peer(parts), role = role.as_str(), host = ?host, transport = ?socket.transport_type(), "socket connected");
    Ok(())
}

/// The `view` of the seat view.
const SEAT_VIEW: &str = "seats";
/// The most labs one seat-view socket may ask for (each is a room it joins).
const MAX_SEAT_GROUPS: usize = 64;
/// The longest lab name it may give.
const MAX_GROUP_BYTES: usize = 256;

/// Takes one of the connections issued token `id` (of `kind`) may hold
/// (`limits.connections_per_token`), after its socket took a server slot; or gives that slot
/// back and refuses. The token's slot is released when the socket disconnects.
fn token_slot(socket: &SocketRef, state: &AppState, id: u64, kind: &str) -> Result<(), Refused> {
    if state.token_connections.try_open(id) {
        socket.extensions.insert(TokenSlot(id));
        return Ok(());
    }
    state.metrics.socket_closed();
    state.metrics.connects_limited.inc();
    debug!(peer = %peer(socket.req_parts()), token = id, "socket.io connection refused: connections per token");
    Err(Refused::Limit(format!(
        "{kind} token {id} already holds {} connections (limits.connections_per_token); close \
         the others or wait until they time out",
        state.token_connections.cap()
    )))
}

/// Takes one of `slots` connections (0: no limit), or refuses.
fn open_slot(state: &AppState, slots: usize, who: &str) -> Result<(), Refused> {
    let slots = if state.config.limits.max_connections > 0 {
        slots as u64
    } else {
        0
    };
    if state.metrics.try_open_socket(slots) {
        return Ok(());
    }
    state.metrics.connects_limited.inc();
    debug!(who, "socket.io connection refused: max connections");
    Err(Refused::Limit(format!(
        "{slots} connections are open, the most this server accepts for {who} connections"
    )))
}

/// Sets up a seat-view socket: anyone when the view is public and no token is given, else the
/// holder of a viewer or admin token. It gets no report handlers and only `seats` events.
fn seat_view(
    socket: &SocketRef,
    state: &AppState,
    presented: Option<&str>,
    only: Option<Vec<String>>,
) -> Result<(), Refused> {
    let parts = socket.req_parts();
    let limits = &state.config.limits;
    let role = if presented.is_none() && state.config.seats.public {
        None
    } else {
        let refused = |why: String| {
            state.metrics.connects_refused.inc();
            warn!(peer = %peer(parts), "seat view connection refused: {why}");
            Refused::Unusable(why)
        };
        match crate::auth::caller_of(&state.auth, &state.tokens, presented) {
            Ok(caller) if caller.role.can_view() => Some(caller),
            Ok(caller) => {
                return Err(refused(format!(
                    "the {} token may not read the seat view; use the viewer token",
                    caller.role.as_str()
                )));
            }
            Err(refusal) => {
                let hint = if state.config.seats.public {
                    ""
                } else {
                    " (the seat view is not public: give the viewer token, or set [seats] \
                     public = true on the server)"
                };
                return Err(refused(format!("{refusal}{hint}")));
            }
        }
    };
    // A token scoped to labs sees those, whatever it asks.
    let scope = role.as_ref().and_then(|caller| caller.scope.clone());
    let only = crate::seats::live::within(scope.as_deref(), only);
    // Anonymous screens compete with agents for connections; staff keep their reserve.
    let slots = if role.is_some() {
        limits.max_connections
    } else {
        limits.agent_connections()
    };
    open_slot(state, slots, "seat view")?;
    if let Some(scope) = &scope {
        token_slot(socket, state, scope.id, "viewer")?;
    }
    SocketKind::make_seat_view(socket, state, only);
    if let Some(scope) = scope {
        super::scoped::join_seat_view(socket, scope);
    }
    socket.on_disconnect(super::on_disconnect);
    debug!(sid = %socket.id, peer = %peer(parts), role = role.map_or("anonymous", |caller| caller.role.as_str()), "seat view connected");
    Ok(())
}
