//! The simulated peers both measurements use: agents that connect, register and send generated
//! snapshots stamped with their send time, and dashboards that time the `telemetry` they get.
//!
//! The stamp is an extra snapshot field, [`SENT_KEY`], put first so that a dashboard finds it in
//! the first bytes of the event without parsing the rest (the server passes unknown fields and
//! key order through).

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::client::{self, Client, ClientOptions, Events};
use crate::measure::{BenchClock, Latency};
use crate::snapshot_gen::SnapshotGenerator;
use idlewatch_protocol::events;

/// The snapshot field carrying the send time, microseconds on the [`BenchClock`].
pub const SENT_KEY: &str = "bench_sent_us";
/// How long dashboards keep reading after the last snapshot was sent, once nothing arrives.
const DRAIN_IDLE: Duration = Duration::from_millis(500);
/// The most they keep reading after the end in any case.
const DRAIN_MAX: Duration = Duration::from_secs(10);

/// Why a peer could not join.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A dashboard could not connect.
    #[error("dashboard {index} could not connect")]
    Dashboard {
        /// Which one.
        index: usize,
        /// The client error.
        #[source]
        source: client::Error,
    },
    /// An agent could not connect or its `agent_register` got no ack.
    #[error("agent {host} could not connect and register")]
    Agent {
        /// Its host name.
        host: String,
        /// The client error.
        #[source]
        source: client::Error,
    },
    /// The server answered `agent_register` with a refusal.
    #[error("the server refused to register {host}: {answer}")]
    Refused {
        /// The host name.
        host: String,
        /// The ack as sent.
        answer: String,
    },
}

/// The host name of simulated agent `index`.
#[must_use]
pub fn host_name(index: usize) -> String {
    format!("bench-pc-{index:05}")
}

/// A connected, registered agent with its snapshot generator.
#[derive(Debug)]
pub struct Agent {
    /// The connection.
    pub client: Client,
    generator: SnapshotGenerator,
    /// Snapshot bodies rendered ahead of time, sent in turn; empty to render each one fresh.
    rendered: Vec<String>,
    seq: u64,
}

impl Agent {
    /// Connects agent `index` to `url` and registers it (waiting for the register ack).
    /// Its snapshots list about `processes` processes, drawn from `seed`.
    ///
    /// # Errors
    /// When the connection fails or the server refuses the registration.
    pub async fn join(
        url: &str,
        options: &ClientOptions,
        index: usize,
        processes: usize,
        seed: u64,
    ) -> Result<Self, Error> {
        let host = host_name(index);
        let generator = SnapshotGenerator::new(host.clone(), processes, seed ^ index as u64);
        let client = register(url, options, &host, generator.os()).await?;
        Ok(Self {
            client,
            generator,
            rendered: Vec::new(),
            seq: 0,
        })
    }

    /// Connects this agent to `url` instead (its previous connection lost) and registers it
    /// there; its snapshots go on where they were.
    ///
    /// # Errors
    /// As [`Agent::join`].
    pub async fn rejoin(&mut self, url: &str, options: &ClientOptions) -> Result<(), Error> {
        let host = self.generator.host().to_owned();
        self.client = register(url, options, &host, self.generator.os()).await?;
        Ok(())
    }

    /// Renders `count` consecutive snapshot bodies now and from then on sends them in turn
    /// (with fresh `seq`, `captured_at` and stamp) instead of rendering one per send: the
    /// bench then spends almost no CPU per snapshot, at the price of the churn repeating every
    /// `count` snapshots.
    pub fn prerender(&mut self, count: usize) {
        self.rendered = (0..count).map(|_| self.generator.next_body()).collect();
    }

    /// The host this agent plays.
    #[must_use]
    pub fn host(&self) -> &str {
        self.generator.host()
    }

