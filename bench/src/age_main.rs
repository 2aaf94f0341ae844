//! `idlewatch-age-bench`: aging on the redb and PostgreSQL stores side by side (see
//! `age_bench`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use idlewatch_bench::age_bench::{self, AgeBenchOptions};
use idlewatch_bench::cli::{finish, work_dir};

/// Folding snapshots into minute and day rows on both stores: time, rate and bytes.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The PostgreSQL database to use (an empty one; bench/pg-age.sh starts one).
    #[arg(long, value_name = "URL")]
    postgres: String,
    /// Directory for the redb store (a temporary one when not given; it must be empty).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Simulated hosts.
    #[arg(long, default_value_t = 10)]
    hosts: usize,
    /// Hours of snapshots per host (at least 25 folds a day whole).
    #[arg(long, default_value_t = 26)]
    hours: i64,
    /// Processes per snapshot.
    #[arg(long, default_value_t = 300)]
    processes: usize,
    /// Seed of the generated snapshots.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the report as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (dir, _temp) = match work_dir(cli.dir.clone()) {
        Ok(dir) => dir,
        Err(e) => return finish::<()>("idlewatch-age-bench", false, Err(e), |_| String::new()),
    };
    let options = AgeBenchOptions {
        hosts: cli.hosts,
        hours: cli.hours,
        processes: cli.processes,
        seed: cli.seed,
        postgres_url: cli.postgres,
    };
    let result = age_bench::run(&dir, &options);
    finish("idlewatch-age-bench", cli.json, result, |report| {
        age_bench::summary(report, &options)
    })
}
