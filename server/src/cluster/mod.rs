//! Cluster mode: several servers behind one address (a TCP load balancer, DNS round robin, or
//! agents given every server), each holding its own agents and dashboards, sharing one live
//! view through Redis.
//!
//! - Each snapshot a server accepts is published to the others ([`bus`]), which record it as
//!   the host's latest state and relay it to their own dashboards; it is also kept under the
//!   host's key (with a time to live), which servers that start later read.
//! - Each server keeps the list of hosts whose agents it holds under its own key, leased
//!   ([`presence`]): every server's `agent_list` and online states are the union.
//! - The work that must happen once (alerts' records and notifications, Google Sheets uploads,
//!   licence-server polls, and with a shared store retention and aging) is done by the server
//!   holding the lead ([`lead`]); its licence polls reach the others as events too.
//!
//! With `[cluster] postgres_url` every server reads and writes one PostgreSQL store; without
//! it each keeps its own redb store, and history, reports and exports answer from what that
//! server stored (docs/SCALING.md).

pub mod bus;
pub mod lead;
mod listen;
mod outage;
pub mod presence;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use idlewatch_format::PackedJson;
use idlewatch_protocol::Snapshot;
use idlewatch_protocol::api::Alert;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use redis::ProtocolVersion;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{Notify, mpsc};
use tracing::warn;

use crate::config::ClusterConfig;
use crate::config::cluster::without_password;
use crate::licences::Poll;
use crate::registry::{HostRegistry, Latest};
use bus::{Envelope, Event};
use lead::Lead;
use presence::{AgentList, Peers};

/// Bytes of events waiting to be published, at most: past it they are dropped (counted), so a
/// slow or unreachable Redis never holds up ingest nor fills memory (a snapshot is ~30 KB).
const QUEUE_BYTES: u64 = 32 << 20;

/// Events waiting to be published, at most (small ones: agent lists and alerts).
const QUEUE: usize = 16_384;

/// Events from the other servers waiting to be handled here, at most: a server too busy to
/// keep up drops the excess (counted) rather than hold it in memory; each host's next
/// snapshot brings its state up to date again.
const INBOX: usize = 1_024;

/// Events sent to Redis in one round trip, at most.
const BATCH: usize = 64;

/// Keys read from Redis per round trip when scanning.
const SCAN_COUNT: usize = 1_000;
/// A changed agent list is published at most this often (the dashboards' `agent_list` is sent
/// at most every 200 ms too).
const PUBLISH_EVERY: Duration = Duration::from_millis(200);

/// What this server does with the other servers' events, beyond keeping each host's latest
/// state (which the cluster does itself).
pub trait Arrivals: Send + Sync {
    /// A snapshot another server received at `received_ms` is now its host's latest here.
    fn telemetry(&self, snapshot: &Snapshot, latest: &Arc<Latest>, received_ms: i64);
    /// Another server (the lead) fired, repeated or resolved `alert`.
    fn alert(&self, alert: &Alert);
    /// The hosts with an agent on some server changed.
    fn agents_changed(&self);
    /// Another server (the lead) polled a licence server.
    fn licence_poll(&self, poll: bus::LicencePoll);
}

/// One event to publish, and the key to keep it under with its time to live in ms.
struct Outgoing {
    payload: Vec<u8>,
    keep_as: Option<(String, u64)>,
}

/// This server's part in a cluster.
pub struct Cluster {
    id: String,
    config: ClusterConfig,
    client: redis::Client,
    conn: ConnectionManager,
    queue: mpsc::Sender<Outgoing>,
    queued_bytes: std::sync::atomic::AtomicU64,
    pending: std::sync::Mutex<Option<mpsc::Receiver<Outgoing>>>,
    /// Who does the work that must run once.
    pub lead: Lead,
    peers: Peers,
    agents_changed: Notify,
    registry: Arc<HostRegistry>,
    max_json: usize,
    sent: Counter,
    received: Counter,
    lost: Counter,
    leading: Gauge,
}

