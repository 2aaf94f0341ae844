//! `idlewatch-seats-bench`: what the licence views cost. Two parts, because they scale apart:
//!
//! - **computing** the peaks, the hour-of-week grid and the reclaim simulation from PCs' spans
//!   (`idlewatch_licences::seats`), on generated lab days: `--hosts` PCs × `--days` days, each
//!   weekday a morning in use, a lunch hour idle, an afternoon in use, an evening left open
//!   (`--changes-per-hour N`: the time in use split into interactive and computing in turns);
//! - **reading** the spans back from host-day rollups (what `GET /api/v1/licences` reads for
//!   settled days) in a store on disk, and the stored summaries into spans (what it reads for
//!   the rest), on a real store filled by `idlewatch-store-bench --dir DIR` (`--dir`):
//!   summaries per second.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use idlewatch_licences::seats::{seats, simulate};
use idlewatch_protocol::StateSpan;
use idlewatch_protocol::WatchedState;
use idlewatch_server::report::hours::OpenHours;
use idlewatch_server::report::seats::spans_by_app;
use idlewatch_server::report::usage::Rules;
use idlewatch_store::{HostDay, OpenOptions, Store};
use jiff::tz::TimeZone;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Times the licence views' computation on generated spans, and their reading on a store.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// PCs of the generated lab.
    #[arg(long, default_value_t = 100)]
    hosts: usize,
    /// Days of the generated lab.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Split each stretch in use into interactive and computing spans this many times an hour
    /// (0: one span per stretch), for PCs whose state changes often.
    #[arg(long, default_value_t = 0)]
    changes_per_hour: i64,
    /// Also read every summary of the store in DIR (filled by idlewatch-store-bench) into spans.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

const H: i64 = 3_600_000;
const DAY: i64 = 24 * H;
/// 2025-09-01 00:00 UTC, a Monday: the start of an academic year.
const START: i64 = 1_756_684_800_000;

/// One PC's year: on weekdays, used 09:00–12:00 (±30 min), idle over lunch, used 13:00–16:30,
/// then left open and idle until 18:00 one day in three; nothing at weekends.
fn lab_pc(days: i64, changes_per_hour: i64, rng: &mut Xoshiro256PlusPlus) -> Vec<StateSpan> {
    use WatchedState::{Computing, Idle, Interactive, NotRunning};
    let mut spans = Vec::new();
    for d in 0..days {
        if d % 7 >= 5 {
            continue;
        }
        let day = START + d * DAY;
        let jitter = |rng: &mut Xoshiro256PlusPlus| rng.random_range(-30i64..=30) * 60_000;
        let start = day + 9 * H + jitter(rng);
        let lunch = day + 12 * H + jitter(rng);
        let back = day + 13 * H + jitter(rng);
        let leave = day + 16 * H + 30 * 60_000 + jitter(rng);
        // In use from `a` to `b`: interactive, or interactive and computing in turns.
        let step = |a: i64, b: i64| {
            if changes_per_hour > 0 {
                H / changes_per_hour
            } else {
                b - a
            }
        };
        let mut plan = Vec::new();
        for (a, b) in [(start, lunch), (back, leave)] {
            let mut at = a;
            while at < b {
                let end = (at + step(a, b).max(1)).min(b);
                let computing = plan.len() % 2 == 1 && changes_per_hour > 0;
                plan.push((at, end, if computing { Computing } else { Interactive }));
                at = end;
            }
            if a == start {
                plan.push((lunch, back, Idle));
            }
        }
        if rng.random_range(0..3) == 0 {
            plan.push((leave, day + 18 * H, Idle));
        } else {
            plan.push((leave, leave + 60_000, NotRunning));
        }
        spans.extend(plan.into_iter().filter(|(a, b, _)| a < b).map(
            |(start_ms, end_ms, state)| StateSpan {
                start_ms,
                end_ms,
                state,
            },
        ));
    }
    spans
}

