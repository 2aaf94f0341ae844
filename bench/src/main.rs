//! `idlewatch-bench`: load generator for the Idlewatch server. Parses flags, raises the
//! open-file limit, optionally starts the server under test, runs one measurement and prints
//! its report (a summary, or one JSON line with `--json`).
//!
//! Exit status: 0 for a clean run, 1 when the run failed or finished with failures (agents
//! that could not connect, acks that did not come back `ok`, a spawned server that panicked or
//! did not stop cleanly), 2 for bad usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use idlewatch_bench::connections::{self, ConnectionsOptions};
use idlewatch_bench::ingest::{self, IngestOptions};
use idlewatch_bench::resources;
use idlewatch_bench::spawn::{AuthMode, Limits, ServerExit, SpawnedServer, Tokens};
use serde::Serialize;

/// Load generator for the Idlewatch server: simulated agents and dashboards over Socket.IO.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Snapshot throughput and agent-to-dashboard delay.
    Ingest(IngestArgs),
    /// Many concurrent agents at a realistic pace: connect rate, errors, server memory.
    Connections(ConnectionsArgs),
}

/// Which server to load, and how to report.
#[derive(Debug, Args)]
struct Target {
    /// The server's base URL.
    #[arg(long, value_name = "URL", required_unless_present = "spawn_server")]
    server: Option<String>,
    /// Start this idlewatch-server binary (free loopback port, temporary data dir, --open) for
    /// the run, watch it, and stop it at the end.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["server", "server_pid"])]
    spawn_server: Option<PathBuf>,
    /// Run the spawned server with token auth (tokens it generates in its data dir, used by
    /// the agents and dashboards) instead of --open.
    #[arg(long, requires = "spawn_server")]
    spawn_auth: bool,
    /// Start the spawned server with this configuration file (`--config`), e.g.
    /// `bench/configs/alerts-20.toml` to measure ingest with alert rules.
    #[arg(long, value_name = "FILE", requires = "spawn_server")]
    spawn_config: Option<PathBuf>,
    /// Pid of the server process, to report its CPU time and memory from /proc.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Token the agents present.
    #[arg(long, env = "IDLEWATCH_AGENT_TOKEN", value_name = "TOKEN")]
    agent_token: Option<String>,
    /// Print the report as one JSON line on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
    /// Seed of the generated snapshots.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads of the bench's runtime [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

#[derive(Debug, Args)]
struct IngestArgs {
    #[command(flatten)]
    target: Target,
    /// Token the dashboards present.
    #[arg(long, env = "IDLEWATCH_VIEWER_TOKEN", value_name = "TOKEN")]
    viewer_token: Option<String>,
    /// Agent connections.
    #[arg(long, default_value_t = 50)]
    agents: usize,
    /// Dashboard connections.
    #[arg(long, default_value_t = 2)]
    dashboards: usize,
    /// Connect the dashboards to this server instead (another server of the same cluster).
    #[arg(long, value_name = "URL")]
    dashboards_on: Option<String>,
    /// Snapshots per second from all agents together; 0 sends as fast as acks (or the socket)
    /// allow.
    #[arg(long, default_value_t = 1000.0, value_name = "PER_SECOND")]
    rate: f64,
    /// Measured seconds.
    #[arg(long, default_value = "10", value_parser = seconds, value_name = "SECS")]
    duration: Duration,
    /// Seconds of sending before measuring.
    #[arg(long, default_value = "2", value_parser = seconds, value_name = "SECS")]
    warmup: Duration,
    /// Processes per snapshot.
    #[arg(long, default_value_t = 300)]
    processes: usize,
    /// Send snapshots with an ack callback (the server answers once it has them).
    #[arg(long)]
    ack: bool,
    /// Acks one agent may await at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    ack_window: usize,
    /// Render N snapshots per agent before the run and send them in turn (with fresh seq,
    /// captured_at and send time): leaves the bench's CPU to the server on small machines, but
    /// the process churn repeats every N snapshots. 0 renders every snapshot fresh.
    #[arg(long, default_value_t = 0, value_name = "N")]
    prerender: usize,
}

#[derive(Debug, Args)]
struct ConnectionsArgs {
    #[command(flatten)]
    target: Target,
    /// Agent connections.
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Seconds between two snapshots of one agent.
    #[arg(long, default_value = "5", value_parser = seconds, value_name = "SECS")]
    interval: Duration,
    /// Seconds to hold every connection after the ramp.
    #[arg(long, default_value = "30", value_parser = seconds, value_name = "SECS")]
    duration: Duration,
    /// Processes per snapshot.
    #[arg(long, default_value_t = 300)]
    processes: usize,
    /// Connections opened at once during the ramp.
    #[arg(long, default_value_t = 200, value_name = "N")]
    connect_concurrency: usize,
    /// Another server of the same cluster (repeatable): the agents are spread over every
    /// server and move on to the next when theirs goes away.
    #[arg(long, value_name = "URL")]
    fail_over_to: Vec<String>,
    /// Longest WebSocket frame the agents send; longer snapshots go in fragments, as the
    /// Idlewatch agent sends them. 0: one frame per message, as python-socketio and
    /// socket.io-client do.
    #[arg(long, default_value_t = idlewatch_bench::client::DEFAULT_FRAGMENT_BYTES, value_name = "BYTES")]
    frame_bytes: usize,
}

fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} must be a positive number of seconds"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let threads = match &cli.command {
        Command::Ingest(a) => a.target.threads,
        Command::Connections(a) => a.target.threads,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        builder.worker_threads(n.max(1));
    }
    let result = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(cli.command)));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("idlewatch-bench: the run finished with failures (see the report)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("idlewatch-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDLEWATCH_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Runs the chosen measurement; true when it was clean.
async fn run(command: Command) -> anyhow::Result<bool> {
    let (target, sockets) = match &command {
        Command::Ingest(a) => (&a.target, a.agents + a.dashboards),
        Command::Connections(a) => (&a.target, a.agents),
    };
    // One descriptor per socket, plus a margin for the runtime, logs and /proc reads.
    resources::ensure_file_limit(sockets as u64 + 64)?;
    let auth = if target.spawn_auth {
        AuthMode::Tokens
    } else {
        AuthMode::Open
    };
    let spawned = match &target.spawn_server {
        Some(path) => Some(
            SpawnedServer::start_with(path, auth, Limits::Lifted, target.spawn_config.as_deref())
                .await
                .context("cannot start the server under test")?,
        ),
        None => None,
    };
    let url = spawned
        .as_ref()
        .map(|s| s.url().to_owned())
        .or_else(|| target.server.clone())
        .context("no server: give --server URL or --spawn-server PATH")?;
    let pid = spawned
        .as_ref()
        .map(SpawnedServer::pid)
        .or(target.server_pid);
    if let Some(s) = &spawned {
        eprintln!("idlewatch-bench: started {} (pid {})", s.url(), s.pid());
    }
    let tokens = spawned.as_ref().and_then(SpawnedServer::tokens).cloned();
    let outcome = measure(&command, url, pid, tokens).await;
    let exit = match spawned {
        Some(server) => Some(server.stop().await),
        None => None,
    };
    let (report, clean) = outcome?;
    print(&report, exit.as_ref(), target.json)?;
    let server_ok = exit
        .as_ref()
        .is_none_or(|e| e.graceful && e.code == Some(0) && e.log.panics == 0);
    Ok(clean && server_ok)
}

/// A finished measurement's report, in either form.
enum Report {
    Ingest(ingest::IngestReport),
    Connections(connections::ConnectionsReport),
}

/// Runs the measurement against `server`; `tokens`, from a spawned server, replace the ones
/// given on the command line.
async fn measure(
    command: &Command,
    server: String,
    pid: Option<u32>,
    tokens: Option<Tokens>,
) -> anyhow::Result<(Report, bool)> {
    let agent_token = |given: &Option<String>| {
        tokens
            .as_ref()
            .map(|t| t.agent_token.clone())
            .or_else(|| given.clone())
    };
    match command {
        Command::Ingest(a) => {
            let options = IngestOptions {
                server,
                agent_token: agent_token(&a.target.agent_token),
                viewer_token: tokens
                    .as_ref()
                    .map(|t| t.viewer_token.clone())
                    .or_else(|| a.viewer_token.clone()),
                dashboards_on: a.dashboards_on.clone(),
                agents: a.agents,
                dashboards: a.dashboards,
                rate: a.rate.max(0.0),
                duration: a.duration,
                warmup: a.warmup,
                processes: a.processes,
                ack: a.ack,
                ack_window: a.ack_window,
                prerender: a.prerender,
                server_pid: pid,
                seed: a.target.seed,
            };
            let report = ingest::run(&options).await?;
            let clean = report.clean();
            Ok((Report::Ingest(report), clean))
        }
        Command::Connections(a) => {
            let options = ConnectionsOptions {
                server,
                fail_over: a.fail_over_to.clone(),
                agent_token: agent_token(&a.target.agent_token),
                agents: a.agents,
                interval: a.interval,
                duration: a.duration,
                processes: a.processes,
                connect_concurrency: a.connect_concurrency,
                frame_bytes: a.frame_bytes,
                server_pid: pid,
                seed: a.target.seed,
            };
            let report = connections::run(&options).await?;
            let clean = report.clean();
            Ok((Report::Connections(report), clean))
        }
    }
}

fn print(report: &Report, exit: Option<&ServerExit>, json: bool) -> anyhow::Result<()> {
    let mut summary = match report {
        Report::Ingest(r) => r.to_string(),
        Report::Connections(r) => r.to_string(),
    };
    if let Some(exit) = exit {
        let snapshots = match report {
            Report::Ingest(r) => r.snapshots_sent_total,
            Report::Connections(r) => r.snapshots_sent,
        };
        summary.push_str(&describe_exit(exit, snapshots));
    }
    if !json {
        print!("{summary}");
        return Ok(());
    }
    eprint!("{summary}");
    #[derive(Serialize)]
    struct Line<'a, R: Serialize> {
        #[serde(flatten)]
        report: &'a R,
        server_exit: Option<&'a ServerExit>,
    }
    let line = match report {
        Report::Ingest(r) => serde_json::to_string(&Line {
            report: r,
            server_exit: exit,
        }),
        Report::Connections(r) => serde_json::to_string(&Line {
            report: r,
            server_exit: exit,
        }),
    }
    .context("cannot serialize the report")?;
    println!("{line}");
    Ok(())
}

fn describe_exit(exit: &ServerExit, snapshots: u64) -> String {
    let how = match (exit.graceful, exit.code) {
        (true, Some(0)) => "stopped cleanly on SIGTERM".to_owned(),
        (true, code) => format!("exited with {code:?} on SIGTERM"),
        (false, _) => "did not stop on SIGTERM in time and was killed".to_owned(),
    };
    let mut text = format!(
        "  spawned server {how}; {} log lines, {} warnings/errors after start-up, {} panics\n",
        exit.log.lines, exit.log.warnings, exit.log.panics
    );
    if let Some(bytes) = exit.data_dir_bytes {
        let per = if snapshots > 0 {
            format!(
                ", {:.0} B per snapshot sent",
                bytes as f64 / snapshots as f64
            )
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  its data dir held {:.1} MiB after exit ({snapshots} snapshots sent{per})\n",
            bytes as f64 / 1_048_576.0
        ));
    }
    for (line, count) in &exit.log.first_warnings {
        text.push_str(&format!("    {count} × {line}\n"));
    }
    text
}
