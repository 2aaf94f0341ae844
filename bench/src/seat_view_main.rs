//! `idlewatch-seat-view-bench`: what the free-seat view costs the server, measured on the seat
//! board itself (no sockets): one round of the seats task — every PC's seat, and the changes
//! since the last round — over `--hosts` PCs in `--labs` labs, when no PC sent anything new
//! and when every PC sent a new snapshot since; and one answer of `GET /api/v1/seats` (the view
//! built from the round and written as JSON), for every lab and for one (a token scoped to a
//! lab, or `?group=`). The baseline beside them: reading every PC's live state once
//! (`HostRegistry::views`, what `GET /api/v1/hosts` and every other whole-fleet answer start
//! from). The PCs hold generated 300-process snapshots, as the ingest bench sends.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use idlewatch_bench::snapshot_gen::SnapshotGenerator;
use idlewatch_protocol::Snapshot;
use idlewatch_server::config::SeatsConfig;
use idlewatch_server::directory::Listing;
use idlewatch_server::groups::HostGroups;
use idlewatch_server::registry::HostRegistry;
use idlewatch_server::seats::SeatBoard;

/// Times the seat view's rounds and answers on generated PCs.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// PCs, each with a connected agent and a latest snapshot.
    #[arg(long, default_value_t = 10_000)]
    hosts: usize,
    /// Labs they are spread over.
    #[arg(long, default_value_t = 200)]
    labs: usize,
    /// Rounds measured of each kind.
    #[arg(long, default_value_t = 20)]
    rounds: u32,
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// Every PC's next snapshot, recorded as the registry records an arriving one.
fn report(registry: &HostRegistry, generators: &mut [SnapshotGenerator], at: SystemTime) {
    for generator in generators.iter_mut() {
        let text = generator.next_json(epoch_ms(at));
        let snapshot = Snapshot::parse(&text).expect("a generated snapshot");
        registry.record(&snapshot, at);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.hosts == 0 || cli.labs == 0 || cli.rounds == 0 {
        eprintln!("--hosts, --labs and --rounds must be at least 1");
        return ExitCode::FAILURE;
    }
    let registry = Arc::new(HostRegistry::new(Duration::from_secs(600)));
    let mut labs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut generators: Vec<SnapshotGenerator> = (0..cli.hosts)
        .map(|h| {
            let name = idlewatch_bench::peers::host_name(h);
            labs.entry(format!("Lab {:03}", h % cli.labs))
                .or_default()
                .push(name.clone());
            SnapshotGenerator::new(name, 300, h as u64)
        })
        .collect();
    let now = SystemTime::now();
    for generator in &generators {
        registry.agent_connected(generator.host(), now);
    }
    report(&registry, &mut generators, now);
    let groups = HostGroups::new(labs, registry.clone());
    let board = SeatBoard::new(&SeatsConfig::default());
    let listed = Listing::new();

    let started = Instant::now();
    for _ in 0..cli.rounds {
        black_box(registry.views(SystemTime::now()));
    }
    let views_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(cli.rounds);

    let started = Instant::now();
    let seats = board.refresh(&registry, &groups, &listed);
    let first = board.changes(&seats).len();
    let first_ms = started.elapsed().as_secs_f64() * 1e3;

    let started = Instant::now();
    let mut unchanged = 0;
    for _ in 0..cli.rounds {
        let seats = board.refresh(&registry, &groups, &listed);
        unchanged += black_box(board.changes(&seats)).len();
    }
    let steady_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(cli.rounds);

    let mut fresh_total = 0.0;
    let mut changed = 0;
    for r in 1..=cli.rounds {
        report(
            &registry,
            &mut generators,
            now + Duration::from_secs(5 * u64::from(r)),
        );
        let started = Instant::now();
        let seats = board.refresh(&registry, &groups, &listed);
        changed += black_box(board.changes(&seats)).len();
        fresh_total += started.elapsed().as_secs_f64();
    }
    let fresh_ms = fresh_total * 1e3 / f64::from(cli.rounds);

    let seats = board.refresh(&registry, &groups, &listed);
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..cli.rounds {
        let view = board.view(&seats, None);
        bytes = serde_json::to_vec(&view).expect("JSON").len();
    }
    let answer_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(cli.rounds);
    let one = vec!["lab 000".to_owned()];
    let started = Instant::now();
    let mut one_bytes = 0;
    for _ in 0..cli.rounds {
        let view = board.view(&seats, Some(&one));
        one_bytes = serde_json::to_vec(&view).expect("JSON").len();
    }
    let one_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(cli.rounds);

    println!(
        "seat view, {} PCs in {} labs: a round {steady_ms:.1} ms when nothing new arrived ({unchanged} \
         changes), {fresh_ms:.1} ms after every PC sent a snapshot ({:.0} changed PCs per round; \
         the first round {first_ms:.1} ms, {first} PCs); GET /api/v1/seats {answer_ms:.1} ms for \
         {bytes} bytes of JSON, of one lab {one_ms:.2} ms for {one_bytes} bytes; baseline: every \
         PC's live state read once {views_ms:.1} ms",
        cli.hosts,
        cli.labs,
        changed as f64 / f64::from(cli.rounds),
    );
    ExitCode::SUCCESS
}