/// The same PCs stored as host-day rollups (one row per PC per day, as the server builds them
/// once a day has settled) in a store on disk, then read back into spans and counted: what
/// `GET /api/v1/licences` costs over the year.
fn from_rollups(hosts: &[Vec<StateSpan>], days: i64, tz: &TimeZone) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (store, writer, _) = Store::open(dir.path(), &OpenOptions::default())?;
    let store = idlewatch_server::stores::Stores::from(store);
    let cover_ms = 15_000;
    let names: Vec<String> = (0..hosts.len()).map(|i| format!("lab-pc{i:03}")).collect();
    let mut bytes = 0usize;
    for (name, spans) in names.iter().zip(hosts) {
        let rows = (0..days)
            .map(|d| {
                let day_ms = START + d * DAY;
                let apps = vec![(
                    "Ansys".to_owned(),
                    spans
                        .iter()
                        .filter(|s| s.start_ms >= day_ms && s.start_ms < day_ms + DAY)
                        .copied()
                        .collect(),
                )];
                let encoded = HostDay { cover_ms, apps }
                    .encode(day_ms)
                    .map_err(anyhow::Error::msg)?;
                bytes += encoded.len();
                Ok((day_ms, encoded))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.local().put_host_days(name, 0, &rows)?;
    }
    let rules = Rules {
        interval_ms: cover_ms / 3,
        time_zone: tz.clone(),
        open: OpenHours::always(),
    };
    let (from, to) = (START, START + days * DAY);
    let started = Instant::now();
    let apps = spans_by_app(&store, &names, from, to, &rules)?;
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    let ansys = apps
        .get("ansys")
        .ok_or_else(|| anyhow::anyhow!("no spans read back"))?;
    let s = seats(&ansys.hosts, from, to, tz);
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    writer.stop();
    println!(
        "from host-day rollups, {} PCs x {days} days ({} rows, {} KiB): read into spans {read_ms:.0} ms, \
         with peaks, hours and the week grid {total_ms:.0} ms (peak in use {})",
        hosts.len(),
        hosts.len() as i64 * days,
        bytes / 1024,
        s.peak_in_use.seats
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let hosts: Vec<Vec<StateSpan>> = (0..cli.hosts)
        .map(|_| lab_pc(cli.days, cli.changes_per_hour, &mut rng))
        .collect();
    let spans: usize = hosts.iter().map(Vec::len).sum();
    let (from, to) = (START, START + cli.days * DAY);
    let tz = TimeZone::get("Europe/Lisbon").unwrap_or(TimeZone::UTC);
    let started = Instant::now();
    let s = seats(&hosts, from, to, &tz);
    let seats_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let weeks = simulate(&hosts, 30 * 60_000, from, to, &tz);
    let simulate_ms = started.elapsed().as_secs_f64() * 1e3;
    println!(
        "computing, {} PCs x {} days ({spans} spans): peaks, hours and the week grid {seats_ms:.1} ms \
         (peak running {}, in use {}); reclaim simulation ({} weeks) {simulate_ms:.1} ms",
        cli.hosts,
        cli.days,
        s.peak_running.seats,
        s.peak_in_use.seats,
        weeks.len()
    );
    if let Err(e) = from_rollups(&hosts, cli.days, &tz) {
        eprintln!("idlewatch-seats-bench: error: {e:#}");
        return ExitCode::FAILURE;
    }
    let Some(dir) = cli.dir else {
        return ExitCode::SUCCESS;
    };
    let read = || -> anyhow::Result<()> {
        let (store, writer, _) = Store::open(&dir, &OpenOptions::default())?;
        let store = idlewatch_server::stores::Stores::from(store);
        let names = store.host_names()?;
        let n = store.snapshot_count()?;
        let rules = Rules {
            interval_ms: 5_000,
            time_zone: TimeZone::UTC,
            open: OpenHours::always(),
        };
        let started = Instant::now();
        let apps = spans_by_app(&store, &names, i64::MIN / 2, 4_102_444_800_000, &rules)?;
        let secs = started.elapsed().as_secs_f64();
        writer.stop();
        println!(
            "reading {n} stored summaries of {} hosts into spans: {secs:.2} s ({:.0} summaries/s; \
             {} apps); a year of 100 PCs at 5 s (631 M summaries) would take {:.0} s",
            names.len(),
            n as f64 / secs,
            apps.len(),
            631_000_000.0 / (n as f64 / secs)
        );
        Ok(())
    };
    match read() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idlewatch-seats-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
