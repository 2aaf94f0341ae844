//! How the server answers one event: through its ack when the client asked for one,
//! otherwise (for refusals only) with an `error` event. Answers that cannot be queued because
//! the client's socket buffer is full are counted as dropped.

use std::sync::Arc;

use idlewatch_format::PackedJson;
use idlewatch_protocol::{Ack, ErrorBody, ErrorCode, Snapshot, events};
use idlewatch_store::{AppendDone, Error as StoreError};
use serde_json::json;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::AckSender;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use tracing::{debug, info};

use crate::state::AppState;

type Sock = Arc<Socket<LocalAdapter>>;

/// How to answer one event: through its ack when the client asked for one, otherwise (for
/// refusals only) with an `error` event.
pub(super) struct Reply {
    socket: Sock,
    ack: Option<AckSender<LocalAdapter>>,
    event: &'static str,
}

impl Reply {
    pub(super) fn new(
        socket: &Sock,
        v: &mut Value,
        ack_id: Option<i64>,
        event: &'static str,
    ) -> Self {
        let ack = ack_id.map(
            |_| match AckSender::from_message_parts(socket, v, &ack_id) {
                Ok(sender) => sender,
                Err(never) => match never {},
            },
        );
        Self {
            socket: socket.clone(),
            ack,
            event,
        }
    }

    /// Hands the snapshot to the store; the ack (`{"ok": true, "seq": n}`, or `busy` /
    /// `storage`) is sent from the writer thread once the outcome is known.
    pub(super) fn after_commit(
        self,
        state: &AppState,
        snapshot: Arc<Snapshot>,
        packed: Arc<PackedJson>,
        received_ms: i64,
    ) {
        let answer_state = state.clone();
        let host = snapshot.host().to_owned();
        let bytes = snapshot.len() as u64;
        // Not stored: the agent sends it again, so it must not count twice against its host.
        let refund = move |state: &AppState, host: &str| {
            state.host_limits.refund(host, bytes, received_ms);
        };
        let done: AppendDone = Box::new(move |result| match result {
            Ok(appended) => {
                let counter = if appended.duplicate {
                    &answer_state.metrics.snapshots_duplicate
                } else {
                    &answer_state.metrics.snapshots_stored
                };
                counter.inc();
                if appended.uncounted {
                    uncounted(&answer_state, &host, received_ms);
                }
                self.accept(&answer_state, &Ack::Ok { seq: appended.seq });
            }
            Err(StoreError::Busy) => {
                refund(&answer_state, &host);
                self.refuse(
                    &answer_state,
                    ErrorBody::new(
                        ErrorCode::Busy,
                        "the server is saturated and did not store this snapshot; send it again \
                         later",
                    ),
                );
            }
            Err(e) => {
                refund(&answer_state, &host);
                self.refuse(
                    &answer_state,
                    ErrorBody::new(
                        ErrorCode::Storage,
                        format!("the snapshot was not stored ({e}); send it again later"),
                    ),
                );
            }
        });
        // A full queue runs `done` at once with `Busy`.
        let _ = state
            .store
            .try_append_packed(snapshot, Some(packed), received_ms, done);
    }

    pub(super) fn accept(self, state: &AppState, body: &impl serde::Serialize) {
        if let Some(ack) = self.ack
            && ack.send(body).is_err()
        {
            state.metrics.events_dropped.inc();
        }
    }

    pub(super) fn refuse(self, state: &AppState, error: ErrorBody) {
        state.metrics.reject(error.code);
        log_refusal(&self.socket, self.event, &error);
        let sent = match self.ack {
            Some(ack) => ack.send(&Ack::Err(error)).is_ok(),
            None => self
                .socket
                .emit(
                    events::ERROR,
                    &json!({ "event": self.event, "error": error }),
                )
                .is_ok(),
        };
        if !sent {
            state.metrics.events_dropped.inc();
        }
    }
}

/// Logs the first refusal of each socket at info (it tells an operator that an agent is broken)
/// and the rest at debug, so a misbehaving client cannot flood the log.
fn log_refusal(socket: &Sock, event: &str, error: &ErrorBody) {
    #[derive(Clone)]
    struct Logged;
    if socket.extensions.get::<Logged>().is_none() {
        socket.extensions.insert(Logged);
        info!(sid = %socket.id, event, code = %error.code, "refused: {} (further refusals on this socket are logged at debug)", error.message);
    } else {
        debug!(sid = %socket.id, event, code = %error.code, "refused: {}", error.message);
    }
}

/// Counts a snapshot stored after its time was folded into minute rows, and says so — the 1st,
/// 2nd, 4th, 8th… time (a PC whose clock is weeks behind sends one every interval).
fn uncounted(state: &AppState, host: &str, received_ms: i64) {
    state.metrics.snapshots_uncounted.inc();
    let n = state.metrics.snapshots_uncounted.get();
    if n.is_power_of_two() {
        tracing::warn!(
            host,
            received_ms,
            "a snapshot of {host} arrived captured before the time its snapshots were folded into \
             minute rows ([retention] snapshots); it is stored, but neither history nor the \
             reports count it — check that PC's clock ({n} such snapshots so far, \
             idlewatch_snapshots_uncounted_total)"
        );
    }
}
