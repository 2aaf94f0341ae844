//! What this server does with another server's events (cluster mode): a snapshot goes to its
//! dashboards (scoped ones narrowed) and to its alert rules, so the lead, whoever holds it, has
//! seen every host; an alert goes to its dashboards, and to its alert task as told (so that,
//! leading next, it does not tell it again); a licence server's poll becomes the latest here
//! (the lead polls for all); a change of the hosts connected anywhere makes a new
//! `agent_list`.

use std::sync::Arc;

use idlewatch_protocol::api::Alert;
use idlewatch_protocol::{Snapshot, events};
use socketioxide::SocketIo;

use crate::cluster::Arrivals;
use crate::cluster::bus::LicencePoll;
use crate::registry::Latest;
use crate::state::AppState;

/// The dashboards and alert rules of this server, for the cluster's events.
pub struct Relayed {
    io: SocketIo,
    state: AppState,
}

impl Relayed {
    /// Relays to `io`'s dashboards.
    #[must_use]
    pub fn new(io: SocketIo, state: AppState) -> Self {
        Self { io, state }
    }
}

impl Arrivals for Relayed {
    fn telemetry(&self, snapshot: &Snapshot, latest: &Arc<Latest>, received_ms: i64) {
        let state = &self.state;
        state.alerts.observe(snapshot.host(), latest, received_ms);
        // As ingest does: the snapshot plus `42["telemetry",` and `]`.
        let bytes = snapshot.len() + 16;
        super::broadcast(&self.io, state, events::TELEMETRY, snapshot.raw(), bytes);
        super::scoped::telemetry(&self.io, state, snapshot.host(), snapshot.raw(), bytes);
        state.metrics.telemetry_broadcasts.inc();
    }

    fn alert(&self, alert: &Alert) {
        super::alert(&self.io, &self.state, alert);
        self.state.alerts.told_elsewhere(alert);
    }

    fn licence_poll(&self, poll: LicencePoll) {
        let servers = self.state.licence_servers.clone();
        tokio::spawn(async move { servers.told_elsewhere(&poll.server, poll.poll).await });
    }

    fn agents_changed(&self) {
        // Not `agent_list_changed`: that would tell the other servers this one's list again.
        self.state.agent_list_dirty.notify_one();
    }
}
