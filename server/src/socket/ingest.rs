//! `agent_register` and `agent_snapshot`: validate, update the live state, relay to dashboards,
//! answer.
//!
//! These are hand-written [`MessageHandler`]s rather than async closures: socketioxide spawns a
//! task per event for closures, so two snapshots of one agent could be handled out of order.
//! Here all the work runs synchronously in the socket's receive path, in arrival order, and the
//! broadcast goes out before the next event is read.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use idlewatch_protocol::{AgentRegister, ErrorBody, ErrorCode, Snapshot, events};
use serde_json::json;
use serde_json::value::RawValue;
use socketioxide::SocketIo;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::TryData;
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;
use tracing::info;

use super::kind::SocketKind;
use super::reply::Reply;
use super::{broadcast, now, now_ms};
use crate::agent_tokens::Bound;
use crate::auth::Role;
use crate::limits::Bucket;
use crate::registry::{Latest, Recorded};
use crate::state::AppState;

/// Marker distinguishing these handlers from socketioxide's closure handlers.
pub struct Synchronous;

type Sock = Arc<Socket<LocalAdapter>>;

/// Handles `agent_snapshot`.
pub struct SnapshotHandler {
    state: AppState,
    role: Role,
    bound: Option<Bound>,
    /// This connection's snapshot rate (`None`: no limit).
    rate: Option<Mutex<Bucket>>,
}

impl SnapshotHandler {
    pub fn new(state: AppState, role: Role, bound: Option<Bound>) -> Self {
        let limits = &state.config.limits;
        let rate = (limits.snapshot_rate > 0.0).then(|| {
            Mutex::new(Bucket::new(
                limits.snapshot_rate,
                limits.snapshot_burst,
                Instant::now(),
            ))
        });
        Self {
            state,
            role,
            bound,
            rate,
        }
    }

    /// Takes one snapshot from this connection's allowance.
    fn within_rate(&self) -> bool {
        self.rate.as_ref().is_none_or(|bucket| {
            bucket
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(Instant::now())
        })
    }
}

/// Handles `agent_register`.
pub struct RegisterHandler {
    state: AppState,
    role: Role,
    bound: Option<Bound>,
}

impl RegisterHandler {
    pub fn new(state: AppState, role: Role, bound: Option<Bound>) -> Self {
        Self { state, role, bound }
    }
}

/// Refuses a host its per-host token was not issued for, or a token revoked since the
/// connection opened (`Err((_, true))`: close the connection once the refusal is sent).
fn check_bound(
    state: &AppState,
    bound: Option<&Bound>,
    host: &str,
    what: &str,
) -> Result<(), (ErrorBody, bool)> {
    let Some(bound) = bound else {
        return Ok(());
    };
    if !state.agent_tokens.is_live(bound.id) {
        return Err((
            ErrorBody::new(
                ErrorCode::Unauthorized,
                format!(
                    "this agent token (id {}) was revoked; ask for a new one",
                    bound.id
                ),
            ),
            true,
        ));
    }
    if &*bound.host != host {
        return Err((
            ErrorBody::new(
                ErrorCode::Forbidden,
                format!(
                    "this agent token belongs to host {:?}; it may not {what} {host:?}",
                    &*bound.host
                ),
            ),
            false,
        ));
    }
    Ok(())
}

fn payload<T: serde::de::DeserializeOwned>(
    socket: &Sock,
    v: &mut Value,
    ack_id: Option<i64>,
    event: &str,
) -> Result<T, ErrorBody> {
    let TryData(data) = match TryData::<T>::from_message_parts(socket, v, &ack_id) {
        Ok(data) => data,
        Err(never) => match never {},
    };
    data.map_err(|e| {
        ErrorBody::new(
            ErrorCode::InvalidPayload,
            format!("{event} needs one JSON object argument ({e})"),
        )
    })
}

fn io_of(socket: &Sock, v: &mut Value, ack_id: Option<i64>) -> SocketIo {
    match SocketIo::from_message_parts(socket, v, &ack_id) {
        Ok(io) => io,
        Err(never) => match never {},
    }
}

