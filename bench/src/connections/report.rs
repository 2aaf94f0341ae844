//! The connections measurement's figures: computed from the phases, printed for people,
//! serialized as one JSON line for scripts.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{ConnectionsOptions, HoldTally};
use crate::measure::{Latency, LatencySummary};
use crate::peers::AckTally;
use crate::resources::Usage;

const MIB: f64 = 1_048_576.0;

/// The server's memory at one moment.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ServerMemory {
    /// Resident memory, MiB.
    pub rss_mib: f64,
    /// Highest resident memory so far, MiB.
    pub peak_rss_mib: f64,
}

impl From<Usage> for ServerMemory {
    fn from(u: Usage) -> Self {
        Self {
            rss_mib: u.rss_bytes as f64 / MIB,
            peak_rss_mib: u.peak_rss_bytes as f64 / MIB,
        }
    }
}

/// The result of one connections run.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionsReport {
    /// Always `"connections"`.
    pub scenario: &'static str,
    /// Agent connections attempted.
    pub agents: usize,
    /// Agents connected and registered.
    pub connected: usize,
    /// Failed attempts, by cause.
    pub connect_errors: BTreeMap<String, u64>,
    /// Time to attempt every connection, seconds.
    pub ramp_s: f64,
    /// Successful connections per second of ramp.
    pub connects_per_s: f64,
    /// Connect + register time of one agent.
    pub connect_latency: LatencySummary,
    /// Seconds between two snapshots of one agent.
    pub interval_s: f64,
    /// Hold phase, seconds.
    pub duration_s: f64,
    /// Processes per snapshot.
    pub processes: usize,
    /// Longest WebSocket frame sent (0: one frame per message).
    pub frame_bytes: usize,
    /// Snapshots sent during the hold.
    pub snapshots_sent: u64,
    /// Ack outcomes.
    pub acks: AckTally,
    /// Send-to-ack delay.
    pub ack_latency: LatencySummary,
    /// Agents whose connection closed during the hold.
    pub disconnected: u64,
    /// Agents that lost their server and registered with another of the cluster.
    pub moved: u64,
    /// From losing the server to registered with another, per agent that moved.
    pub move_latency: LatencySummary,
    /// Server memory before the ramp.
    pub server_baseline: Option<ServerMemory>,
    /// Server memory with every agent connected, before the hold.
    pub server_connected: Option<ServerMemory>,
    /// Server memory at the end of the hold, every agent still connected.
    pub server_end: Option<ServerMemory>,
    /// Server memory per connection: (connected − baseline) / connected, KiB.
    pub server_kib_per_connection: Option<f64>,
    /// Server CPU during the hold, percent of one core.
    pub server_cpu_percent: Option<f64>,
    /// This bench process's resident memory at the end, MiB.
    pub bench_rss_mib: Option<f64>,
    /// Anything odd seen during the run.
    pub notes: Vec<String>,
}

/// What the phases produced.
pub(super) struct Phases {
    pub ramp_errors: BTreeMap<String, u64>,
    pub ramp_latency: Latency,
    pub ramp_seconds: f64,
    pub hold_seconds: f64,
    pub tallies: Vec<HoldTally>,
    pub ack_latency: Latency,
    pub baseline: Option<Usage>,
    pub connected: Option<Usage>,
    pub end: Option<Usage>,
    pub bench_rss: Option<Usage>,
}

