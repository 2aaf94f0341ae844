//! The ingest measurement: N agents send snapshots at a total rate (or as fast as their acks
//! allow) while M dashboards receive the relayed `telemetry`; it reports throughput, the
//! agent-to-dashboard delay, acks, and what the server process spent doing it.
//!
//! Timeline on the bench clock: connect everyone, then `warmup` (sending, not counted), then the
//! measured window of `duration`, then a drain (in-flight acks, late telemetry). Server CPU is
//! the difference of two `/proc` readings taken at the window's edges.

mod agent;
mod report;

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::client::ClientOptions;
use crate::measure::BenchClock;
use crate::peers::{self, Agent, Window};
use crate::resources;
pub use report::{IngestReport, ServerFigures};

/// Agents connecting at once while the run sets up.
const CONNECT_CONCURRENCY: usize = 200;

/// What to run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Server base URL, `http://HOST:PORT`.
    pub server: String,
    /// Token for the agents.
    pub agent_token: Option<String>,
    /// Token for the dashboards.
    pub viewer_token: Option<String>,
    /// Where the dashboards connect when not to `server` (another server of a cluster: the
    /// delay is then agent → server → Redis → other server → dashboard).
    pub dashboards_on: Option<String>,
    /// Agent connections.
    pub agents: usize,
    /// Dashboard connections.
    pub dashboards: usize,
    /// Snapshots per second, all agents together; 0 sends as fast as possible.
    pub rate: f64,
    /// Length of the measured window.
    pub duration: Duration,
    /// Sending before the window opens, not counted.
    pub warmup: Duration,
    /// Processes per snapshot.
    pub processes: usize,
    /// Send snapshots with an ack callback.
    pub ack: bool,
    /// Acks one agent may await at once.
    pub ack_window: usize,
    /// Server process to watch in `/proc`.
    pub server_pid: Option<u32>,
    /// Snapshots each agent renders before the run and then sends in turn; 0 renders each
    /// one fresh (see [`Agent::prerender`]).
    pub prerender: usize,
    /// Seed of the generated snapshots.
    pub seed: u64,
}

/// Why the run could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A peer could not connect.
    #[error(transparent)]
    Peer(#[from] peers::Error),
    /// The server process could not be read at the start.
    #[error("cannot watch the server process")]
    ServerProcess(#[source] resources::Error),
}

/// Runs the ingest measurement.
///
/// # Errors
/// When a dashboard or agent cannot join, or the server process cannot be read at the start.
pub async fn run(options: &IngestOptions) -> Result<IngestReport, Error> {
    if let Some(pid) = options.server_pid {
        resources::sample(pid).map_err(Error::ServerProcess)?;
    }
    let clock = BenchClock::start();
    let dashboard_options = ClientOptions {
        token: options.viewer_token.clone(),
        read_buffer_bytes: 64 * 1024,
        // Seconds of telemetry at the highest rates seen: the dashboards only scan the first
        // bytes of each event, so they fall this far behind only when starved of CPU.
        event_buffer: 16 * 1024,
        ..ClientOptions::default()
    };
    let mut dashboards = Vec::with_capacity(options.dashboards);
    for index in 0..options.dashboards {
        let on = options.dashboards_on.as_deref().unwrap_or(&options.server);
        dashboards.push(peers::join_dashboard(on, &dashboard_options, index).await?);
    }
    let mut agents = join_agents(options).await?;
    if options.prerender > 0 {
        for agent in &mut agents {
            agent.prerender(options.prerender);
        }
    }

    let start_us = clock.now_us();
    let from_us = start_us + micros(options.warmup);
    let window = Window {
        from_us,
        to_us: from_us + micros(options.duration),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let watchers: Vec<_> = dashboards
        .into_iter()
        .map(|(client, events)| {
            let task = tokio::spawn(peers::watch_telemetry(
                events,
                clock,
                window,
                stop_rx.clone(),
            ));
            (client, task)
        })
        .collect();
    let plan = agent::Plan::new(options, clock, window, start_us);
    let senders: Vec<_> = agents
        .into_iter()
        .enumerate()
        .map(|(i, a)| tokio::spawn(agent::drive(a, plan.clone(), i)))
        .collect();

    let pids = [options.server_pid, Some(std::process::id())];
    let read = || pids.map(|pid| pid.and_then(|p| resources::sample(p).ok()));
    tokio::time::sleep_until(clock.at(window.from_us).into()).await;
    let before = read();
    tokio::time::sleep_until(clock.at(window.to_us).into()).await;
    let after = read();

    let mut sent = agent::Tally::default();
    let mut agents_lost = 0;
    for task in senders {
        match task.await {
            Ok(tally) => sent.add(&tally),
            Err(_) => agents_lost += 1,
        }
    }
    stop_tx.send_replace(true);
    let mut seen = Vec::with_capacity(watchers.len());
    for (client, task) in watchers {
        if let Ok(tally) = task.await {
            seen.push(tally);
        }
        client.close().await;
    }
    Ok(report::build(
        options,
        window,
        &sent,
        &seen,
        [before, after],
        agents_lost,
    ))
}

async fn join_agents(options: &IngestOptions) -> Result<Vec<Agent>, Error> {
    let agent_options = ClientOptions {
        token: options.agent_token.clone(),
        read_buffer_bytes: 4096,
        send_buffer: 2 * options.ack_window.max(1),
        ..ClientOptions::default()
    };
    let joined: Vec<Result<Agent, peers::Error>> = futures_util::stream::iter(0..options.agents)
        .map(|i| {
            Agent::join(
                &options.server,
                &agent_options,
                i,
                options.processes,
                options.seed,
            )
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    Ok(joined.into_iter().collect::<Result<Vec<_>, _>>()?)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
