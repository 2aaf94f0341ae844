//! The store measurement: durable append rate through the real journal (one writer thread,
//! group commits, fsync), bytes on disk per snapshot at steady state with realistic churn, the
//! time to read one host-day of history, and the time to reopen the store and restore every
//! host's latest snapshot — optionally after growing the file to a target size.
//!
//! No network: this isolates the store from Socket.IO; `ingest --ack` measures both together.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{DeltaKind, Error as StoreError, HistoryQuery, OpenOptions, Store};
use serde::Serialize;

use crate::snapshot_gen::SnapshotGenerator;

/// Simulated report interval.
const INTERVAL_MS: u64 = 5_000;
/// A fixed simulated start: 2026-11-02T00:00:00Z.
const START_MS: u64 = 1_793_577_600_000;
/// Snapshots of one host per day at a 5 s interval.
pub const HOST_DAY: u64 = 17_280;

/// What to measure.
#[derive(Debug, Clone)]
pub struct StoreBenchOptions {
    /// Simulated hosts.
    pub hosts: usize,
    /// Snapshots per host in the measured fill.
    pub per_host: u64,
    /// Processes per snapshot.
    pub processes: usize,
    /// After the fill, keep appending until this many bytes of pages are in use.
    pub grow_to: Option<u64>,
    /// Seed of the generated snapshots.
    pub seed: u64,
    /// redb's page cache, bytes.
    pub cache_bytes: usize,
    /// How deltas are written.
    pub deltas: DeltaKind,
    /// Processes changing their CPU and memory at every step (0: the usual lab churn).
    pub always_changing: usize,
    /// After the fill, fold every snapshot into minute rows and measure them.
    pub age: bool,
}

