//! `idlewatch-store-bench`: measures the durable store on its own (see `store_bench`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use idlewatch_bench::cli::{finish, work_dir};
use idlewatch_bench::store_bench::{self, StoreBenchOptions};
use idlewatch_store::DeltaKind;

/// Durable append rate, bytes per snapshot, history read time and reopen time of the store.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Directory for the store (a temporary one when not given; it must be empty).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Simulated hosts.
    #[arg(long, default_value_t = 4)]
    hosts: usize,
    /// Snapshots per host (17280 = one day at a 5 s interval).
    #[arg(long, default_value_t = store_bench::HOST_DAY)]
    per_host: u64,
    /// Processes per snapshot.
    #[arg(long, default_value_t = 300)]
    processes: usize,
    /// Then keep appending until the store uses this many MiB of pages, before measuring the
    /// reopen.
    #[arg(long, value_name = "MIB")]
    grow_to_mib: Option<u64>,
    /// Seed of the generated snapshots.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// redb's page cache, MiB (the server's `limits.store_cache_mib`).
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    cache_mib: usize,
    /// How deltas are written: `zstd` (what the store writes) or `structural`.
    #[arg(long, value_name = "KIND", default_value = "zstd", value_parser = ["zstd", "structural"])]
    deltas: String,
    /// Processes changing their CPU and memory at every step (0: the usual lab churn).
    #[arg(long, default_value_t = 0)]
    always_changing: usize,
    /// After the fill, fold every snapshot into minute rows and measure the minute tier
    /// (`[retention] snapshots`).
    #[arg(long)]
    age: bool,
    /// Print the report as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (dir, _temp) = match work_dir(cli.dir.clone()) {
        Ok(dir) => dir,
        Err(e) => return finish::<()>("idlewatch-store-bench", false, Err(e), |_| String::new()),
    };
    let options = StoreBenchOptions {
        hosts: cli.hosts,
        per_host: cli.per_host,
        processes: cli.processes,
        grow_to: cli.grow_to_mib.map(|m| m << 20),
        seed: cli.seed,
        cache_bytes: cli.cache_mib << 20,
        deltas: if cli.deltas == "structural" {
            DeltaKind::Structural
        } else {
            DeltaKind::Zstd
        },
        always_changing: cli.always_changing,
        age: cli.age,
    };
    let result = store_bench::run(&dir, &options);
    finish("idlewatch-store-bench", cli.json, result, |report| {
        store_bench::summary(report, &options)
    })
}