impl Cluster {
    /// Connects to the cluster's Redis; the hosts' latest states go to `registry`, snapshots
    /// of at most `max_json` bytes.
    ///
    /// # Errors
    /// When the address cannot be used or Redis does not answer.
    pub async fn connect(
        config: &ClusterConfig,
        registry: Arc<HostRegistry>,
        max_json: usize,
        metrics: &crate::metrics::Metrics,
    ) -> anyhow::Result<Arc<Self>> {
        let shown = without_password(&config.redis_url);
        let info = redis::IntoConnectionInfo::into_connection_info(config.redis_url.as_str())
            .with_context(|| format!("cluster.redis_url {shown} is not a usable Redis address"))?;
        // RESP3: the subscription's messages arrive on the same kind of connection as commands,
        // which reconnects and subscribes again by itself.
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))
            .with_context(|| format!("cluster.redis_url {shown} is not a usable Redis address"))?;
        let conn = client
            .get_connection_manager_with_config(manager_config())
            .await
            .with_context(|| {
                format!(
                    "cannot reach Redis at {shown}; start it, or correct cluster.redis_url \
                     (Redis 6 or later: the cluster speaks RESP3)"
                )
            })?;
        let mut id = [0u8; 6];
        getrandom::fill(&mut id)
            .map_err(|e| anyhow::anyhow!("cannot draw this server's cluster id: {e}"))?;
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let (queue, pending) = mpsc::channel(QUEUE);
        Ok(Arc::new(Self {
            lead: Lead::new(bus::lead_key(&config.prefix), id.clone(), config.lease),
            id,
            config: config.clone(),
            client,
            conn,
            queue,
            queued_bytes: std::sync::atomic::AtomicU64::new(0),
            pending: std::sync::Mutex::new(Some(pending)),
            peers: Peers::default(),
            agents_changed: Notify::new(),
            registry,
            max_json,
            sent: metrics.cluster_sent.clone(),
            received: metrics.cluster_received.clone(),
            lost: metrics.cluster_lost.clone(),
            leading: metrics.cluster_lead.clone(),
        }))
    }

    /// This server's id in the cluster (drawn at each start).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many other servers are live.
    #[must_use]
    pub fn peers(&self) -> usize {
        self.peers.len()
    }

    /// Tells the others `host`'s latest snapshot is `json` (received at `received_ms`), and
    /// keeps it under the host's key.
    pub fn telemetry(&self, host: &str, json: Arc<PackedJson>, received_ms: i64) {
        let envelope = Envelope {
            from: self.id.clone(),
            event: Event::Telemetry { received_ms, json },
        };
        self.send(Outgoing {
            payload: envelope.encode(),
            keep_as: Some((
                bus::host_key(&self.config.prefix, host),
                millis(self.config.host_ttl),
            )),
        });
    }

    /// Shows `alert` on the other servers' dashboards.
    pub fn alert(&self, alert: &Alert) {
        let envelope = Envelope {
            from: self.id.clone(),
            event: Event::Alert(Box::new(alert.clone())),
        };
        self.send(Outgoing {
            payload: envelope.encode(),
            keep_as: None,
        });
    }

    /// Tells the others licence server `name` answered `poll`, and keeps it under the licence
    /// server's key for three of its poll `interval`s (servers that start meanwhile read it).
    pub fn licence_poll(&self, name: &str, poll: &Poll, interval: Duration) {
        let envelope = Envelope {
            from: self.id.clone(),
            event: Event::LicencePoll(Box::new(bus::LicencePoll {
                server: name.to_owned(),
                poll: poll.clone(),
            })),
        };
        self.send(Outgoing {
            payload: envelope.encode(),
            keep_as: Some((
                bus::licence_key(&self.config.prefix, name),
                millis(interval.saturating_mul(3)),
            )),
        });
    }

    /// The licence servers' latest polls kept in Redis (at start: a server that does not lead
    /// shows them until the next).
    ///
    /// # Errors
    /// When Redis cannot be read.
    pub async fn licence_polls(&self) -> anyhow::Result<Vec<bus::LicencePoll>> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}licence:*", self.config.prefix);
        let polls = scan_values(&mut conn, &pattern).await?;
        Ok(polls
            .into_iter()
            .flatten()
            .filter_map(|value| match Envelope::decode(&value, 0) {
                Ok(Envelope {
                    event: Event::LicencePoll(poll),
                    ..
                }) => Some(*poll),
                _ => None,
            })
            .collect())
    }

    /// The hosts with an agent on this server may have changed.
    pub fn agents_changed(&self) {
        self.agents_changed.notify_one();
    }

    fn send(&self, out: Outgoing) {
        use std::sync::atomic::Ordering::Relaxed;
        let bytes = out.payload.len() as u64;
        if self.queued_bytes.fetch_add(bytes, Relaxed) + bytes > QUEUE_BYTES
            || self.queue.try_send(out).is_err()
        {
            self.queued_bytes.fetch_sub(bytes, Relaxed);
            self.lost.inc();
        }
    }

    /// Reads every host's latest state kept in Redis into the registry (at start, after the
    /// store's). Returns how many hosts were read.
    ///
    /// # Errors
    /// When Redis cannot be read.
    pub async fn prime(&self) -> anyhow::Result<usize> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}host:*", self.config.prefix);
        let limit = self.max_json;
        let mut read = 0;
        for value in scan_values(&mut conn, &pattern)
            .await?
            .into_iter()
            .flatten()
        {
            let Ok(Envelope {
                event: Event::Telemetry { received_ms, json },
                ..
            }) = Envelope::decode(&value, limit)
            else {
                continue;
            };
            match unpack(&json, limit) {
                Ok(snapshot) => {
                    let latest = Arc::new(Latest::with_packed(&snapshot, json));
                    self.registry
                        .record_latest(&snapshot, latest, at(received_ms));
                    read += 1;
                }
                Err(e) => warn!("a host's latest state in Redis is unreadable, skipped: {e}"),
            }
        }
        Ok(read)
    }

    /// Publishes, listens, keeps this server's agent list and holds the lead when free, until
    /// aborted.
    pub async fn run(self: Arc<Self>, arrivals: Arc<dyn Arrivals>) {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(pending) = pending else {
            return;
        };
        tokio::join!(
            self.publish(pending),
            self.listen(arrivals.as_ref()),
            self.presence(arrivals.as_ref()),
            self.hold_lead(),
        );
    }

    /// Gives the lead up and leaves the cluster's lists (at shutdown).
    pub async fn leave(&self) {
        let mut conn = self.conn.clone();
        self.lead.release(&mut conn).await;
        let key = bus::server_key(&self.config.prefix, &self.id);
        if let Err(e) = redis::cmd("DEL")
            .arg(key)
            .query_async::<i64>(&mut conn)
            .await
        {
            warn!(
                "cannot take this server off the cluster's list ({e}); it drops off when its lease runs out"
            );
        }
    }

    async fn publish(&self, mut pending: mpsc::Receiver<Outgoing>) {
        let channel = bus::channel(&self.config.prefix);
        let mut conn = self.conn.clone();
        let mut batch = Vec::with_capacity(BATCH);
        let outage = outage::Outage::new("publish this server's events");
        while pending.recv_many(&mut batch, BATCH).await > 0 {
            let mut pipe = redis::pipe();
            for out in &batch {
                pipe.cmd("PUBLISH").arg(&channel).arg(&out.payload).ignore();
                if let Some((key, ttl)) = &out.keep_as {
                    pipe.cmd("SET")
                        .arg(key)
                        .arg(&out.payload)
                        .arg("PX")
                        .arg(ttl)
                        .ignore();
                }
            }
            let bytes: u64 = batch.iter().map(|o| o.payload.len() as u64).sum();
            let sent = pipe.query_async::<()>(&mut conn).await;
            self.queued_bytes
                .fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
            let events = batch.len() as u64;
            match sent {
                Ok(()) => {
                    self.sent.inc_by(events);
                    outage.worked();
                }
                Err(e) => {
                    // The other servers miss them (idlewatch_cluster_events_lost_total).
                    self.lost.inc_by(events);
                    outage.failed(&e);
                }
            }
            batch.clear();
        }
    }

    async fn presence(&self, arrivals: &dyn Arrivals) {
        let mut conn = self.conn.clone();
        let key = bus::server_key(&self.config.prefix, &self.id);
        let pattern = format!("{}server:*", self.config.prefix);
        let channel = bus::channel(&self.config.prefix);
        let lease = millis(self.config.lease);
        let mut tick = tokio::time::interval(self.lead.every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outage = outage::Outage::new("share the agent lists");
        let mut seq: u64 = 0;
        let mut published = tokio::time::Instant::now();
        loop {
            let changed = tokio::select! {
                _ = tick.tick() => false,
                () = self.agents_changed.notified() => true,
            };
            if changed {
                // A storm of registrations changes the list thousands of times a second, and
                // each server reads every list it gets whole: at most one every PUBLISH_EVERY,
                // with every change made meanwhile.
                tokio::time::sleep_until(published + PUBLISH_EVERY).await;
                published = tokio::time::Instant::now();
            }
            seq += 1;
            let list = AgentList {
                seq,
                hosts: self.registry.local_hosts(),
            };
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(&key)
                .arg(serde_json::to_vec(&list).unwrap_or_default())
                .arg("PX")
                .arg(lease)
                .ignore();
            if changed {
                let envelope = Envelope {
                    from: self.id.clone(),
                    event: Event::Agents(list),
                };
                pipe.cmd("PUBLISH")
                    .arg(&channel)
                    .arg(envelope.encode())
                    .ignore();
            }
            if let Err(e) = pipe.query_async::<()>(&mut conn).await {
                outage.failed(&e);
                continue;
            }
            if changed {
                continue;
            }
            match self.read_peers(&mut conn, &pattern).await {
                Ok(lists) => {
                    outage.worked();
                    self.peers.replace(lists);
                    self.apply_peers(arrivals);
                }
                Err(e) => outage.failed(&e),
            }
        }
    }

    async fn read_peers(
        &self,
        conn: &mut ConnectionManager,
        pattern: &str,
    ) -> anyhow::Result<BTreeMap<String, AgentList>> {
        let prefix = bus::server_key(&self.config.prefix, "");
        let mut lists = BTreeMap::new();
        let keys = scan_keys(conn, pattern).await?;
        let values = mget(conn, &keys).await?;
        for (key, value) in keys.into_iter().zip(values) {
            let Some(id) = key.strip_prefix(&prefix) else {
                continue;
            };
            if id == self.id {
                continue;
            }
            if let Some(list) = value.and_then(|v| serde_json::from_slice(&v).ok()) {
                lists.insert(id.to_owned(), list);
            }
        }
        Ok(lists)
    }

    async fn hold_lead(&self) {
        let mut conn = self.conn.clone();
        let mut tick = tokio::time::interval(self.lead.every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let held = self.lead.try_once(&mut conn).await;
            self.leading.set(i64::from(held));
        }
    }
}

/// Reconnects for ever, a command waiting at most five seconds for its answer.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_max_delay(Duration::from_secs(2))
}

async fn scan_keys(conn: &mut ConnectionManager, pattern: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

async fn mget(
    conn: &mut ConnectionManager,
    keys: &[String],
) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
    let mut values = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(SCAN_COUNT) {
        let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(chunk).query_async(conn).await?;
        values.extend(got);
    }
    Ok(values)
}

async fn scan_values(
    conn: &mut ConnectionManager,
    pattern: &str,
) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
    let keys = scan_keys(conn, pattern).await?;
    mget(conn, &keys).await
}

/// The snapshot `json` holds, checked as one from an agent.
fn unpack(json: &PackedJson, limit: usize) -> Result<Snapshot, String> {
    let text = String::from_utf8(json.unpack()).map_err(|e| e.to_string())?;
    let raw = serde_json::value::RawValue::from_string(text).map_err(|e| e.to_string())?;
    Snapshot::from_raw_limited(raw, limit).map_err(|e| e.to_string())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn at(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
