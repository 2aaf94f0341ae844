//! The ingest measurement's figures: computed from the tallies, printed for people, serialized
//! as one JSON line for scripts.

use std::fmt;

use serde::Serialize;

use super::IngestOptions;
use super::agent::Tally;
use crate::measure::{Latency, LatencySummary};
use crate::peers::{AckTally, DashboardTally, Window};
use crate::resources::Usage;

const MIB: f64 = 1_048_576.0;

/// What the server process spent during the measured window.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFigures {
    /// CPU seconds (user + system) used during the window.
    pub cpu_seconds: f64,
    /// The same as a share of one core, percent (200 = two cores busy).
    pub cpu_percent: f64,
    /// CPU microseconds per snapshot sent during the window.
    pub cpu_us_per_snapshot: Option<f64>,
    /// Resident memory at the window's end, MiB.
    pub rss_mib: f64,
    /// Highest resident memory of its lifetime, MiB.
    pub peak_rss_mib: f64,
}

/// The result of one ingest run.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// Always `"ingest"`.
    pub scenario: &'static str,
    /// Agent connections.
    pub agents: usize,
    /// Dashboard connections.
    pub dashboards: usize,
    /// Target snapshots per second (0 = unpaced).
    pub target_rate: f64,
    /// Snapshots were sent with acks.
    pub ack: bool,
    /// Processes per snapshot.
    pub processes: usize,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Mean snapshot size, bytes of JSON.
    pub snapshot_bytes: u64,
    /// Snapshots sent during the window.
    pub snapshots_sent: u64,
    /// Snapshots sent in all, warm-up included.
    pub snapshots_sent_total: u64,
    /// Snapshots sent per second during the window.
    pub snapshots_per_s: f64,
    /// Snapshot payload sent per second, MiB.
    pub mib_per_s: f64,
    /// Ack outcomes (all zero without `--ack`).
    pub acks: AckTally,
    /// Send-to-ack delay.
    pub ack_latency: LatencySummary,
    /// `telemetry` events received per second, mean over dashboards.
    pub telemetry_per_s: f64,
    /// Snapshots sent during the window that some dashboard never received, summed over
    /// dashboards.
    pub telemetry_missing: u64,
    /// Of those, events the bench's own dashboards dropped because they fell behind; the rest
    /// the server did not deliver.
    pub telemetry_dropped_by_bench: u64,
    /// Agent send to dashboard receive delay.
    pub latency: LatencySummary,
    /// Agents whose connection failed while sending.
    pub disconnected: u64,
    /// The server process's costs, when its pid is known.
    pub server: Option<ServerFigures>,
    /// This bench process's own CPU use during the window, percent of one core.
    pub bench_cpu_percent: Option<f64>,
    /// Anything odd seen during the run.
    pub notes: Vec<String>,
}

