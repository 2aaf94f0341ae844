//! `idlewatch-lmstat-bench`: the lmstat parser's throughput on generated output the size of a
//! large licence server's (`--features` pools of `--checkouts` each), beside reading the same
//! text's lines alone (the floor any parser pays).

use std::fmt::Write;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use idlewatch_licences::lmstat;

/// Parses generated `lmstat -a` output repeatedly and reports MB/s and lines/s.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Features (pools) in the output.
    #[arg(long, default_value_t = 200)]
    features: usize,
    /// Checkouts per feature.
    #[arg(long, default_value_t = 50)]
    checkouts: usize,
    /// How long to measure each, seconds.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
}

/// Output as FlexNet prints it: a header, then per feature its counts, detail lines,
/// checkouts (some with several licences or a linger), a queued request and a reservation.
fn generate(features: usize, checkouts: usize) -> String {
    let mut text = String::from(
        "lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.\n\
         Flexible License Manager status on Wed 12/2/2026 10:15\n\n\
         License server status: 1055@lic1\n    lic1: license server UP (MASTER) v11.19.0\n\n\
         Vendor daemon status (on lic1):\n\n  ansyslmd: UP v11.19.0\n\nFeature usage info:\n\n",
    );
    for f in 0..features {
        let _ = write!(
            text,
            "Users of feature_{f}:  (Total of {} licenses issued;  Total of {checkouts} licenses in use)\n\n  \
             \"feature_{f}\" v2024.0630, vendor: ansyslmd, expiry: 31-dec-2026\n  \
             vendor_string: customer:1234\n  floating license\n\n",
            checkouts * 2
        );
        for c in 0..checkouts {
            let extra = match c % 10 {
                0 => ", 2 licenses",
                1 => " (linger: 1800 / 120)",
                _ => "",
            };
            let _ = writeln!(
                text,
                "    user{c} LAB-PC{c:03}.college.example LAB-PC{c:03} (v2024.0630) (lic1/1055 {}), start Mon 11/30 {}:{:02}{extra}",
                f * 1000 + c,
                c % 24,
                c % 60
            );
        }
        let _ = writeln!(
            text,
            "    waiting LAB-PC999 LAB-PC999 (v2024.0630) (lic1/1055 9) queued for 1 license\n\n  \
             1 RESERVATION for HOST LAB-PC001 (lic1/1055)\n"
        );
    }
    text
}

/// Runs `f` repeatedly for `seconds`; the rate in runs per second.
fn rate(seconds: f64, mut f: impl FnMut()) -> f64 {
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut runs = 0u32;
    while started.elapsed() < budget {
        f();
        runs += 1;
    }
    f64::from(runs) / started.elapsed().as_secs_f64()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let text = generate(cli.features, cli.checkouts);
    let status = lmstat::parse(&text);
    let parsed: usize = status.pools.iter().map(|p| p.checkouts.len()).sum();
    if status.pools.len() != cli.features || parsed != cli.features * cli.checkouts {
        eprintln!(
            "idlewatch-lmstat-bench: parsed {} pools and {parsed} checkouts, expected {} and {}",
            status.pools.len(),
            cli.features,
            cli.features * cli.checkouts
        );
        return ExitCode::FAILURE;
    }
    #[allow(clippy::cast_precision_loss)] // sizes far below 2^52
    let (mb, lines) = (text.len() as f64 / 1e6, text.lines().count() as f64);
    let parse = rate(cli.seconds, || {
        black_box(lmstat::parse(black_box(&text)));
    });
    let split = rate(cli.seconds, || {
        black_box(
            black_box(&text)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .count(),
        );
    });
    println!(
        "lmstat: {} features × {} checkouts, {mb:.2} MB, {lines:.0} lines\n  \
         parse       {:8.1} MB/s  {:10.0} lines/s  ({:.2} ms per output)\n  \
         lines alone {:8.1} MB/s  {:10.0} lines/s  ({:.2} ms per output)",
        cli.features,
        cli.checkouts,
        parse * mb,
        parse * lines,
        1000.0 / parse,
        split * mb,
        split * lines,
        1000.0 / split
    );
    ExitCode::SUCCESS
}
