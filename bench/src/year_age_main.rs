//! `idlewatch-year-age-bench`: a generated year appended and aged a day at a time on a redb
//! store (see `year_age`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use idlewatch_bench::cli::{finish, work_dir};
use idlewatch_bench::year_age::{self, YearAgeOptions};
use idlewatch_store::DeltaKind;

/// A year of snapshots through the default tiers: the file's size along the way and at the end.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Directory for the store (a temporary one when not given; it must be empty).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Simulated PCs.
    #[arg(long, default_value_t = 1)]
    hosts: usize,
    /// Days of snapshots.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Days snapshots are kept whole (`[retention] snapshots`).
    #[arg(long, default_value_t = 14)]
    keep_days: i64,
    /// Processes per snapshot.
    #[arg(long, default_value_t = 300)]
    processes: usize,
    /// Seed of the generated snapshots.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How deltas are written: `structural` (the server's default) or `zstd`.
    #[arg(long, default_value = "structural", value_parser = ["structural", "zstd"])]
    deltas: String,
    /// Print the store every this many days.
    #[arg(long, default_value_t = 30)]
    sample_every: i64,
    /// Print the report as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (dir, _temp) = match work_dir(cli.dir.clone()) {
        Ok(dir) => dir,
        Err(e) => {
            return finish::<()>("idlewatch-year-age-bench", false, Err(e), |_| String::new());
        }
    };
    let options = YearAgeOptions {
        hosts: cli.hosts,
        days: cli.days,
        keep_days: cli.keep_days,
        processes: cli.processes,
        seed: cli.seed,
        deltas: if cli.deltas == "zstd" {
            DeltaKind::Zstd
        } else {
            DeltaKind::Structural
        },
        sample_every: cli.sample_every.max(1),
    };
    let json = cli.json;
    let result = year_age::run(&dir, &options, |sample| {
        if !json {
            eprintln!("{}", year_age::sample_line(sample));
        }
    });
    finish("idlewatch-year-age-bench", json, result, |report| {
        year_age::summary(report, &options)
    })
}
