//! `idlewatch-year-bench`: measures the minute and day tiers of a generated year (see
//! `year_bench`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use idlewatch_bench::cli::{finish, work_dir};
use idlewatch_bench::year_bench::{self, YearBenchOptions};

/// Bytes of the minute and day tiers of a year of a lab, and the time to read a year of its
/// utilization from them.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Directory for the store (a temporary one when not given; it must be empty).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// PCs.
    #[arg(long, default_value_t = 100)]
    hosts: u32,
    /// Days.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Seed of the model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Reads of each kind; the fastest is reported.
    #[arg(long, default_value_t = 3)]
    repeats: u32,
    /// Print the report as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (dir, _temp) = match work_dir(cli.dir.clone()) {
        Ok(dir) => dir,
        Err(e) => return finish::<()>("idlewatch-year-bench", false, Err(e), |_| String::new()),
    };
    let options = YearBenchOptions {
        hosts: cli.hosts,
        days: cli.days,
        seed: cli.seed,
        repeats: cli.repeats,
    };
    let result = year_bench::run(&dir, &options);
    finish("idlewatch-year-bench", cli.json, result, |report| {
        year_bench::summary(report, &options)
    })
}
