//! `idlewatch-record-bench`: the record codec alone, zstd and structural deltas side by side
//! (see `record_bench`).

use std::process::ExitCode;

use clap::Parser;
use idlewatch_bench::record_bench::{self, RecordBenchOptions};

/// Bytes per stored snapshot and encode/decode time, zstd against structural deltas.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Simulated hosts.
    #[arg(long, default_value_t = 8)]
    hosts: usize,
    /// Snapshots per host.
    #[arg(long, default_value_t = 1024)]
    per_host: u64,
    /// Processes per snapshot.
    #[arg(long, default_value_t = 300)]
    processes: usize,
    /// Processes changing their CPU and memory at every step (0: the usual lab churn).
    #[arg(long, default_value_t = 0)]
    always_changing: usize,
    /// Seed of the generated snapshots.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the report as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = RecordBenchOptions {
        hosts: cli.hosts,
        per_host: cli.per_host,
        processes: cli.processes,
        always_changing: cli.always_changing,
        seed: cli.seed,
    };
    match record_bench::run(&options) {
        Ok(report) => {
            eprintln!("{}", record_bench::summary(&report, &options));
            if cli.json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("idlewatch-record-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