pub(super) fn build(options: &ConnectionsOptions, phases: Phases) -> ConnectionsReport {
    let connected = phases.tallies.len();
    let mut acks = AckTally::default();
    let mut sent = 0;
    let mut disconnected = 0;
    let mut move_latency = Latency::new();
    let mut moved = 0;
    for tally in &phases.tallies {
        sent += tally.sent;
        acks.add(&tally.acks);
        disconnected += u64::from(tally.disconnected);
        if let Some(after) = tally.moved_after {
            moved += 1;
            move_latency.record(u64::try_from(after.as_micros()).unwrap_or(u64::MAX));
        }
    }

    let per_connection = match (phases.baseline, phases.connected) {
        (Some(b), Some(c)) if connected > 0 => {
            Some((c.rss_bytes as f64 - b.rss_bytes as f64) / 1024.0 / connected as f64)
        }
        _ => None,
    };
    let cpu = match (phases.connected, phases.end) {
        (Some(c), Some(e)) => Some((e.cpu_seconds - c.cpu_seconds) / phases.hold_seconds * 100.0),
        _ => None,
    };
    let mut notes = Vec::new();
    if options.server_pid.is_some() && phases.end.is_none() {
        notes.push("the server process could not be read at the end: did it exit?".to_owned());
    }
    if disconnected > 0 {
        notes.push(format!(
            "{disconnected} agents lost their connection during the hold"
        ));
    }
    if moved > 0 {
        notes.push(format!(
            "{moved} agents lost their server and moved on to another of the cluster"
        ));
    }
    if acks.failures() > 0 {
        notes.push(format!("{} acks failed: {acks:?}", acks.failures()));
    }
    ConnectionsReport {
        scenario: "connections",
        agents: options.agents,
        connected,
        connect_errors: phases.ramp_errors,
        ramp_s: phases.ramp_seconds,
        connects_per_s: connected as f64 / phases.ramp_seconds.max(1e-9),
        connect_latency: phases.ramp_latency.summary(),
        interval_s: options.interval.as_secs_f64(),
        duration_s: phases.hold_seconds,
        processes: options.processes,
        frame_bytes: options.frame_bytes,
        snapshots_sent: sent,
        acks,
        ack_latency: phases.ack_latency.summary(),
        disconnected,
        moved,
        move_latency: move_latency.summary(),
        server_baseline: phases.baseline.map(Into::into),
        server_connected: phases.connected.map(Into::into),
        server_end: phases.end.map(Into::into),
        server_kib_per_connection: per_connection,
        server_cpu_percent: cpu,
        bench_rss_mib: phases.bench_rss.map(|u| u.rss_bytes as f64 / MIB),
        notes,
    }
}

impl ConnectionsReport {
    /// True when every agent connected and every ack came back `ok`.
    #[must_use]
    pub fn clean(&self) -> bool {
        self.connected == self.agents && self.acks.failures() == 0 && self.disconnected == 0
    }
}

impl fmt::Display for ConnectionsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "connections: {} agents, one {}-process snapshot each every {} s, {:.1} s held, {}",
            self.agents,
            self.processes,
            self.interval_s,
            self.duration_s,
            if self.frame_bytes == 0 {
                "one WebSocket frame per message".to_owned()
            } else {
                format!("WebSocket frames of at most {} B", self.frame_bytes)
            }
        )?;
        writeln!(
            f,
            "  connected   {} of {} in {:.2} s ({:.0}/s)",
            self.connected, self.agents, self.ramp_s, self.connects_per_s
        )?;
        writeln!(f, "  connect     {}", self.connect_latency)?;
        for (cause, n) in &self.connect_errors {
            writeln!(f, "  failed      {n} × {cause}")?;
        }
        let a = &self.acks;
        writeln!(
            f,
            "  snapshots   {} sent; acks {} ok, {} refused, {} timed out, {} lost",
            self.snapshots_sent, a.ok, a.refused, a.timeouts, a.lost
        )?;
        writeln!(f, "  ack delay   {}", self.ack_latency)?;
        if self.moved > 0 {
            writeln!(
                f,
                "  moved       {} agents to another server; lost → registered {}",
                self.moved, self.move_latency
            )?;
        }
        let mem = |m: &Option<ServerMemory>| {
            m.map_or_else(|| "?".to_owned(), |m| format!("{:.1} MiB", m.rss_mib))
        };
        if self.server_connected.is_some() {
            let per = self
                .server_kib_per_connection
                .map_or_else(String::new, |k| format!(" ({k:.1} KiB/connection)"));
            writeln!(
                f,
                "  server RSS  {} before, {} all connected{per}, {} at the end",
                mem(&self.server_baseline),
                mem(&self.server_connected),
                mem(&self.server_end)
            )?;
            if let Some(end) = &self.server_end {
                writeln!(f, "  server peak {:.1} MiB", end.peak_rss_mib)?;
            }
        }
        if let Some(cpu) = self.server_cpu_percent {
            writeln!(f, "  server CPU  {cpu:.1}% of a core during the hold")?;
        }
        if let Some(rss) = self.bench_rss_mib {
            writeln!(f, "  bench RSS   {rss:.1} MiB")?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}
