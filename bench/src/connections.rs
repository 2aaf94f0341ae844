//! The connections measurement: many agents connected at once, each registering and then sending
//! one snapshot (with ack) per interval, staggered as a real fleet is. It reports how many got
//! in, how fast, what went wrong, and the server's memory with all of them connected.
//!
//! Phases: baseline reading, ramp (connect + register, `connect_concurrency` at a time), a
//! reading with everyone connected, the hold (`duration` of periodic snapshots), a final reading
//! with everyone still connected, then every connection is closed.

mod report;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::{Instant, MissedTickBehavior};

use crate::client::ClientOptions;
use crate::measure::{BenchClock, Latency, SharedLatency};
use crate::peers::{AckTally, Agent};
use crate::resources;
use idlewatch_protocol::events;
pub use report::{ConnectionsReport, ServerMemory};

/// What to run.
#[derive(Debug, Clone)]
pub struct ConnectionsOptions {
    /// Server base URL, `http://HOST:PORT`.
    pub server: String,
    /// Token for the agents.
    pub agent_token: Option<String>,
    /// Agent connections.
    pub agents: usize,
    /// Time between two snapshots of one agent.
    pub interval: Duration,
    /// Length of the hold phase.
    pub duration: Duration,
    /// Processes per snapshot.
    pub processes: usize,
    /// Connections opened at once during the ramp.
    pub connect_concurrency: usize,
    /// Longest WebSocket frame an agent sends (0: one frame per message).
    pub frame_bytes: usize,
    /// Server process to watch in `/proc`.
    pub server_pid: Option<u32>,
    /// Seed of the generated snapshots.
    pub seed: u64,
}

/// Why the run could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server process could not be read at the start.
    #[error("cannot watch the server process")]
    ServerProcess(#[source] resources::Error),
}

/// What one agent did during the hold.
#[derive(Debug, Default)]
struct HoldTally {
    sent: u64,
    acks: AckTally,
    disconnected: bool,
}

/// The ramp's outcome.
struct Ramp {
    agents: Vec<Agent>,
    errors: BTreeMap<String, u64>,
    latency: Latency,
    seconds: f64,
}

/// Runs the connections measurement.
///
/// # Errors
/// When the server process cannot be read at the start. Connection failures are not errors:
/// they are what this measures, and the report counts them.
pub async fn run(options: &ConnectionsOptions) -> Result<ConnectionsReport, Error> {
    let read = || options.server_pid.map(resources::sample).transpose();
    let baseline = read().map_err(Error::ServerProcess)?;
    let ramp = ramp(options).await;
    let connected_usage = read().ok().flatten();

    let clock = BenchClock::start();
    let start = Instant::now();
    let end = start + options.duration;
    let count = ramp.agents.len().max(1);
    let ack_latency = SharedLatency::default();
    let holders: Vec<_> = ramp
        .agents
        .into_iter()
        .enumerate()
        .map(|(i, agent)| {
            let first = start + options.interval.mul_f64(i as f64 / count as f64);
            let latency = ack_latency.clone();
            tokio::spawn(hold(agent, clock, latency, first, options.interval, end))
        })
        .collect();
    let mut agents = Vec::with_capacity(holders.len());
    let mut tallies = Vec::with_capacity(holders.len());
    for task in holders {
        if let Ok((agent, tally)) = task.await {
            agents.push(agent);
            tallies.push(tally);
        }
    }
    let end_usage = read().ok().flatten();
    let bench_rss = resources::sample(std::process::id()).ok();

    futures_util::stream::iter(agents)
        .for_each_concurrent(options.connect_concurrency.max(1), |agent| async move {
            agent.client.close().await;
        })
        .await;

    Ok(report::build(
        options,
        report::Phases {
            ramp_errors: ramp.errors,
            ramp_latency: ramp.latency,
            ramp_seconds: ramp.seconds,
            hold_seconds: start.elapsed().as_secs_f64(),
            tallies,
            ack_latency: ack_latency.snapshot(),
            baseline,
            connected: connected_usage,
            end: end_usage,
            bench_rss,
        },
    ))
}

async fn ramp(options: &ConnectionsOptions) -> Ramp {
    let client_options = ClientOptions {
        token: options.agent_token.clone(),
        read_buffer_bytes: 4096,
        send_buffer: 4,
        event_buffer: 4,
        fragment_bytes: options.frame_bytes,
        ..ClientOptions::default()
    };
    let started = Instant::now();
    let results: Vec<_> = futures_util::stream::iter(0..options.agents)
        .map(|i| {
            let client_options = &client_options;
            async move {
                let t = Instant::now();
                let joined = Agent::join(
                    &options.server,
                    client_options,
                    i,
                    options.processes,
                    options.seed,
                )
                .await;
                (t.elapsed(), joined)
            }
        })
        .buffer_unordered(options.connect_concurrency.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut ramp = Ramp {
        agents: Vec::with_capacity(results.len()),
        errors: BTreeMap::new(),
        latency: Latency::new(),
        seconds,
    };
    for (took, joined) in results {
        match joined {
            Ok(agent) => {
                ramp.latency
                    .record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
                ramp.agents.push(agent);
            }
            Err(e) => *ramp.errors.entry(root_cause(&e)).or_default() += 1,
        }
    }
    ramp
}

/// Sends one snapshot per `interval` from `first` until `end`, each awaiting its ack; returns
/// the agent still connected so that the final memory reading sees every connection.
async fn hold(
    mut agent: Agent,
    clock: BenchClock,
    ack_latency: SharedLatency,
    first: Instant,
    interval: Duration,
    end: Instant,
) -> (Agent, HoldTally) {
    let mut tally = HoldTally::default();
    let mut ticker = tokio::time::interval_at(first, interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(end) => break,
            _ = ticker.tick() => {}
        }
        let (json, sent_us) = agent.next_snapshot(&clock);
        let pending = agent
            .client
            .send_with_ack(events::AGENT_SNAPSHOT, &json)
            .await;
        let result = match pending {
            Ok(pending) => pending.wait().await,
            Err(e) => Err(e),
        };
        tally.sent += 1;
        tally.acks.count(&result);
        if result.is_ok() {
            ack_latency.record(clock.now_us().saturating_sub(sent_us));
        }
        if agent.client.is_closed() {
            tally.disconnected = true;
            break;
        }
    }
    (agent, tally)
}

/// The innermost message of an error chain, which names the actual cause ("Connection refused
/// (os error 111)", "Too many open files").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
