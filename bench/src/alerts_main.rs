//! `idlewatch-alerts-bench`: what evaluating alert rules costs the server, measured on the
//! evaluator itself (no sockets, no store): per accepted snapshot, with the rules of a
//! configuration file (default `bench/configs/alerts-20.toml`) against generated snapshots of
//! `--hosts` hosts; and per timer pass over `--tick-hosts` hosts. Printed beside the parse of the
//! same snapshots, the work every accepted snapshot costs anyway.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use idlewatch_bench::snapshot_gen::SnapshotGenerator;
use idlewatch_protocol::{Snapshot, SnapshotFields};
use idlewatch_server::alerts::evaluate::{Evaluator, HostState};
use idlewatch_server::config::Config;
use idlewatch_server::groups::HostGroups;
use idlewatch_server::registry::HostRegistry;

/// Times the alert evaluator on generated snapshots.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The server configuration with the `[[alerts]]` rules (and `[report.groups]`).
    #[arg(long, default_value = "bench/configs/alerts-20.toml")]
    config: PathBuf,
    /// Hosts whose snapshots are evaluated in turn (named as the ingest bench names them).
    #[arg(long, default_value_t = 50)]
    hosts: usize,
    /// Snapshots generated per host (evaluated round-robin, repeatedly).
    #[arg(long, default_value_t = 20)]
    per_host: usize,
    /// Snapshot evaluations measured.
    #[arg(long, default_value_t = 2_000_000)]
    evaluations: usize,
    /// Hosts of the timer pass.
    #[arg(long, default_value_t = 10_000)]
    tick_hosts: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let text = match std::fs::read_to_string(&cli.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", cli.config.display());
            return ExitCode::FAILURE;
        }
    };
    let config = match Config::from_toml(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", cli.config.display());
            return ExitCode::FAILURE;
        }
    };
    let rules = config.report.rules();
    let mut evaluator = Evaluator::new(config.alerts.clone(), rules.open, rules.time_zone);
    let registry = std::sync::Arc::new(HostRegistry::new(std::time::Duration::from_secs(600)));
    let groups = HostGroups::new(config.report.groups.clone(), registry);

    // The snapshots, parsed once as the server parses each on arrival.
    let started = Instant::now();
    let mut texts = Vec::new();
    for h in 0..cli.hosts {
        let mut generator =
            SnapshotGenerator::new(idlewatch_bench::peers::host_name(h), 300, h as u64);
        for k in 0..cli.per_host {
            texts.push(generator.next_json(1_800_000_000_000 + k as u64 * 5000));
        }
    }
    let parse_started = Instant::now();
    let parsed: Vec<SnapshotFields> = texts
        .iter()
        .map(|t| {
            Snapshot::parse(t)
                .expect("a generated snapshot")
                .fields()
                .clone()
        })
        .collect();
    let parse_us = parse_started.elapsed().as_secs_f64() * 1e6 / texts.len() as f64;
    let names: Vec<String> = parsed.iter().map(|f| f.host.clone()).collect();
    let group_of: Vec<Option<String>> = names.iter().map(|n| groups.of(n)).collect();
    eprintln!(
        "{} snapshots of {} hosts generated in {:.1?}; {} rules",
        parsed.len(),
        cli.hosts,
        started.elapsed(),
        evaluator.rules().len()
    );

    let mut changes = 0usize;
    let started = Instant::now();
    for n in 0..cli.evaluations {
        let i = n % parsed.len();
        let now = 1_800_000_000_000 + n as i64;
        let h = HostState {
            host: &names[i],
            group: group_of[i].as_deref(),
            fields: Some(&parsed[i]),
            online: true,
            last_seen_ms: now,
            reconnecting: false,
        };
        changes += black_box(evaluator.on_snapshot(&h, now)).len();
    }
    let per_snapshot_ns = started.elapsed().as_secs_f64() * 1e9 / cli.evaluations as f64;

    let tick_names: Vec<String> = (0..cli.tick_hosts)
        .map(idlewatch_bench::peers::host_name)
        .collect();
    let tick_groups: Vec<Option<String>> = tick_names.iter().map(|n| groups.of(n)).collect();
    let hosts: Vec<HostState<'_>> = tick_names
        .iter()
        .zip(&tick_groups)
        .enumerate()
        .map(|(i, (name, group))| HostState {
            host: name,
            group: group.as_deref(),
            fields: Some(&parsed[i % parsed.len()]),
            online: true,
            last_seen_ms: 1_800_000_000_000,
            reconnecting: false,
        })
        .collect();
    let passes = 20;
    let started = Instant::now();
    for p in 0..passes {
        changes += black_box(evaluator.on_tick(&hosts, 1_800_000_100_000 + p)).len();
    }
    let per_tick_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(passes as u32);

    println!(
        "alert evaluation, {} rules: {per_snapshot_ns:.0} ns per accepted snapshot \
         (parsing the same 300-process snapshot: {parse_us:.0} µs); \
         a timer pass over {} hosts: {per_tick_ms:.1} ms ({changes} changes)",
        evaluator.rules().len(),
        cli.tick_hosts
    );
    ExitCode::SUCCESS
}
