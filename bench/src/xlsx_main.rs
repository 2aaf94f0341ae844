//! `idlewatch-xlsx-bench`: time and peak memory of the XLSX report over a whole store (fill one
//! with `idlewatch-store-bench --dir DIR` first), as `GET /export.xlsx` writes it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use idlewatch_server::report::hours::OpenHours;
use idlewatch_server::report::usage::Rules;
use idlewatch_server::report::xlsx::{ExportRequest, write_report};
use idlewatch_store::{OpenOptions, Store};

/// Writes the XLSX report of every snapshot in a store and reports time and peak RSS.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The store's data dir.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Where to write the workbook.
    #[arg(long, value_name = "FILE", default_value = "report.xlsx")]
    out: PathBuf,
    /// redb's page cache, MiB (the server's `limits.store_cache_mib`).
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    cache_mib: usize,
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let run = || -> anyhow::Result<()> {
        let options = OpenOptions {
            cache_bytes: cli.cache_mib << 20,
            ..OpenOptions::default()
        };
        let (store, writer, _) = Store::open(&cli.dir, &options)?;
        let store = idlewatch_server::stores::Stores::from(store);
        let hosts = store.host_names()?;
        let rss_before = peak_rss_mib();
        let started = Instant::now();
        let file = std::fs::File::create(&cli.out)?;
        let request = ExportRequest::new(hosts, i64::MIN / 2, 4_102_444_800_000); // to 2100-01-01
        let rules = Rules {
            interval_ms: 5_000,
            time_zone: jiff::tz::TimeZone::UTC,
            open: OpenHours::always(),
        };
        // Utilization over a range from the distant past would count every day since then:
        // bound it by the data instead.
        let request = bound_to_data(store.local(), request)?;
        let counts = write_report(&store, &request, &rules, std::io::BufWriter::new(file))?;
        let secs = started.elapsed().as_secs_f64();
        writer.stop();
        let size = std::fs::metadata(&cli.out)?.len();
        eprintln!(
            "xlsx: {} snapshot rows, {} utilization rows in {secs:.1} s ({:.0} rows/s); \
             peak RSS {:.1} MiB (store open: {rss_before:.1} MiB); file {:.1} MiB",
            counts.snapshots,
            counts.days,
            counts.snapshots as f64 / secs,
            peak_rss_mib(),
            size as f64 / f64::from(1u32 << 20),
        );
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idlewatch-xlsx-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn bound_to_data(store: &Store, mut request: ExportRequest) -> anyhow::Result<ExportRequest> {
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for host in &request.hosts {
        let page = store.history(&idlewatch_store::HistoryQuery {
            host: host.clone(),
            from_ms: None,
            to_ms: None,
            limit: 1,
            after: None,
        })?;
        if let Some(s) = page.snapshots.first() {
            first = first.min(s.captured_ms);
        }
    }
    // Every host's latest snapshot, read once.
    for latest in store.latest_per_host(i64::MAX)? {
        if request.hosts.contains(&latest.host) {
            last = last.max(latest.snapshot.captured_ms);
        }
    }
    if first <= last {
        request.from_ms = first;
        request.to_ms = last + 1;
    }
    Ok(request)
}