    /// The next snapshot as JSON, stamped with the time it is built, and that time. The stamp
    /// is taken after generating, just before the caller sends it.
    pub fn next_snapshot(&mut self, clock: &BenchClock) -> (String, u64) {
        self.seq += 1;
        let fresh;
        let body = if self.rendered.is_empty() {
            fresh = self.generator.next_body();
            &fresh
        } else {
            let turn = (self.seq - 1) % self.rendered.len() as u64;
            &self.rendered[turn as usize]
        };
        let stamp = Stamp {
            sent_us: clock.now_us(),
            seq: self.seq,
            captured_at_ms: wall_clock_ms(),
        };
        (stamp.apply(body), stamp.sent_us)
    }
}

/// The per-send fields of a snapshot, put in front of its body.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// Send time on the bench clock, µs: [`SENT_KEY`].
    pub sent_us: u64,
    /// The agent's sequence number.
    pub seq: u64,
    /// Capture time, ms since the Unix epoch.
    pub captured_at_ms: u64,
}

impl Stamp {
    /// `body`, a JSON object, with [`SENT_KEY`], `seq` and `captured_at` added as its first
    /// fields, in that order.
    #[must_use]
    pub fn apply(&self, body: &str) -> String {
        let rest = body.strip_prefix('{').unwrap_or(body);
        let mut out = String::with_capacity(body.len() + 80);
        out.push_str(&format!(
            "{{\"{SENT_KEY}\":{},\"seq\":{},\"captured_at\":{}",
            self.sent_us, self.seq, self.captured_at_ms
        ));
        if !rest.trim_start().starts_with('}') {
            out.push(',');
        }
        out.push_str(rest);
        out
    }
}

/// The stamp in the text of a telemetry event, if it has one near the start.
#[must_use]
pub fn sent_us(event_text: &str) -> Option<u64> {
    let bytes = event_text.as_bytes();
    let head = &bytes[..bytes.len().min(256)];
    let key = SENT_KEY.as_bytes();
    let key_at = head.windows(key.len()).position(|w| w == key)?;
    let value = bytes[key_at + key.len()..].strip_prefix(b"\":")?;
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&value[..digits]).ok()?.parse().ok()
}

/// Milliseconds since the Unix epoch, for `captured_at`.
fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A span of the run on the [`BenchClock`], `[from_us, to_us)`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Start, µs.
    pub from_us: u64,
    /// End, µs.
    pub to_us: u64,
}

impl Window {
    /// True when `us` falls inside.
    #[must_use]
    pub fn contains(&self, us: u64) -> bool {
        (self.from_us..self.to_us).contains(&us)
    }

    /// Its length in seconds.
    #[must_use]
    pub fn seconds(&self) -> f64 {
        (self.to_us - self.from_us) as f64 / 1e6
    }
}

/// What one dashboard saw.
#[derive(Debug, Clone, Default)]
pub struct DashboardTally {
    /// `telemetry` events received while the measurement window was open.
    pub received_in_window: u64,
    /// `telemetry` events received for snapshots sent during the window (any time).
    pub received_of_window: u64,
    /// `telemetry` events received in all.
    pub received_total: u64,
    /// Events the dashboard's own client dropped, its buffer full (the bench fell behind).
    pub dropped_here: u64,
    /// Telemetry delay (dashboard receive − agent send) of snapshots sent during the window.
    pub latency: Latency,
}

/// Counts `telemetry` events until `stop` turns true, then drains what is still coming (until
/// nothing arrives for a moment) and returns.
pub async fn watch_telemetry(
    mut events: Events,
    clock: BenchClock,
    window: Window,
    mut stop: watch::Receiver<bool>,
) -> DashboardTally {
    let mut tally = DashboardTally::default();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let Some(event) = event else {
            tally.dropped_here = events.dropped();
            return tally;
        };
        tally.record(&event, &clock, window);
    }
    let give_up = tokio::time::Instant::now() + DRAIN_MAX;
    loop {
        let idle_until = give_up.min(tokio::time::Instant::now() + DRAIN_IDLE);
        match tokio::time::timeout_at(idle_until, events.recv()).await {
            Ok(Some(event)) => tally.record(&event, &clock, window),
            Ok(None) | Err(_) => break,
        }
    }
    tally.dropped_here = events.dropped();
    tally
}