/// The minute tier, measured by folding the whole fill.
#[derive(Debug, Clone, Serialize)]
pub struct AgingReport {
    /// Host-hours folded.
    pub host_hours: u64,
    /// Records deleted once folded.
    pub records_removed: u64,
    /// Time to fold and delete, ms.
    pub fold_ms: f64,
    /// Folding rate, snapshots per second.
    pub snapshots_per_s: f64,
    /// Bytes of a host-hour's minute row (the compressed value alone).
    pub value_bytes_per_host_hour: f64,
    /// Allocated pages after folding, per host-hour: the minute rows with their keys and page
    /// overhead, and what is left of the records (each host's last) and the other tables.
    pub disk_bytes_per_host_hour: f64,
    /// Time to read one host-day of minute rows, ms.
    pub host_day_read_ms: f64,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct StoreReport {
    /// Snapshots appended in the measured fill.
    pub appended: u64,
    /// Average JSON size of a snapshot, bytes.
    pub json_bytes_per_snapshot: f64,
    /// Durable appends per second (acked after commit).
    pub appends_per_s: f64,
    /// Appends answered busy (retried).
    pub busy_retries: u64,
    /// Growth of allocated pages per snapshot over the second half of the fill, bytes.
    pub disk_bytes_per_snapshot_steady: f64,
    /// Allocated bytes / snapshots after the fill.
    pub disk_bytes_per_snapshot_overall: f64,
    /// Bytes of keys and values (records and indexes) per snapshot, without page overhead.
    pub stored_bytes_per_snapshot: f64,
    /// Bytes lost to fragmentation inside pages, per snapshot.
    pub fragmented_bytes_per_snapshot: f64,
    /// Bytes of branch keys and other metadata, per snapshot.
    pub metadata_bytes_per_snapshot: f64,
    /// The file's size after the fill (redb grows it ahead of use).
    pub file_bytes_after_fill: u64,
    /// The minute tier, with `age`.
    pub aging: Option<AgingReport>,
    /// One history page of 100 snapshots from the middle of the host-day, ms.
    pub history_page_ms: f64,
    /// Summaries of one host-day read (what the timeline and usage read), and the time, ms.
    pub summaries: usize,
    /// See `summaries`.
    pub summaries_ms: f64,
    /// Summary hours, gathered after the reads above.
    pub hours: HoursReport,
    /// Snapshots returned by the one-host-day history read.
    pub history_snapshots: usize,
    /// Time to read them all (pages of 10,000), milliseconds.
    pub history_ms: f64,
    /// File size when reopened, bytes.
    pub reopen_file_bytes: u64,
    /// Open + migrate check + latest snapshot of every host, milliseconds.
    pub reopen_ms: f64,
}

struct Filler {
    store: Store,
    generators: Vec<SnapshotGenerator>,
    step: u64,
    busy: u64,
}

impl Filler {
    /// Appends one snapshot per host for the next `steps` steps, keeping the queue full.
    fn fill(&mut self, steps: u64) -> anyhow::Result<(u64, u64)> {
        let (tx, rx) = mpsc::channel::<Result<(), StoreError>>();
        let mut in_flight = 0usize;
        let mut appended = 0u64;
        let mut json_bytes = 0u64;
        for _ in 0..steps {
            let captured = START_MS + self.step * INTERVAL_MS;
            self.step += 1;
            for generator in &mut self.generators {
                let json = generator.next_json(captured);
                json_bytes += json.len() as u64;
                let snapshot = Arc::new(Snapshot::parse(&json)?);
                loop {
                    while in_flight >= 2048 {
                        rx.recv()??;
                        in_flight -= 1;
                    }
                    let tx = tx.clone();
                    let done = Box::new(move |r: Result<_, StoreError>| {
                        let _ = tx.send(r.map(|_| ()));
                    });
                    match self
                        .store
                        .try_append(snapshot.clone(), i64::try_from(captured)?, done)
                    {
                        Ok(()) => {
                            in_flight += 1;
                            break;
                        }
                        Err(_) => {
                            // `done` already reported busy; wait for one commit and retry.
                            match rx.recv()? {
                                Err(StoreError::Busy) => self.busy += 1,
                                other => {
                                    other?;
                                    in_flight -= 1;
                                }
                            }
                        }
                    }
                }
                appended += 1;
            }
        }
        while in_flight > 0 {
            match rx.recv()? {
                Err(StoreError::Busy) => {}
                other => {
                    other?;
                    in_flight -= 1;
                }
            }
        }
        Ok((appended, json_bytes))
    }
}

/// Runs the measurement in `dir` (which should be empty).
///
/// # Errors
/// Any store failure.
pub fn run(dir: &Path, options: &StoreBenchOptions) -> anyhow::Result<StoreReport> {
    // Summary hours are gathered once, after the fill and the reads from records, and
    // measured on their own.
    let open = OpenOptions {
        cache_bytes: options.cache_bytes,
        deltas: options.deltas,
        summary_hours: false,
        ..OpenOptions::default()
    };
    let (store, writer, _) = Store::open(dir, &open)?;
    let generators = (0..options.hosts)
        .map(|i| {
            SnapshotGenerator::new(
                format!("lab-{i:03}"),
                options.processes,
                options.seed + i as u64,
            )
            .always_changing(options.always_changing)
        })
        .collect();
    let mut filler = Filler {
        store: store.clone(),
        generators,
        step: 0,
        busy: 0,
    };
    let started = Instant::now();
    let half = options.per_host / 2;
    let (first, bytes_a) = filler.fill(half)?;
    let size_half = store.stats()?;
    let (second, bytes_b) = filler.fill(options.per_host - half)?;
    let elapsed = started.elapsed();
    let size_full = store.stats()?;
    let appended = first + second;

    let history_started = Instant::now();
    let mut history_snapshots = 0;
    let mut after = None;
    loop {
        let page = store.history(&HistoryQuery {
            host: "lab-000".to_owned(),
            from_ms: Some(i64::try_from(START_MS)?),
            to_ms: Some(i64::try_from(START_MS + HOST_DAY * INTERVAL_MS)?),
            limit: 10_000,
            after,
        })?;
        history_snapshots += page.snapshots.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let history_ms = history_started.elapsed().as_secs_f64() * 1000.0;
    let (history_page_ms, summaries_ms, summaries) = reads(&store)?;
    let hours = gather(&store, appended)?;
    let aging = if options.age {
        Some(age(&store, filler.step, appended)?)
    } else {
        None
    };

    if let Some(target) = options.grow_to {
        // Allocated pages, not the file's size: redb grows the file ahead of use in large
        // steps and trims it when reopened.
        while store.stats()?.allocated_bytes < target {
            filler.fill(200)?;
        }
    }
    let busy_retries = filler.busy;
    drop(filler);
    writer.stop();
    drop(store);

    let reopen_started = Instant::now();
    let (store, writer, _) = Store::open(dir, &OpenOptions::default())?;
    let latest = store.latest_per_host(i64::MAX)?;
    for entry in &latest {
        Snapshot::parse(&entry.snapshot.json)?;
    }
    let reopen_ms = reopen_started.elapsed().as_secs_f64() * 1000.0;
    let reopen_file_bytes = store.file_size();
    writer.stop();

    Ok(StoreReport {
        appended,
        json_bytes_per_snapshot: (bytes_a + bytes_b) as f64 / appended.max(1) as f64,
        appends_per_s: appended as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        busy_retries,
        disk_bytes_per_snapshot_steady: size_full
            .allocated_bytes
            .saturating_sub(size_half.allocated_bytes)
            as f64
            / second.max(1) as f64,
        disk_bytes_per_snapshot_overall: size_full.allocated_bytes as f64 / appended.max(1) as f64,
        stored_bytes_per_snapshot: size_full.stored_bytes as f64 / appended.max(1) as f64,
        fragmented_bytes_per_snapshot: size_full.fragmented_bytes as f64 / appended.max(1) as f64,
        metadata_bytes_per_snapshot: size_full.metadata_bytes as f64 / appended.max(1) as f64,
        file_bytes_after_fill: size_full.file_bytes,
        aging,
        history_snapshots,
        history_ms,
        history_page_ms,
        summaries,
        summaries_ms,
        hours,
        reopen_file_bytes,
        reopen_ms,
    })
}

/// Times a history page of 100 snapshots from the middle of the first host-day, and the
/// summaries of that host-day (the fastest of [`SUMMARY_READS`]).
fn reads(store: &Store) -> anyhow::Result<(f64, f64, usize)> {
    let start = i64::try_from(START_MS)?;
    let day = i64::try_from(HOST_DAY * INTERVAL_MS)?;
    let started = Instant::now();
    let page = store.history(&HistoryQuery {
        host: "lab-000".to_owned(),
        from_ms: Some(start + day / 2),
        to_ms: Some(start + day),
        limit: 100,
        after: None,
    })?;
    let page_ms = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(!page.snapshots.is_empty(), "the history page is empty");
    let (fastest_ms, summaries) = time_summaries(store)?;
    Ok((page_ms, fastest_ms, summaries))
}

/// The summaries of the first host-day of `lab-000`: the fastest of [`SUMMARY_READS`] reads,
/// ms, and how many.
fn time_summaries(store: &Store) -> anyhow::Result<(f64, usize)> {
    let start = i64::try_from(START_MS)?;
    let day = i64::try_from(HOST_DAY * INTERVAL_MS)?;
    // The fastest of a few reads: one read of ~30 ms varies by a third between runs here.
    let (mut fastest_ms, mut summaries) = (f64::INFINITY, 0);
    for _ in 0..SUMMARY_READS {
        let started = Instant::now();
        summaries = 0;
        let mut after = None;
        loop {
            let page = store.summaries(&HistoryQuery {
                host: "lab-000".to_owned(),
                from_ms: Some(start),
                to_ms: Some(start + day),
                limit: 10_000,
                after,
            })?;
            summaries += page.rows.len();
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        fastest_ms = fastest_ms.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((fastest_ms, summaries))
}

/// Summary hours gathered over the whole fill, and the host-day's summaries read through them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HoursReport {
    /// Host-hours gathered.
    pub host_hours: u64,
    /// Time to gather them all, ms (on the writer thread, as its rounds do).
    pub gather_ms: f64,
    /// Pages they added, per snapshot gathered.
    pub disk_bytes_per_snapshot: f64,
    /// The host-day's summaries read again (fastest of [`SUMMARY_READS`]), ms.
    pub summaries_ms: f64,
}

/// Gathers every settled hour of the fill into summary hours, then times the host-day's
/// summaries again.
fn gather(store: &Store, appended: u64) -> anyhow::Result<HoursReport> {
    let before = store.stats()?.allocated_bytes;
    let started = Instant::now();
    let host_hours = store.gather_summary_hours(idlewatch_protocol::time::now_ms())?;
    let gather_ms = started.elapsed().as_secs_f64() * 1000.0;
    store.flush();
    let after = store.stats()?.allocated_bytes;
    let (summaries_ms, _) = time_summaries(store)?;
    Ok(HoursReport {
        host_hours,
        gather_ms,
        disk_bytes_per_snapshot: after.saturating_sub(before) as f64 / appended.max(1) as f64,
        summaries_ms,
    })
}

/// Reads of the host-day's summaries; the fastest is reported.
const SUMMARY_READS: usize = 5;

/// Folds everything appended so far (`steps` snapshots per host, `appended` in all) into
/// minute rows, and measures them.
fn age(store: &Store, steps: u64, appended: u64) -> anyhow::Result<AgingReport> {
    let start = i64::try_from(START_MS)?;
    let end = start + i64::try_from(steps * INTERVAL_MS)?;
    let cover = i64::try_from(3 * INTERVAL_MS)?;
    let started = Instant::now();
    let aged = store.age(end + 3_600_000, cover)?;
    let fold_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (hours, bytes) = store.minute_sizes()?;
    let allocated = store.stats()?.allocated_bytes;
    let read_started = Instant::now();
    let minutes = store.minutes("lab-000", start, start + 86_400_000)?;
    let host_day_read_ms = read_started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(!minutes.is_empty(), "no minute rows were read back");
    Ok(AgingReport {
        host_hours: aged.folded_hours,
        records_removed: aged.removed,
        fold_ms,
        snapshots_per_s: appended as f64 / (fold_ms / 1000.0).max(f64::EPSILON),
        value_bytes_per_host_hour: bytes as f64 / hours.max(1) as f64,
        disk_bytes_per_host_hour: allocated as f64 / hours.max(1) as f64,
        host_day_read_ms,
    })
}

/// Human summary of a report.
#[must_use]
pub fn summary(r: &StoreReport, options: &StoreBenchOptions) -> String {
    let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
    format!(
        "store: {} hosts x {} snapshots, {} processes each ({} changing every step; {:.0} B of JSON per snapshot), {:?} deltas\n\
         \x20 durable appends  {:.0}/s (acked after commit; {} busy retries)\n\
         \x20 disk per snapshot {:.0} B at steady state, {:.0} B overall ({:.0} B of keys and values; file {:.1} MiB)\n\
         \x20 history          {} snapshots of one host-day read in {:.1} ms; a page of 100 in {:.2} ms; {} summaries of the host-day in {:.1} ms (fastest of 5)\n\
         \x20 summary hours    {} host-hours gathered in {:.0} ms ({:.1} B of pages per snapshot); the host-day's summaries then read in {:.2} ms (fastest of 5)\n\
         \x20 reopen           {:.1} ms for a {:.1} MiB store ({} hosts restored){}",
        options.hosts,
        options.per_host,
        options.processes,
        options.always_changing,
        r.json_bytes_per_snapshot,
        options.deltas,
        r.appends_per_s,
        r.busy_retries,
        r.disk_bytes_per_snapshot_steady,
        r.disk_bytes_per_snapshot_overall,
        r.stored_bytes_per_snapshot,
        mib(r.file_bytes_after_fill),
        r.history_snapshots,
        r.history_ms,
        r.history_page_ms,
        r.summaries,
        r.summaries_ms,
        r.hours.host_hours,
        r.hours.gather_ms,
        r.hours.disk_bytes_per_snapshot,
        r.hours.summaries_ms,
        r.reopen_ms,
        mib(r.reopen_file_bytes),
        options.hosts,
        r.aging.as_ref().map_or_else(String::new, |a| format!(
            "\n  minutes          {} host-hours folded in {:.0} ms ({:.0} snapshots/s, {} records deleted); \
             {:.0} B per host-hour of minute row, {:.0} B of pages per host-hour after; \
             one host-day of minutes read in {:.2} ms",
            a.host_hours,
            a.fold_ms,
            a.snapshots_per_s,
            a.records_removed,
            a.value_bytes_per_host_hour,
            a.disk_bytes_per_host_hour,
            a.host_day_read_ms
        )),
    )
}
