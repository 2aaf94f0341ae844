//! A year on one disk, run rather than projected: generated snapshots of a few PCs (5 s apart,
//! the lab churn of `snapshot_gen`) appended to a redb store a day at a time, as a server
//! receives them, and after each day the store aged as the server ages it with the default
//! tiers (snapshots kept whole for `keep_days`, older ones folded into minute and day rows,
//! minute rows kept longer than the run). Reports the file's size along the way and at the
//! end, what each tier holds, and what 200 PCs would take from the measured bytes per PC — the
//! check on the per-unit projection in docs/PERFORMANCE.md (free pages, tree overhead and
//! fragmentation after months of deletions included).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{DeltaKind, OpenOptions, Store, TierSizes};
use serde::Serialize;

use crate::age_bench::{INTERVAL_MS, START_MS, append_all, generators, step_snapshots};
use crate::snapshot_gen::SnapshotGenerator;

const DAY_MS: i64 = 86_400_000;
/// The PCs a report projects to.
const FLEET: u64 = 200;

/// What to generate.
#[derive(Debug, Clone)]
pub struct YearAgeOptions {
    /// Simulated PCs.
    pub hosts: usize,
    /// Days of snapshots.
    pub days: i64,
    /// Days snapshots are kept whole (`[retention] snapshots`).
    pub keep_days: i64,
    /// Processes per snapshot.
    pub processes: usize,
    /// Seed of the generated snapshots.
    pub seed: u64,
    /// How records are stored against the previous one.
    pub deltas: DeltaKind,
    /// A sample of the file every this many days.
    pub sample_every: i64,
}

/// The store after a day.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Days generated so far.
    pub day: i64,
    /// The file's size, bytes (it grows in large steps ahead of use).
    pub file_bytes: u64,
    /// Bytes of pages in use.
    pub allocated_bytes: u64,
    /// Snapshots kept whole.
    pub snapshots: u64,
    /// The minute and day tiers.
    pub tiers: TierSizes,
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct YearAgeReport {
    /// Snapshots appended.
    pub appended: u64,
    /// Seconds spent appending (acks after commit).
    pub append_s: f64,
    /// Seconds spent aging.
    pub age_s: f64,
    /// Host-hours folded.
    pub folded_hours: u64,
    /// The store every `sample_every` days and at the end.
    pub samples: Vec<Sample>,
    /// The file at the end, per PC, bytes.
    pub file_bytes_per_host: f64,
    /// Pages in use at the end, per PC, bytes.
    pub allocated_bytes_per_host: f64,
    /// What [`FLEET`] PCs would take, bytes (pages in use per PC times the fleet; the file
    /// grows ahead of it in steps).
    pub fleet_bytes: f64,
}

/// The snapshots of `day` for every generator, in capture order.
fn day_of(
    generators: &mut [SnapshotGenerator],
    day: i64,
) -> impl Iterator<Item = anyhow::Result<(i64, Arc<Snapshot>)>> + use<'_> {
    let steps = DAY_MS / INTERVAL_MS;
    (day * steps..(day + 1) * steps).flat_map(move |step| step_snapshots(generators, step))
}

fn sample(store: &Store, day: i64) -> anyhow::Result<Sample> {
    let stats = store.stats()?;
    Ok(Sample {
        day,
        file_bytes: stats.file_bytes,
        allocated_bytes: stats.allocated_bytes,
        snapshots: store.snapshot_count()?,
        tiers: idlewatch_store::Snapshots::tier_sizes(store)?,
    })
}

/// Runs the year in `dir` (which should be empty), `progress` told of each sample.
///
/// # Errors
/// Any store failure, or nothing folded.
pub fn run(
    dir: &Path,
    options: &YearAgeOptions,
    mut progress: impl FnMut(&Sample),
) -> anyhow::Result<YearAgeReport> {
    let (store, _writer, _) = Store::open(
        dir,
        &OpenOptions {
            deltas: options.deltas,
            ..OpenOptions::default()
        },
    )?;
    let mut generators = generators(options.hosts, options.processes, options.seed);
    let (mut appended, mut append_s, mut age_s, mut folded_hours) = (0, 0.0, 0.0, 0);
    let mut samples = Vec::new();
    for day in 0..options.days {
        let (n, s) = append_all(&store, day_of(&mut generators, day))?;
        appended += n;
        append_s += s;
        // As the server's hourly aging leaves it at the end of the day.
        let before_ms = START_MS + (day + 1 - options.keep_days) * DAY_MS;
        let started = Instant::now();
        let aged = store.age_tiers(before_ms, 3 * INTERVAL_MS, None)?;
        age_s += started.elapsed().as_secs_f64();
        folded_hours += aged.folded_hours;
        if (day + 1) % options.sample_every == 0 || day + 1 == options.days {
            let sample = sample(&store, day + 1)?;
            progress(&sample);
            samples.push(sample);
        }
    }
    anyhow::ensure!(
        folded_hours > 0,
        "nothing was folded: run for more days than are kept whole"
    );
    let hosts = options.hosts.max(1) as f64;
    let (file, allocated) = samples
        .last()
        .map_or((0, 0), |s| (s.file_bytes, s.allocated_bytes));
    let per_host = allocated as f64 / hosts;
    Ok(YearAgeReport {
        appended,
        append_s,
        age_s,
        folded_hours,
        samples,
        file_bytes_per_host: file as f64 / hosts,
        allocated_bytes_per_host: per_host,
        fleet_bytes: per_host * FLEET as f64,
    })
}

/// One line about a sample.
#[must_use]
pub fn sample_line(s: &Sample) -> String {
    format!(
        "  day {:>3}: file {:>7.1} MiB, pages in use {:>7.1} MiB, {:>9} snapshots whole, {:>6} \
         host-hours of minute rows ({:.1} MiB), {:>5} day rows ({:.2} MiB)",
        s.day,
        s.file_bytes as f64 / 1_048_576.0,
        s.allocated_bytes as f64 / 1_048_576.0,
        s.snapshots,
        s.tiers.minute_hours,
        s.tiers.minute_bytes as f64 / 1_048_576.0,
        s.tiers.day_rows,
        s.tiers.day_bytes as f64 / 1_048_576.0,
    )
}

/// Human summary of a report.
#[must_use]
pub fn summary(r: &YearAgeReport, options: &YearAgeOptions) -> String {
    let samples: Vec<String> = r.samples.iter().map(sample_line).collect();
    format!(
        "idlewatch-year-age-bench: {} PCs × {} days at 5 s ({} snapshots, {} processes each, \
         {:?} deltas), snapshots kept whole {} days\n{}\n  appended in {:.0} s ({:.0}/s); aged \
         {} host-hours in {:.0} s ({:.0} snapshots/s)\n  at the end per PC: pages in use {:.1} \
         MiB, file {:.1} MiB; {} PCs would take {:.1} GB",
        options.hosts,
        options.days,
        r.appended,
        options.processes,
        options.deltas,
        options.keep_days,
        samples.join("\n"),
        r.append_s,
        r.appended as f64 / r.append_s.max(f64::EPSILON),
        r.folded_hours,
        r.age_s,
        (r.folded_hours * 720) as f64 / r.age_s.max(f64::EPSILON),
        r.allocated_bytes_per_host / 1_048_576.0,
        r.file_bytes_per_host / 1_048_576.0,
        FLEET,
        r.fleet_bytes / 1e9,
    )
}