impl DashboardTally {
    fn record(&mut self, event: &client::Event, clock: &BenchClock, window: Window) {
        if event.name() != events::TELEMETRY {
            return;
        }
        let now = clock.now_us();
        self.received_total += 1;
        if window.contains(now) {
            self.received_in_window += 1;
        }
        if let Some(sent) = sent_us(event.array())
            && window.contains(sent)
        {
            self.received_of_window += 1;
            self.latency.record(now.saturating_sub(sent));
        }
    }
}

/// Connects to `url` as agent `host` and registers (waiting for the register ack).
async fn register(
    url: &str,
    options: &ClientOptions,
    host: &str,
    os: &str,
) -> Result<Client, Error> {
    let agent_error = |source| Error::Agent {
        host: host.to_owned(),
        source,
    };
    // Agents ignore server events: dropping `Events` at once discards them.
    let (client, _) = Client::connect_with(url, options)
        .await
        .map_err(agent_error)?;
    let register = json!({
        "host": host,
        "agent_version": crate::snapshot_gen::AGENT_VERSION,
        "os": os,
    });
    let answer = client
        .emit_with_ack(events::AGENT_REGISTER, &register)
        .await
        .map_err(agent_error)?;
    if answer["ok"] != true {
        return Err(Error::Refused {
            host: host.to_owned(),
            answer: answer.to_string(),
        });
    }
    Ok(client)
}

/// Connects dashboard `index` (a viewer).
///
/// # Errors
/// When it cannot connect.
pub async fn join_dashboard(
    url: &str,
    options: &ClientOptions,
    index: usize,
) -> Result<(Client, Events), Error> {
    Client::connect_with(url, options)
        .await
        .map_err(|source| Error::Dashboard { index, source })
}

/// The outcome of one acked snapshot, tallied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AckTally {
    /// Answered `{"ok": true, ...}`.
    pub ok: u64,
    /// Answered `{"ok": false, ...}`.
    pub refused: u64,
    /// Not answered within the ack timeout.
    pub timeouts: u64,
    /// The connection closed before the answer.
    pub lost: u64,
}

impl AckTally {
    /// Counts one ack result.
    pub fn count(&mut self, result: &Result<serde_json::Value, client::Error>) {
        match result {
            Ok(answer) if answer["ok"] == true => self.ok += 1,
            Ok(_) => self.refused += 1,
            Err(client::Error::Timeout { .. }) => self.timeouts += 1,
            Err(_) => self.lost += 1,
        }
    }

    /// Adds another tally.
    pub fn add(&mut self, other: &Self) {
        self.ok += other.ok;
        self.refused += other.refused;
        self.timeouts += other.timeouts;
        self.lost += other.lost;
    }

    /// Acks that did not come back `ok`.
    #[must_use]
    pub fn failures(&self) -> u64 {
        self.refused + self.timeouts + self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_comes_first_and_is_found_again() {
        let stamp = Stamp {
            sent_us: 123_456,
            seq: 9,
            captured_at_ms: 1_700_000_000_000,
        };
        let stamped = stamp.apply(r#"{"host":"a","n":1}"#);
        assert_eq!(
            stamped,
            r#"{"bench_sent_us":123456,"seq":9,"captured_at":1700000000000,"host":"a","n":1}"#
        );
        assert_eq!(
            stamp.apply("{}"),
            r#"{"bench_sent_us":123456,"seq":9,"captured_at":1700000000000}"#
        );
        let event = format!(r#"["telemetry",{stamped}]"#);
        assert_eq!(sent_us(&event), Some(123_456));
        assert_eq!(sent_us(r#"["telemetry",{"host":"a"}]"#), None);
    }

    #[test]
    fn windows_are_half_open() {
        let w = Window {
            from_us: 10,
            to_us: 20,
        };
        assert!(w.contains(10) && w.contains(19) && !w.contains(20) && !w.contains(9));
    }
}