impl MessageHandler<LocalAdapter, Synchronous> for SnapshotHandler {
    fn call(&self, socket: Sock, mut v: Value, ack_id: Option<i64>) {
        let state = &self.state;
        let reply = Reply::new(&socket, &mut v, ack_id, events::AGENT_SNAPSHOT);
        if !self.role.can_report() {
            let msg = format!(
                "a {} token may not send snapshots; agents need the agent token",
                self.role.as_str()
            );
            return reply.refuse(state, ErrorBody::new(ErrorCode::Forbidden, msg));
        }
        if !self.within_rate() {
            state.metrics.snapshots_rate_limited.fetch_add(1, Relaxed);
            let msg = format!(
                "more than {} snapshots per second on this connection; not stored, retry later",
                state.config.limits.snapshot_rate
            );
            return reply.refuse(state, ErrorBody::new(ErrorCode::Busy, msg));
        }
        // A 1-tuple: socketioxide's parser hands a bare `RawValue` the whole `[event, data]`
        // array, but a tuple gets the arguments after the event name.
        let snapshot =
            match payload::<(Box<RawValue>,)>(&socket, &mut v, ack_id, events::AGENT_SNAPSHOT)
                .and_then(|(raw,)| {
                    Snapshot::from_raw_limited(raw, state.config.limits.max_message_bytes)
                        .map_err(|e| e.body())
                }) {
                Ok(s) => Arc::new(s),
                Err(error) => return reply.refuse(state, error),
            };
        if let Err((error, close)) = check_bound(
            state,
            self.bound.as_ref(),
            snapshot.host(),
            "send snapshots of",
        ) {
            reply.refuse(state, error);
            if close {
                let _ = socket.disconnect();
            }
            return;
        }
        let io = io_of(&socket, &mut v, ack_id);
        if !matches!(SocketKind::of(&socket), SocketKind::Agent(_))
            && SocketKind::bind_agent(&socket, state, snapshot.host())
        {
            // A socket that reports without registering is that host's agent all the same. One
            // that registered keeps its host even when it relays snapshots of others.
            state.agent_list_changed();
        }
        state.metrics.snapshots_accepted.fetch_add(1, Relaxed);
        state
            .metrics
            .snapshot_bytes
            .fetch_add(snapshot.len() as u64, Relaxed);
        let latest = Arc::new(Latest::of(&snapshot));
        let packed = latest.packed();
        match state.registry.record_latest(&snapshot, latest, now()) {
            Recorded::Latest => {
                broadcast(&io, state, events::TELEMETRY, snapshot.raw());
                state.metrics.telemetry_broadcasts.fetch_add(1, Relaxed);
            }
            Recorded::Older => {
                state.metrics.snapshots_older.fetch_add(1, Relaxed);
            }
        }
        // Stored by the writer thread; the ack goes out only after the commit that holds it.
        reply.after_commit(state, snapshot, packed, now_ms());
    }
}

impl MessageHandler<LocalAdapter, Synchronous> for RegisterHandler {
    fn call(&self, socket: Sock, mut v: Value, ack_id: Option<i64>) {
        let state = &self.state;
        let reply = Reply::new(&socket, &mut v, ack_id, events::AGENT_REGISTER);
        if !self.role.can_report() {
            let msg = format!(
                "a {} token may not register as an agent; agents need the agent token",
                self.role.as_str()
            );
            return reply.refuse(state, ErrorBody::new(ErrorCode::Forbidden, msg));
        }
        let register =
            match payload::<serde_json::Value>(&socket, &mut v, ack_id, events::AGENT_REGISTER)
                .and_then(|value| AgentRegister::from_value(value).map_err(|e| e.body()))
            {
                Ok(r) => r,
                Err(error) => return reply.refuse(state, error),
            };
        if let Err((error, close)) =
            check_bound(state, self.bound.as_ref(), &register.host, "register as")
        {
            reply.refuse(state, error);
            if close {
                let _ = socket.disconnect();
            }
            return;
        }
        state.metrics.registrations.fetch_add(1, Relaxed);
        let changed = SocketKind::bind_agent(&socket, state, &register.host);
        if socket
            .emit(events::REGISTERED, &json!({ "host": register.host }))
            .is_err()
        {
            state.metrics.events_dropped.fetch_add(1, Relaxed);
        }
        if changed {
            info!(sid = %socket.id, host = %register.host, "agent registered");
        }
        // The Python original sent the list on every register, changed or not.
        state.agent_list_changed();
        reply.accept(state, &json!({ "ok": true, "host": register.host }));
    }
}
