//! The connections measurement: many agents connected at once, each registering and then sending
//! one snapshot (with ack) per interval, staggered as a real fleet is. It reports how many got
//! in, how fast, what went wrong, and the server's memory with all of them connected.
//!
//! Phases: baseline reading, ramp (connect + register, `connect_concurrency` at a time), a
//! reading with everyone connected, the hold (`duration` of periodic snapshots), a final reading
//! with everyone still connected, then every connection is closed.
//!
//! Given other servers of the same cluster (`fail_over`), the agents are spread over all of
//! them, and an agent whose server goes away moves on to the next, as the Idlewatch agent does:
//! it registers there and sends again the snapshot whose ack never came (the agent's spool
//! keeps it). The report says how many moved and how long each took.

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
    /// Other servers of the same cluster: agents are spread over all, and move on to the next
    /// when theirs goes away.
    pub fail_over: Vec<String>,
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
    /// From losing its server to registered on another, when it had to.
    moved_after: Option<Duration>,
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
            let pace = Pace {
                clock,
                ack_latency: ack_latency.clone(),
                first,
                interval: options.interval,
                end,
            };
            let route = Route::new(options, i);
            tokio::spawn(hold(agent, route, pace))
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

/// Every server the agents know, the first first.
fn servers(options: &ConnectionsOptions) -> Vec<String> {
    std::iter::once(options.server.clone())
        .chain(options.fail_over.iter().cloned())
        .collect()
}

/// The agents' client settings: small buffers, as many thousands are open.
fn client_options(options: &ConnectionsOptions) -> ClientOptions {
    ClientOptions {
        token: options.agent_token.clone(),
        read_buffer_bytes: 4096,
        send_buffer: 4,
        event_buffer: 4,
        fragment_bytes: options.frame_bytes,
        ..ClientOptions::default()
    }
}

async fn ramp(options: &ConnectionsOptions) -> Ramp {
    let client_options = client_options(options);
    let servers = servers(options);
    let started = Instant::now();
    let results: Vec<_> = futures_util::stream::iter(0..options.agents)
        .map(|i| {
            let client_options = &client_options;
            let server = &servers[i % servers.len()];
            async move {
                let t = Instant::now();
                let joined =
                    Agent::join(server, client_options, i, options.processes, options.seed).await;
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

/// When one agent sends.
struct Pace {
    clock: BenchClock,
    ack_latency: SharedLatency,
    /// Its first snapshot.
    first: Instant,
    interval: Duration,
    /// The end of the hold.
    end: Instant,
}

/// Where one agent sends: the servers it knows, the one it is on.
struct Route {
    servers: Vec<String>,
    at: usize,
    /// Its own part of the pause between two rounds of the servers (agents spread their tries).
    jitter: Duration,
    options: ClientOptions,
}

impl Route {
    /// Agent `index`'s: it starts on `servers[index % len]`.
    fn new(options: &ConnectionsOptions, index: usize) -> Self {
        let servers = servers(options);
        Self {
            at: index % servers.len(),
            servers,
            jitter: Duration::from_millis((index as u64 * 7_919) % 250),
            options: client_options(options),
        }
    }

    /// Whether there is another server to move on to.
    fn fails_over(&self) -> bool {
        self.servers.len() > 1
    }

    /// Registers `agent`, whose server went away, with the next servers in turn (a pause of
    /// 375 ms + the jitter after each round that found none) until one takes it or `end`
    /// comes; the tally says how long it took, or that it found none.
    async fn move_on(&mut self, agent: &mut Agent, end: Instant, tally: &mut HoldTally) -> bool {
        let lost = Instant::now();
        while Instant::now() < end {
            for _ in 0..self.servers.len() {
                self.at = (self.at + 1) % self.servers.len();
                if agent
                    .rejoin(&self.servers[self.at], &self.options)
                    .await
                    .is_ok()
                {
                    tally.moved_after = Some(lost.elapsed());
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(375) + self.jitter).await;
        }
        tally.disconnected = true;
        false
    }
}

/// Sends one snapshot per `interval` from `first` until `end`, each awaiting its ack; returns
/// the agent still connected so that the final memory reading sees every connection. When its
/// server goes away it moves on to the next of its route, and sends there again the snapshot
/// whose ack never came.
async fn hold(mut agent: Agent, mut route: Route, pace: Pace) -> (Agent, HoldTally) {
    let mut tally = HoldTally::default();
    let mut ticker = tokio::time::interval_at(pace.first, pace.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let fail_over = route.fails_over();
    loop {
        let lost = tokio::select! {
            biased;
            () = tokio::time::sleep_until(pace.end) => break,
            () = agent.client.closed(), if fail_over => true,
            _ = ticker.tick() => false,
        };
        if lost {
            // Its server went away between two snapshots: on to the next at once.
            if !route.move_on(&mut agent, pace.end, &mut tally).await {
                return (agent, tally);
            }
            continue;
        }
        let (json, sent_us) = agent.next_snapshot(&pace.clock);
        loop {
            let pending = agent
                .client
                .send_with_ack(events::AGENT_SNAPSHOT, &json)
                .await;
            let result = match pending {
                Ok(pending) => pending.wait().await,
                Err(e) => Err(e),
            };
            if result.is_err() && agent.client.is_closed() && fail_over {
                // Its server went away waiting: on to the next, the snapshot sent again there.
                if !route.move_on(&mut agent, pace.end, &mut tally).await {
                    return (agent, tally);
                }
                continue;
            }
            tally.sent += 1;
            tally.acks.count(&result);
            if result.is_ok() {
                pace.ack_latency
                    .record(pace.clock.now_us().saturating_sub(sent_us));
            }
            break;
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
