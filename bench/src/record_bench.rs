//! The record codec on its own: the bytes each stored snapshot takes and the time to write and
//! read it, for zstd deltas (schemas 3–9) and structural deltas (schema 10) side by side over
//! the same generated snapshots. Each host's chain is cut by a keyframe every
//! [`KEYFRAME_INTERVAL`] records, as the store does; no file, no fsync (the store bench
//! measures those).

use std::time::Instant;

use idlewatch_format::{Decoder, DeltaKind, Encoder, KEYFRAME_INTERVAL, RecordHeader, Summary};
use idlewatch_protocol::Snapshot;
use serde::Serialize;

use crate::snapshot_gen::SnapshotGenerator;

/// 2026-11-02T00:00:00Z.
const START_MS: i64 = 1_793_577_600_000;

/// What to measure.
#[derive(Debug, Clone)]
pub struct RecordBenchOptions {
    /// Simulated hosts.
    pub hosts: usize,
    /// Snapshots per host.
    pub per_host: u64,
    /// Processes per snapshot.
    pub processes: usize,
    /// Processes changing their CPU and memory at every step (0: the usual lab churn).
    pub always_changing: usize,
    /// Seed of the generated snapshots.
    pub seed: u64,
}

/// The figures of one delta kind.
#[derive(Debug, Clone, Serialize)]
pub struct CodecFigures {
    /// Mean record size (header, summary and payload), bytes.
    pub bytes_per_record: f64,
    /// Mean size of the deltas alone (keyframes excluded), bytes.
    pub bytes_per_delta: f64,
    /// Deltas written structurally (the rest fell back to zstd).
    pub structural_share: f64,
    /// Mean encode time, microseconds.
    pub encode_us: f64,
    /// Mean decode time given the base, microseconds.
    pub decode_us: f64,
}

/// Both kinds over the same snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct RecordReport {
    /// Mean JSON size, bytes.
    pub json_bytes: f64,
    /// zstd deltas.
    pub zstd: CodecFigures,
    /// Structural deltas.
    pub structural: CodecFigures,
}

/// Generates the snapshots once and measures both kinds over them.
///
/// # Errors
/// A generated snapshot that does not parse, or a record that does not decode back to it.
pub fn run(options: &RecordBenchOptions) -> anyhow::Result<RecordReport> {
    let mut chains: Vec<Vec<String>> = Vec::with_capacity(options.hosts);
    for h in 0..options.hosts {
        let mut generator = SnapshotGenerator::new(
            format!("lab-{h:03}"),
            options.processes,
            options.seed + h as u64,
        )
        .always_changing(options.always_changing);
        chains.push(
            (0..options.per_host)
                .map(|i| generator.next_json(START_MS as u64 + i * 5_000))
                .collect(),
        );
    }
    let count: usize = chains.iter().map(Vec::len).sum();
    let json_bytes = chains.iter().flatten().map(String::len).sum::<usize>() as f64;
    Ok(RecordReport {
        json_bytes: json_bytes / count.max(1) as f64,
        zstd: measure(&chains, DeltaKind::Zstd)?,
        structural: measure(&chains, DeltaKind::Structural)?,
    })
}

fn measure(chains: &[Vec<String>], kind: DeltaKind) -> anyhow::Result<CodecFigures> {
    let mut encoder = Encoder::new(kind);
    let mut records = Vec::new();
    let mut seq = 0u64;
    let mut summaries = Vec::new();
    for chain in chains {
        for json in chain {
            let snapshot = Snapshot::parse(json)?;
            summaries.push((Summary::of(snapshot.fields()), snapshot.fields().seq));
        }
    }
    let mut summaries = summaries.into_iter();
    let started = Instant::now();
    for (host, chain) in chains.iter().enumerate() {
        // As the store's writer does: the index of each host's last snapshot is kept for the
        // next delta.
        let mut last_index = None;
        for (n, json) in chain.iter().enumerate() {
            seq += 1;
            let (summary, agent_seq) = summaries.next().unwrap_or_default();
            let n = n as u64;
            let delta = !n.is_multiple_of(KEYFRAME_INTERVAL);
            let header = RecordHeader {
                seq,
                host: u32::try_from(host)?,
                n,
                base: delta.then(|| seq - 1),
                received_ms: START_MS + n as i64 * 5_000 + 40,
                captured_ms: START_MS + n as i64 * 5_000,
                agent_seq,
            };
            let base = delta.then(|| (chain[n as usize - 1].as_bytes(), last_index.as_ref()));
            let (record, index) =
                encoder.encode_indexed(&header, Some(&summary), json.as_bytes(), base)?;
            records.push(record);
            last_index = index;
        }
    }
    let encode = started.elapsed();
    let mut decoder = Decoder::default();
    let started = Instant::now();
    let mut index = 0;
    let mut seq = 0u64;
    for chain in chains {
        for (n, json) in chain.iter().enumerate() {
            seq += 1;
            let base =
                (!(n as u64).is_multiple_of(KEYFRAME_INTERVAL)).then(|| chain[n - 1].as_bytes());
            let back = decoder.decode(seq, &records[index], base)?;
            anyhow::ensure!(back == json.as_bytes(), "record {seq} did not decode back");
            index += 1;
        }
    }
    let decode = started.elapsed();
    let total = records.len().max(1) as f64;
    let deltas: Vec<&Vec<u8>> = records.iter().filter(|r| matches!(r[0], 4 | 5)).collect();
    let structural = records.iter().filter(|r| r[0] == 5).count();
    Ok(CodecFigures {
        bytes_per_record: records.iter().map(Vec::len).sum::<usize>() as f64 / total,
        bytes_per_delta: deltas.iter().map(|r| r.len()).sum::<usize>() as f64
            / deltas.len().max(1) as f64,
        structural_share: structural as f64 / deltas.len().max(1) as f64,
        encode_us: encode.as_secs_f64() * 1e6 / total,
        decode_us: decode.as_secs_f64() * 1e6 / total,
    })
}

/// Human summary of a report.
#[must_use]
pub fn summary(r: &RecordReport, options: &RecordBenchOptions) -> String {
    let line = |name: &str, f: &CodecFigures| {
        format!(
            "  {name:<10} {:>6.0} B per record ({:>6.0} B per delta, {:>5.1} % structural)  encode {:>5.1} µs  decode {:>5.1} µs",
            f.bytes_per_record,
            f.bytes_per_delta,
            f.structural_share * 100.0,
            f.encode_us,
            f.decode_us,
        )
    };
    format!(
        "records: {} hosts x {} snapshots, {} processes ({} changing every step), {:.0} B of JSON each\n{}\n{}",
        options.hosts,
        options.per_host,
        options.processes,
        options.always_changing,
        r.json_bytes,
        line("zstd", &r.zstd),
        line("structural", &r.structural),
    )
}