/// Sums the tallies up.
pub(super) fn build(
    options: &IngestOptions,
    window: Window,
    sent: &Tally,
    seen: &[DashboardTally],
    [before, after]: [[Option<Usage>; 2]; 2],
    agents_lost: usize,
) -> IngestReport {
    let seconds = window.seconds();
    let mut latency = Latency::new();
    let mut received = 0;
    let mut missing = 0;
    let mut dropped_here = 0;
    for tally in seen {
        dropped_here += tally.dropped_here;
        latency.merge(&tally.latency);
        received += tally.received_in_window;
        missing += sent.sent_in_window.saturating_sub(tally.received_of_window);
    }
    let cpu = |i: usize| match (before[i], after[i]) {
        (Some(b), Some(a)) => Some((a.cpu_seconds - b.cpu_seconds, a)),
        _ => None,
    };
    let server = cpu(0).map(|(cpu_seconds, end)| ServerFigures {
        cpu_seconds,
        cpu_percent: cpu_seconds / seconds * 100.0,
        cpu_us_per_snapshot: (sent.sent_in_window > 0)
            .then(|| cpu_seconds * 1e6 / sent.sent_in_window as f64),
        rss_mib: end.rss_bytes as f64 / MIB,
        peak_rss_mib: end.peak_rss_bytes as f64 / MIB,
    });
    let mut notes = Vec::new();
    if options.server_pid.is_some() && server.is_none() {
        notes.push("the server process could not be read at the end: did it exit?".to_owned());
    }
    if missing > 0 {
        notes.push(format!(
            "{missing} telemetry events never reached a dashboard: {dropped_here} dropped by the \
             bench's own clients (they fell behind), the rest not delivered by the server \
             (compare its idlewatch_events_dropped_total)"
        ));
    }
    if sent.disconnected > 0 || agents_lost > 0 {
        notes.push(format!(
            "{} agents lost their connection while sending",
            sent.disconnected as usize + agents_lost
        ));
    }
    if sent.acks.failures() > 0 {
        notes.push(format!(
            "{} acks failed: {:?}",
            sent.acks.failures(),
            sent.acks
        ));
    }
    IngestReport {
        scenario: "ingest",
        agents: options.agents,
        dashboards: options.dashboards,
        target_rate: options.rate,
        ack: options.ack,
        processes: options.processes,
        duration_s: seconds,
        snapshot_bytes: sent
            .bytes_in_window
            .checked_div(sent.sent_in_window)
            .unwrap_or(0),
        snapshots_sent: sent.sent_in_window,
        snapshots_sent_total: sent.sent_total,
        snapshots_per_s: sent.sent_in_window as f64 / seconds,
        mib_per_s: sent.bytes_in_window as f64 / MIB / seconds,
        acks: sent.acks,
        ack_latency: sent.ack_latency.summary(),
        telemetry_per_s: if seen.is_empty() {
            0.0
        } else {
            received as f64 / seen.len() as f64 / seconds
        },
        telemetry_missing: missing,
        telemetry_dropped_by_bench: dropped_here,
        latency: latency.summary(),
        disconnected: sent.disconnected + agents_lost as u64,
        server,
        bench_cpu_percent: cpu(1).map(|(s, _)| s / seconds * 100.0),
        notes,
    }
}

impl IngestReport {
    /// True when no agent lost its connection and every ack came back `ok`.
    #[must_use]
    pub fn clean(&self) -> bool {
        self.acks.failures() == 0 && self.disconnected == 0
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = if self.target_rate > 0.0 {
            format!("{} snapshots/s", self.target_rate)
        } else {
            "as fast as possible".to_owned()
        };
        let ack = if self.ack { "with acks" } else { "no acks" };
        writeln!(
            f,
            "ingest: {} agents, {} dashboards, {rate}, {ack}, {} processes/snapshot, {:.1} s measured",
            self.agents, self.dashboards, self.processes, self.duration_s
        )?;
        writeln!(
            f,
            "  sent        {:>10.1} snapshots/s  ({} in window, {} B each, {:.1} MiB/s)",
            self.snapshots_per_s, self.snapshots_sent, self.snapshot_bytes, self.mib_per_s
        )?;
        if self.ack {
            let a = &self.acks;
            writeln!(
                f,
                "  acks        {} ok, {} refused, {} timed out, {} lost",
                a.ok, a.refused, a.timeouts, a.lost
            )?;
            writeln!(f, "  ack delay   {}", self.ack_latency)?;
        }
        writeln!(
            f,
            "  telemetry   {:>10.1} events/s per dashboard  ({} missing, {} of them dropped by the bench)",
            self.telemetry_per_s, self.telemetry_missing, self.telemetry_dropped_by_bench
        )?;
        writeln!(f, "  delay       {}", self.latency)?;
        if let Some(s) = &self.server {
            let per = s
                .cpu_us_per_snapshot
                .map_or_else(String::new, |us| format!(", {us:.0} µs/snapshot"));
            writeln!(
                f,
                "  server      {:.2} CPU s ({:.0}% of a core{per}), RSS {:.1} MiB, peak {:.1} MiB",
                s.cpu_seconds, s.cpu_percent, s.rss_mib, s.peak_rss_mib
            )?;
        }
        if let Some(cpu) = self.bench_cpu_percent {
            writeln!(f, "  bench       {cpu:.0}% of a core")?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}
