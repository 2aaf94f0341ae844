//! `idlewatch-agent`: parses flags, loads the configuration, then either prints one snapshot
//! (`--once`) or runs until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use idlewatch_agent::config::{AgentConfig, Overrides};
use idlewatch_protocol::duration;

/// Idlewatch agent: reports this machine's idle time, processes and watched applications.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// agent.toml configuration file (see config/agent.toml).
    #[arg(long, env = "IDLEWATCH_AGENT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's URL [default: http://127.0.0.1:5000].
    #[arg(long, env = "IDLEWATCH_SERVER", value_name = "URL")]
    server: Option<String>,
    /// The server's agent token.
    #[arg(
        long,
        env = "IDLEWATCH_AGENT_TOKEN",
        value_name = "T",
        hide_env_values = true,
        // Tokens made before they had a prefix may start with '-'.
        allow_hyphen_values = true
    )]
    token: Option<String>,
    /// PEM certificate of the CA that signed an https:// server's certificate (a private CA)
    /// [default: the system's authorities].
    #[arg(long, env = "IDLEWATCH_CA_FILE", value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Time between snapshots: seconds or e.g. 5s [default: 5].
    #[arg(long, value_name = "SECS", value_parser = duration::parse)]
    interval: Option<Duration>,
    /// Idle below this means an active user: seconds or e.g. 1m [default: 60].
    #[arg(long, value_name = "SECS", value_parser = duration::parse)]
    idle_threshold: Option<Duration>,
    /// CPU percent from which a watched app not in use counts as computing [default: 5].
    #[arg(long, value_name = "PERCENT")]
    busy_cpu: Option<f64>,
    /// A watched application and its executables, e.g. ansys=ansys.exe,runwb2.exe (repeatable).
    #[arg(long, value_name = "NAME=EXE,...")]
    watch: Vec<String>,
    /// Where unsent snapshots wait [default: /var/lib/idlewatch-agent/spool].
    #[arg(long, env = "IDLEWATCH_SPOOL_DIR", value_name = "DIR")]
    spool_dir: Option<PathBuf>,
    /// Also send the foreground window's title (off by default: privacy).
    #[arg(long)]
    collect_titles: bool,
    /// Report under this host name instead of the machine's.
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
    /// The lab or room this machine belongs to.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// Print one snapshot as JSON on stdout and exit (no server needed).
    #[arg(long)]
    once: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDLEWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match start(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idlewatch-agent: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn start(args: Args) -> anyhow::Result<()> {
    let overrides = Overrides {
        server: args.server,
        token: args.token,
        ca_file: args.ca_file,
        interval: args.interval,
        idle_threshold: args.idle_threshold,
        busy_cpu: args.busy_cpu,
        spool_dir: args.spool_dir,
        collect_titles: args.collect_titles,
        host: args.host,
        group: args.group,
        watch: args.watch,
    };
    let config = AgentConfig::load(args.config.as_deref(), &overrides)?;
    // Two worker threads at most: the agent must stay light.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if args.once {
        let json = runtime.block_on(idlewatch_agent::collect_once(&config))?;
        println!("{json}");
        return Ok(());
    }
    // Signal handlers are registered now, inside the runtime, before any work starts.
    let shutdown = {
        let _context = runtime.enter();
        shutdown_signal()?
    };
    runtime.block_on(idlewatch_agent::run(config, shutdown))
}

#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
