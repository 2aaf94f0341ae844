//! What a server does with the other servers' events: it listens on the cluster's channel
//! (subscribed again after any reconnect), keeps each snapshot as its host's latest state,
//! and hands snapshots, alerts and agent-list changes on to its [`Arrivals`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::{PushInfo, PushKind};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::bus::{self, Envelope, Event};
use super::{Arrivals, Cluster, INBOX, at, manager_config, outage, unpack};
use crate::registry::{Latest, Recorded};

impl Cluster {
    pub(super) async fn listen(&self, arrivals: &dyn Arrivals) {
        let (tx, mut rx) = mpsc::channel::<PushInfo>(INBOX);
        let dropped = self.lost.clone();
        let config = manager_config()
            .set_push_sender(move |push: PushInfo| {
                if tx.try_send(push).is_err() {
                    dropped.inc();
                }
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription();
        let channel = bus::channel(&self.config.prefix);
        let outage = outage::Outage::new("receive the other servers' events");
        let mut conn = loop {
            let subscribed = async {
                let mut conn = self
                    .client
                    .get_connection_manager_with_config(config.clone())
                    .await?;
                conn.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(conn)
            };
            match subscribed.await {
                Ok(conn) => break conn,
                Err(e) => {
                    outage.failed(&e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        // A command now and then: a connection that dropped is noticed and made again (and
        // subscribed again) even while nothing is published.
        let mut ping = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                push = rx.recv() => {
                    let Some(push) = push else { return };
                    if push.kind != PushKind::Message {
                        continue;
                    }
                    let Some(msg) = redis::Msg::from_push_info(push) else { continue };
                    match Envelope::decode(msg.get_payload_bytes(), self.max_json) {
                        Ok(envelope) if envelope.from == self.id => {}
                        Ok(envelope) => {
                            self.received.inc();
                            self.arrived(arrivals, envelope);
                        }
                        Err(e) => debug!("not a cluster event on the channel, skipped: {e}"),
                    }
                }
                _ = ping.tick() => {
                    match redis::cmd("PING").query_async::<String>(&mut conn).await {
                        Ok(_) => outage.worked(),
                        Err(e) => outage.failed(&e),
                    }
                }
            }
        }
    }

    /// Handles `envelope` from another server: a snapshot becomes its host's latest state here
    /// too, then goes on to `arrivals`; an alert goes to `arrivals`; an agent list joins the
    /// others'.
    fn arrived(&self, arrivals: &dyn Arrivals, envelope: Envelope) {
        match envelope.event {
            Event::Telemetry { received_ms, json } => {
                let snapshot = match unpack(&json, self.max_json) {
                    Ok(s) => s,
                    Err(e) => {
                        warn!(from = %envelope.from, "a snapshot from another server is unreadable, skipped: {e}");
                        return;
                    }
                };
                let latest = Arc::new(Latest::with_packed(&snapshot, json));
                let received = at(received_ms).min(SystemTime::now());
                if self
                    .registry
                    .record_latest(&snapshot, latest.clone(), received)
                    == Recorded::Latest
                {
                    arrivals.telemetry(&snapshot, &latest, received_ms);
                }
            }
            Event::Alert(alert) => arrivals.alert(&alert),
            Event::LicencePoll(poll) => arrivals.licence_poll(*poll),
            Event::Agents(list) => {
                self.peers.update(&envelope.from, list);
                self.apply_peers(arrivals);
            }
        }
    }

    /// The agents on other servers, into the registry; `arrivals` hears when the hosts
    /// connected anywhere changed.
    pub(super) fn apply_peers(&self, arrivals: &dyn Arrivals) {
        if self
            .registry
            .set_remote_agents(&self.peers.counts(), SystemTime::now())
        {
            arrivals.agents_changed();
        }
    }
}
