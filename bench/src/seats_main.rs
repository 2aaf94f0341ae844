//! `idlewatch-seats-bench`: what the licence views cost. Two parts, because they scale apart:
//!
//! - **computing** the peaks, the hour-of-week grid and the reclaim simulation from PCs' spans
//!   (`idlewatch_licences::seats`), on generated lab days: `--hosts` PCs × `--days` days, each
//!   weekday a morning in use, a lunch hour idle, an afternoon in use, an evening left open;
//! - **reading** the stored summaries into spans (`GET /api/v1/licences` reads them so), on a
//!   real store filled by `idlewatch-store-bench --dir DIR` (`--dir`): summaries per second.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use idlewatch_licences::seats::{Span, seats, simulate};
use idlewatch_protocol::WatchedState;
use idlewatch_server::report::hours::OpenHours;
use idlewatch_server::report::seats::spans_by_app;
use idlewatch_server::report::usage::Rules;
use idlewatch_store::{OpenOptions, Store};
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
fn lab_pc(days: i64, rng: &mut Xoshiro256PlusPlus) -> Vec<Span> {
    use WatchedState::{Idle, Interactive, NotRunning};
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
        let mut push = |a: i64, b: i64, state| {
            if a < b {
                spans.push(Span {
                    start_ms: a,
                    end_ms: b,
                    state,
                });
            }
        };
        push(start, lunch, Interactive);
        push(lunch, back, Idle);
        push(back, leave, Interactive);
        if rng.random_range(0..3) == 0 {
            push(leave, day + 18 * H, Idle);
        } else {
            push(leave, leave + 60_000, NotRunning);
        }
    }
    spans
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let hosts: Vec<Vec<Span>> = (0..cli.hosts).map(|_| lab_pc(cli.days, &mut rng)).collect();
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
    let Some(dir) = cli.dir else {
        return ExitCode::SUCCESS;
    };
    let read = || -> anyhow::Result<()> {
        let (store, writer, _) = Store::open(&dir, &OpenOptions::default())?;
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
