//! The aging measurement, side by side on both stores in one run: the same generated snapshots
//! (5 s apart, the lab churn of `snapshot_gen`) appended to a redb store and to a PostgreSQL
//! store, then every whole hour folded into minute rows (and whole days into day rows) by each
//! store's own aging — how long folding takes, how many snapshots it folds a second, what a
//! host-hour of minute rows and a host-day row take, and, on PostgreSQL, what the tables take
//! on disk before and after (the day partitions every host has folded are dropped). Both
//! stores must end with the same tiers: the run fails otherwise.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{Error as StoreError, OpenOptions, Snapshots, Store, TierSizes};
use idlewatch_store_pg::{PgOptions, PgStore, TableBytes};
use serde::Serialize;

use crate::snapshot_gen::SnapshotGenerator;

/// 2025-09-01T00:00:00Z, a Monday: the generated snapshots start there.
pub const START_MS: i64 = 1_756_684_800_000;
/// Snapshots 5 s apart.
pub const INTERVAL_MS: i64 = 5_000;
const HOUR_MS: i64 = 3_600_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct AgeBenchOptions {
    /// Simulated hosts.
    pub hosts: usize,
    /// Hours of snapshots per host.
    pub hours: i64,
    /// Processes per snapshot.
    pub processes: usize,
    /// Seed of the generated snapshots.
    pub seed: u64,
    /// The PostgreSQL database (empty, or holding only what this benchmark wrote).
    pub postgres_url: String,
}

/// One store's aging.
#[derive(Debug, Clone, Serialize)]
pub struct AgedStore {
    /// Time to append every snapshot (acks after commit), s.
    pub append_s: f64,
    /// Time to fold them, s.
    pub fold_s: f64,
    /// Host-hours folded.
    pub host_hours: u64,
    /// Snapshots folded per second.
    pub folded_per_s: f64,
    /// Snapshots deleted once folded.
    pub removed: u64,
    /// Bytes of a host-hour's minute row (the value alone).
    pub minute_row_bytes: f64,
    /// Bytes of a host-day's day row (the value alone).
    pub day_row_bytes: f64,
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct AgeReport {
    /// Snapshots appended to each store.
    pub snapshots: u64,
    /// The redb store.
    pub redb: AgedStore,
    /// The PostgreSQL store.
    pub postgres: AgedStore,
    /// The PostgreSQL tables on disk before aging.
    pub postgres_before: TableBytes,
    /// And after.
    pub postgres_after: TableBytes,
    /// The tiers both stores hold after aging (equal).
    pub tiers: TierSizes,
}

/// One generator of snapshots per host (`lab-000`, `lab-001`, …), each seeded from `seed`.
#[must_use]
pub fn generators(hosts: usize, processes: usize, seed: u64) -> Vec<SnapshotGenerator> {
    (0..hosts)
        .map(|i| SnapshotGenerator::new(format!("lab-{i:03}"), processes, seed + i as u64))
        .collect()
}

/// Every host's snapshot of `step` (captured `step` intervals after [`START_MS`]).
pub fn step_snapshots(
    generators: &mut [SnapshotGenerator],
    step: i64,
) -> Vec<anyhow::Result<(i64, Arc<Snapshot>)>> {
    let captured = START_MS + step * INTERVAL_MS;
    generators
        .iter_mut()
        .map(|generator| {
            let json = generator.next_json(u64::try_from(captured)?);
            Ok((captured, Arc::new(Snapshot::parse(&json)?)))
        })
        .collect()
}

/// The generated snapshots, in capture order, one at a time (a run's snapshots would not fit
/// in memory at once): the same ones at every call.
fn generate(
    options: &AgeBenchOptions,
) -> impl Iterator<Item = anyhow::Result<(i64, Arc<Snapshot>)>> + use<> {
    let mut generators = generators(options.hosts, options.processes, options.seed);
    let steps = options.hours * HOUR_MS / INTERVAL_MS;
    (0..steps).flat_map(move |step| step_snapshots(&mut generators, step))
}

/// Takes one completion: a commit (one fewer in flight), or an append refused as busy (it was
/// never in flight).
fn settle(
    rx: &mpsc::Receiver<Result<(), StoreError>>,
    in_flight: &mut usize,
) -> anyhow::Result<()> {
    match rx.recv()? {
        Err(StoreError::Busy) => Ok(()),
        other => {
            other?;
            *in_flight -= 1;
            Ok(())
        }
    }
}

/// Appends every snapshot of `snapshots` (each with its capture time, which is also given as
/// its arrival time), keeping up to 2,048 in flight; returns how many and the seconds it took.
///
/// # Errors
/// A snapshot that could not be generated or stored.
pub fn append_all(
    store: &dyn Snapshots,
    snapshots: impl Iterator<Item = anyhow::Result<(i64, Arc<Snapshot>)>>,
) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel::<Result<(), StoreError>>();
    let mut in_flight = 0usize;
    let mut appended = 0u64;
    for generated in snapshots {
        let (captured, snapshot) = generated?;
        appended += 1;
        loop {
            while in_flight >= 2048 {
                settle(&rx, &mut in_flight)?;
            }
            let tx = tx.clone();
            let done = Box::new(move |r: Result<_, StoreError>| {
                let _ = tx.send(r.map(|_| ()));
            });
            if store
                .try_append_packed(snapshot.clone(), None, captured, done)
                .is_ok()
            {
                in_flight += 1;
                break;
            }
            // Busy: `done` already said so; wait for a message and retry.
            settle(&rx, &mut in_flight)?;
        }
    }
    while in_flight > 0 {
        settle(&rx, &mut in_flight)?;
    }
    Ok((appended, started.elapsed().as_secs_f64()))
}

