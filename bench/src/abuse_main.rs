//! `idlewatch-abuse-bench`: what one hostile agent, viewer or anonymous client can make an
//! `idlewatch-server` spend, measured against a spawned server with its default limits
//! ([`idlewatch_bench::abuse`]). Give `--server` twice to run the same scenarios against two
//! builds (the current one and an older one) and print them side by side.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use idlewatch_bench::abuse::{self, Figures, Target};

/// Hostile-client measurements against idlewatch-server builds with their default limits.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// An idlewatch-server binary to measure (repeat to compare builds, side by side).
    #[arg(long = "server", value_name = "PATH", required = true)]
    servers: Vec<PathBuf>,
    /// Which clients to play.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Seconds each flood lasts.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Agent,
    Viewer,
    Anonymous,
    All,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = idlewatch_bench::resources::ensure_file_limit(16_384) {
        eprintln!("idlewatch-abuse-bench: warning: {e}");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("idlewatch-abuse-bench: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idlewatch-abuse-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    let duration = Duration::from_secs(cli.duration.max(1));
    let mut columns = Vec::new();
    for binary in &cli.servers {
        let mut figures = Figures::default();
        // A fresh server per client kind: one's leftovers must not count for another.
        if matches!(cli.scenario, Scenario::Agent | Scenario::All) {
            let target = Target::start(binary).await?;
            abuse::agent::run(&target, duration, &mut figures).await?;
            target.server.stop().await;
        }
        if matches!(cli.scenario, Scenario::Viewer | Scenario::All) {
            let target = Target::start(binary).await?;
            abuse::viewer::run(&target, duration, &mut figures).await?;
            target.server.stop().await;
        }
        if matches!(cli.scenario, Scenario::Anonymous | Scenario::All) {
            let target = Target::start(binary).await?;
            abuse::anonymous::run(&target, &mut figures).await?;
            target.server.stop().await;
        }
        columns.push((binary.display().to_string(), figures));
    }
    if cli.json {
        let value: Vec<_> = columns
            .iter()
            .map(|(server, f)| serde_json::json!({"server": server, "figures": f.0}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let Some((_, first)) = columns.first() else {
        return Ok(());
    };
    let mut header = String::from("| client | measure |");
    let mut rule = String::from("|---|---|");
    for (server, _) in &columns {
        header.push_str(&format!(" {server} |"));
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
    for (i, figure) in first.0.iter().enumerate() {
        let mut line = format!("| {} | {} |", figure.who, figure.what);
        for (_, f) in &columns {
            line.push_str(&format!(
                " {} |",
                f.0.get(i).map_or("", |x| x.value.as_str())
            ));
        }
        println!("{line}");
    }
    Ok(())
}
