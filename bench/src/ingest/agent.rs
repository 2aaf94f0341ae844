//! One simulated agent's sending loop: paced by a per-agent ticker (the total rate split evenly,
//! start times staggered across one period) or unpaced, with at most `ack_window` acks awaited
//! at once when sending with acks.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::IngestOptions;
use crate::client::{self, PendingAck};
use crate::measure::{BenchClock, Latency};
use crate::peers::{AckTally, Agent, Window};
use idlewatch_protocol::events;

/// What every agent of a run shares.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    clock: BenchClock,
    window: Window,
    /// When sending starts, on the bench clock.
    start_us: u64,
    /// Time between two snapshots of one agent; `None` when unpaced.
    period: Option<Duration>,
    agents: usize,
    ack: bool,
    ack_window: usize,
}

impl Plan {
    pub fn new(options: &IngestOptions, clock: BenchClock, window: Window, start_us: u64) -> Self {
        let period = (options.rate > 0.0)
            .then(|| Duration::from_secs_f64(options.agents.max(1) as f64 / options.rate));
        Self {
            clock,
            window,
            start_us,
            period,
            agents: options.agents.max(1),
            ack: options.ack,
            ack_window: options.ack_window.max(1),
        }
    }

    fn ticker(&self, index: usize) -> Option<Interval> {
        let period = self.period?;
        let offset = period.mul_f64(index as f64 / self.agents as f64);
        let first = Instant::from_std(self.clock.at(self.start_us)) + offset;
        let mut ticker = tokio::time::interval_at(first, period);
        // A late agent sends one snapshot and keeps its phase rather than bursting to catch up:
        // the achieved rate then shows that the target was not met.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Some(ticker)
    }
}

/// One agent's sending totals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// Snapshots sent in all, warm-up included.
    pub sent_total: u64,
    /// Snapshots sent during the measured window.
    pub sent_in_window: u64,
    /// JSON bytes of those.
    pub bytes_in_window: u64,
    /// Agents whose connection failed while sending.
    pub disconnected: u64,
    /// Ack outcomes.
    pub acks: AckTally,
    /// Send-to-ack delay of snapshots sent during the window.
    pub ack_latency: Latency,
}

impl Tally {
    pub fn add(&mut self, other: &Self) {
        self.sent_total += other.sent_total;
        self.sent_in_window += other.sent_in_window;
        self.bytes_in_window += other.bytes_in_window;
        self.disconnected += other.disconnected;
        self.acks.add(&other.acks);
        self.ack_latency.merge(&other.ack_latency);
    }

    fn ack(
        &mut self,
        plan: &Plan,
        sent_us: u64,
        result: &Result<serde_json::Value, client::Error>,
    ) {
        self.acks.count(result);
        if result.is_ok() && plan.window.contains(sent_us) {
            let now = plan.clock.now_us();
            self.ack_latency.record(now.saturating_sub(sent_us));
        }
    }
}

/// Sends until the window closes, then waits for outstanding acks and closes the connection.
pub(super) async fn drive(mut agent: Agent, plan: Plan, index: usize) -> Tally {
    let mut tally = Tally::default();
    let mut ticker = plan.ticker(index);
    let mut in_flight = FuturesUnordered::new();
    let end = tokio::time::sleep_until(Instant::from_std(plan.clock.at(plan.window.to_us)));
    tokio::pin!(end);
    loop {
        let room = !plan.ack || in_flight.len() < plan.ack_window;
        tokio::select! {
            biased;
            () = &mut end => break,
            Some((sent_us, result)) = in_flight.next(), if !in_flight.is_empty() => {
                tally.ack(&plan, sent_us, &result);
            }
            () = tick(&mut ticker), if room => {
                match send(&mut agent, &plan, &mut tally).await {
                    Ok(Some((pending, sent_us))) => in_flight.push(wait(pending, sent_us)),
                    Ok(None) => {}
                    Err(_) => {
                        tally.disconnected += 1;
                        break;
                    }
                }
            }
        }
    }
    while let Some((sent_us, result)) = in_flight.next().await {
        tally.ack(&plan, sent_us, &result);
    }
    agent.client.close().await;
    tally
}

async fn tick(ticker: &mut Option<Interval>) {
    if let Some(ticker) = ticker {
        ticker.tick().await;
    }
}

async fn send(
    agent: &mut Agent,
    plan: &Plan,
    tally: &mut Tally,
) -> Result<Option<(PendingAck, u64)>, client::Error> {
    let (json, sent_us) = agent.next_snapshot(&plan.clock);
    let pending = if plan.ack {
        Some(
            agent
                .client
                .send_with_ack(events::AGENT_SNAPSHOT, &json)
                .await?,
        )
    } else {
        agent.client.emit_raw(events::AGENT_SNAPSHOT, &json).await?;
        None
    };
    tally.sent_total += 1;
    if plan.window.contains(sent_us) {
        tally.sent_in_window += 1;
        tally.bytes_in_window += json.len() as u64;
    }
    Ok(pending.map(|p| (p, sent_us)))
}

async fn wait(
    pending: PendingAck,
    sent_us: u64,
) -> (u64, Result<serde_json::Value, client::Error>) {
    (sent_us, pending.wait().await)
}
