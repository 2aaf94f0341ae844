//! `agent_register` and `agent_snapshot`: validate, update the live state, relay to dashboards,
//! answer.
//!
//! These are hand-written [`MessageHandler`]s rather than async closures: socketioxide spawns a
//! task per event for closures, so two snapshots of one agent could be handled out of order.
//! Here all the work runs synchronously in the socket's receive path, in arrival order, and the
//! broadcast goes out before the next event is read.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use idlewatch_protocol::{AgentRegister, ErrorBody, ErrorCode, RegisterAck, Snapshot, events};
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
use crate::auth::Role;
use crate::auth::issued::Bound;
use crate::limits::{Bucket, HostRefusal};
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
    if !state.tokens.is_live(bound.id) {
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
    // Host names are case-insensitive (DNS, Windows): a token issued for LAB1-PC07 serves the
    // agent of lab1-pc07.
    if !bound.host.eq_ignore_ascii_case(host) {
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

fn rate_refusal(state: &AppState) -> ErrorBody {
    let msg = format!(
        "more than {} snapshots per second from this host; not stored, send it again later",
        state.config.limits.snapshot_rate
    );
    ErrorBody::new(ErrorCode::Busy, msg)
}

/// The checks a valid snapshot of an allowed host must still pass before it is accepted: its
/// clock, its host's rate and daily byte budget (taken from here on), and the storage floor.
fn admit(state: &AppState, snapshot: &Snapshot) -> Result<(), ErrorBody> {
    let limits = &state.config.limits;
    let now = now_ms();
    snapshot
        .check_clock(now, limits.max_clock_skew_ms())
        .map_err(|e| e.body())?;
    let bytes = snapshot.len() as u64;
    match state
        .host_limits
        .take(snapshot.host(), bytes, Instant::now(), now)
    {
        Ok(()) => {}
        Err(HostRefusal::Rate) => {
            state.metrics.snapshots_rate_limited.inc();
            return Err(rate_refusal(state));
        }
        Err(HostRefusal::DayBytes { used, budget }) => {
            state.metrics.snapshots_over_budget.inc();
            return Err(ErrorBody::new(
                ErrorCode::Busy,
                format!(
                    "host {:?} has sent {} MiB of snapshots today, its budget is {} MiB \
                     (limits.host_bytes_per_day); not stored, send it again after 00:00 UTC",
                    snapshot.host(),
                    used >> 20,
                    budget >> 20
                ),
            ));
        }
    }
    state.disk_floor.note_written(bytes);
    if state.disk_floor.is_low() {
        state.host_limits.refund(snapshot.host(), bytes, now);
        return Err(ErrorBody::new(
            ErrorCode::Storage,
            format!(
                "the server's disk has less than {} MiB free (limits.min_free_disk); the \
                 snapshot was not stored, send it again later",
                state.disk_floor.floor() >> 20
            ),
        ));
    }
    Ok(())
}

/// Whether `socket` may become an agent socket of `host`: with a shared agent token (or in
/// open mode) one host may have at most `limits.connections_per_token` agent sockets, as one
/// per-host token may hold that many connections (counted when it connected).
fn may_bind(
    state: &AppState,
    socket: &Sock,
    bound: Option<&Bound>,
    host: &str,
) -> Result<(), ErrorBody> {
    let cap = state.config.limits.connections_per_token;
    if cap == 0 || bound.is_some() {
        return Ok(());
    }
    if let SocketKind::Agent(current) = SocketKind::of(socket)
        && current == host
    {
        return Ok(());
    }
    let open = state.registry.agents_of(host);
    if open as usize >= cap {
        state.metrics.connects_limited.inc();
        return Err(ErrorBody::new(
            ErrorCode::Busy,
            format!(
                "host {host:?} already has {open} agent connections, the most allowed \
                 (limits.connections_per_token); close the others or wait until they time out"
            ),
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
        // The host's own allowance is checked once the snapshot names it; this one bounds the
        // parsing work a single connection can cause, whatever it sends.
        if !self.within_rate() {
            state.metrics.snapshots_rate_limited.inc();
            return reply.refuse(state, rate_refusal(state));
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
        if let Err(error) = admit(state, &snapshot) {
            return reply.refuse(state, error);
        }
        if !matches!(SocketKind::of(&socket), SocketKind::Agent(_))
            && let Err(error) = may_bind(state, &socket, self.bound.as_ref(), snapshot.host())
        {
            state
                .host_limits
                .refund(snapshot.host(), snapshot.len() as u64, now_ms());
            return reply.refuse(state, error);
        }
        let io = io_of(&socket, &mut v, ack_id);
        if !matches!(SocketKind::of(&socket), SocketKind::Agent(_))
            && SocketKind::bind_agent(&socket, state, snapshot.host())
        {
            // A socket that reports without registering is that host's agent all the same. One
            // that registered keeps its host even when it relays snapshots of others.
            state.agent_list_changed();
        }
        state.metrics.snapshots_accepted.inc();
        state.metrics.snapshot_bytes.inc_by(snapshot.len() as u64);
        let latest = Arc::new(Latest::of(&snapshot));
        let packed = latest.packed();
        match state
            .registry
            .record_latest(&snapshot, latest.clone(), now())
        {
            Recorded::Latest => {
                state.alerts.observe(snapshot.host(), &latest, now_ms());
                // The encoded event is the snapshot plus `42["telemetry",` and `]`.
                broadcast(
                    &io,
                    state,
                    events::TELEMETRY,
                    snapshot.raw(),
                    snapshot.len() + 16,
                );
                super::scoped::telemetry(
                    &io,
                    state,
                    snapshot.host(),
                    snapshot.raw(),
                    snapshot.len() + 16,
                );
                state.metrics.telemetry_broadcasts.inc();
                if let Some(cluster) = state.cluster() {
                    cluster.telemetry(snapshot.host(), packed.clone(), now_ms());
                }
            }
            Recorded::Older => {
                state.metrics.snapshots_older.inc();
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
            match payload::<(Box<RawValue>,)>(&socket, &mut v, ack_id, events::AGENT_REGISTER)
                .and_then(|(raw,)| AgentRegister::parse(raw.get()).map_err(|e| e.body()))
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
        if let Err(error) = may_bind(state, &socket, self.bound.as_ref(), &register.host) {
            reply.refuse(state, error);
            let _ = socket.disconnect();
            return;
        }
        state.metrics.registrations.inc();
        let changed = SocketKind::bind_agent(&socket, state, &register.host);
        if socket
            .emit(events::REGISTERED, &json!({ "host": register.host }))
            .is_err()
        {
            state.metrics.events_dropped.inc();
        }
        if changed {
            info!(sid = %socket.id, host = %register.host, "agent registered");
        }
        // The Python original sent the list on every register, changed or not.
        state.agent_list_changed();
        reply.accept(state, &RegisterAck::new(register.host));
    }
}