/// Appends and ages on one store, calling `appended` in between.
fn run_on(
    store: &dyn Snapshots,
    options: &AgeBenchOptions,
    appended: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<(u64, AgedStore, TierSizes)> {
    let before_ms = START_MS + options.hours * HOUR_MS;
    let (snapshots, append_s) = append_all(store, generate(options))?;
    appended()?;
    let started = Instant::now();
    let aged = store.age_tiers(before_ms, 3 * INTERVAL_MS, None)?;
    let fold_s = started.elapsed().as_secs_f64();
    let tiers = store.tier_sizes()?;
    anyhow::ensure!(tiers.minute_hours > 0, "nothing was folded");
    Ok((
        snapshots,
        AgedStore {
            append_s,
            fold_s,
            host_hours: aged.folded_hours,
            folded_per_s: snapshots as f64 / fold_s.max(f64::EPSILON),
            removed: aged.removed,
            minute_row_bytes: tiers.minute_bytes as f64 / tiers.minute_hours as f64,
            day_row_bytes: tiers.day_bytes as f64 / tiers.day_rows.max(1) as f64,
        },
        tiers,
    ))
}

/// Runs the measurement, the redb store in `dir` (which should be empty).
///
/// # Errors
/// Any store failure; the two stores ending with different tiers.
pub fn run(dir: &std::path::Path, options: &AgeBenchOptions) -> anyhow::Result<AgeReport> {
    let (redb, _writer, _) = Store::open(dir, &OpenOptions::default())?;
    let (snapshots, redb_aged, redb_tiers) = run_on(&redb, options, || Ok(()))?;
    let pg = PgStore::open(&options.postgres_url, PgOptions::default())?;
    anyhow::ensure!(
        pg.snapshot_count()? == 0,
        "the PostgreSQL database already holds snapshots: give an empty one"
    );
    let mut pg_before = TableBytes::default();
    let (_, pg_aged, pg_tiers) = run_on(&pg, options, || {
        pg_before = pg.table_bytes()?;
        Ok(())
    })?;
    anyhow::ensure!(
        redb_tiers == pg_tiers,
        "the stores folded different tiers: redb {redb_tiers:?}, PostgreSQL {pg_tiers:?}"
    );
    Ok(AgeReport {
        snapshots,
        redb: redb_aged,
        postgres: pg_aged,
        postgres_before: pg_before,
        postgres_after: pg.table_bytes()?,
        tiers: pg_tiers,
    })
}

/// Human summary of a report.
#[must_use]
pub fn summary(r: &AgeReport, options: &AgeBenchOptions) -> String {
    let line = |name: &str, s: &AgedStore| {
        format!(
            "  {name:<10} appended in {:.1} s; folded {} host-hours in {:.2} s ({:.0} snapshots/s), \
             {} snapshots deleted; minute row {:.0} B per host-hour, day row {:.0} B per host-day",
            s.append_s,
            s.host_hours,
            s.fold_s,
            s.folded_per_s,
            s.removed,
            s.minute_row_bytes,
            s.day_row_bytes,
        )
    };
    let mib = |b: u64| b as f64 / 1_048_576.0;
    let (b, a) = (&r.postgres_before, &r.postgres_after);
    format!(
        "idlewatch-age-bench: {} hosts × {} h at 5 s ({} snapshots, {} processes each)\n{}\n{}\n  \
         postgresql on disk: snapshots {:.1} → {:.1} MiB, minutes {:.2} → {:.2} MiB ({:.0} B \
         per host-hour with its index), days {:.2} MiB\n  both stores hold {} host-hours of \
         minute rows and {} host-days of day rows",
        options.hosts,
        options.hours,
        r.snapshots,
        options.processes,
        line("redb", &r.redb),
        line("postgresql", &r.postgres),
        mib(b.snapshots),
        mib(a.snapshots),
        mib(b.minutes),
        mib(a.minutes),
        a.minutes as f64 / r.tiers.minute_hours.max(1) as f64,
        mib(a.days),
        r.tiers.minute_hours,
        r.tiers.day_rows,
    )
}
