//! `idlewatch-agent`: parses flags, loads the configuration, then runs one of its roles: the
//! agent itself (default; `service` under the Windows Service Control Manager), a session
//! helper (`session`), one snapshot (`--once`), or `configure` (what the Windows installer
//! runs to write the configuration).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use idlewatch_agent::config::{self, AgentConfig, Overrides};
use idlewatch_protocol::time::duration;

/// Idlewatch agent: reports this machine's idle time, processes and watched applications.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run under the Windows Service Control Manager (what the installed service runs).
    Service(RunArgs),
    /// Report this user session's idle time and foreground window to the agent (started in
    /// each session at logon).
    Session(SessionArgs),
    /// Write the agent's configuration (the installer runs this with its properties).
    Configure(ConfigureArgs),
    /// Delete the agent's data on Windows: %ProgramData%\Idlewatch with its configuration,
    /// token, spool and identity (the installer runs this on uninstall with PURGE=1).
    #[command(hide = true)]
    Purge,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// agent.toml configuration file [default: /etc/idlewatch/agent.toml, or
    /// %ProgramData%\Idlewatch\agent.toml on Windows, when it exists].
    #[arg(long, env = "IDLEWATCH_AGENT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's URL [default: http://127.0.0.1:5000]; the servers of a cluster: repeated,
    /// or separated by commas (tried in turn when one cannot be reached).
    #[arg(long, env = "IDLEWATCH_SERVER", value_name = "URL")]
    server: Vec<String>,
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
    /// Where session helpers connect [default: /run/idlewatch-agent/session.sock, or
    /// \\.\pipe\idlewatch-agent on Windows].
    #[arg(long, value_name = "PATH")]
    session_channel: Option<PathBuf>,
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

#[derive(Debug, Args)]
struct SessionArgs {
    /// Where the agent listens for session helpers [default: /run/idlewatch-agent/session.sock,
    /// or \\.\pipe\idlewatch-agent on Windows].
    #[arg(long, value_name = "PATH")]
    channel: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ConfigureArgs {
    /// The file to write [default: /etc/idlewatch/agent.toml, or
    /// %ProgramData%\Idlewatch\agent.toml on Windows].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's URL (kept from the existing file when empty).
    #[arg(long, value_name = "URL", default_value = "")]
    server: String,
    /// The agent token, stored in a file beside the configuration that only the system and
    /// administrators may read (kept when empty).
    #[arg(long, value_name = "T", default_value = "", allow_hyphen_values = true)]
    token: String,
    /// A file holding the agent token instead (kept when empty).
    #[arg(long, value_name = "FILE", default_value = "")]
    token_file: String,
    /// The lab or room (kept when empty).
    #[arg(long, value_name = "GROUP", default_value = "")]
    group: String,
    /// Watched applications, `name=exe1,exe2;name2=exe3` (kept when empty).
    #[arg(long, value_name = "RULES", default_value = "")]
    watch: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logging = match &cli.command {
        Some(Command::Service(_)) => idlewatch_agent::logging::Target::ServiceLog,
        _ => idlewatch_agent::logging::Target::Stderr,
    };
    idlewatch_agent::logging::init(logging);
    let result = match cli.command {
        None => run(cli.run, false),
        Some(Command::Service(args)) => run(args, true),
        Some(Command::Session(args)) => session(args),
        Some(Command::Configure(args)) => configure(args),
        Some(Command::Purge) => purge(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("idlewatch-agent: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Two worker threads at most: the agent must stay light.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn load(args: RunArgs) -> anyhow::Result<(AgentConfig, bool)> {
    let overrides = Overrides {
        server: (!args.server.is_empty()).then(|| args.server.join(",")),
        token: args.token,
        ca_file: args.ca_file,
        interval: args.interval,
        idle_threshold: args.idle_threshold,
        busy_cpu: args.busy_cpu,
        spool_dir: args.spool_dir,
        session_channel: args.session_channel,
        collect_titles: args.collect_titles,
        host: args.host,
        group: args.group,
        watch: args.watch,
    };
    let file = args.config.or_else(config::default_config_file);
    Ok((AgentConfig::load(file.as_deref(), &overrides)?, args.once))
}

fn run(args: RunArgs, as_service: bool) -> anyhow::Result<()> {
    let (config, once) = load(args)?;
    if as_service {
        return idlewatch_agent::service::run(config);
    }
    let runtime = runtime()?;
    if once {
        let json = runtime.block_on(idlewatch_agent::collect_once(&config))?;
        println!("{json}");
        return Ok(());
    }
    // Signal handlers are registered now, inside the runtime, before any work starts.
    let shutdown = {
        let _context = runtime.enter();
        idlewatch_agent::signals::shutdown()?
    };
    runtime.block_on(idlewatch_agent::run(config, shutdown))
}

fn session(args: SessionArgs) -> anyhow::Result<()> {
    #[cfg(windows)]
    idlewatch_agent::session::console::leave_own_console();
    let channel = args
        .channel
        .unwrap_or_else(idlewatch_agent::session::transport::default_path);
    let runtime = runtime()?;
    let shutdown = {
        let _context = runtime.enter();
        idlewatch_agent::signals::shutdown()?
    };
    runtime.block_on(idlewatch_agent::session::helper::run(&channel, shutdown))
}

fn configure(args: ConfigureArgs) -> anyhow::Result<()> {
    let settings = idlewatch_agent::install::Settings {
        server: args.server,
        token: args.token,
        token_file: args.token_file,
        group: args.group,
        watch: args.watch,
    };
    let path = args.config.unwrap_or_else(config::system_config_file);
    let written = idlewatch_agent::install::configure(&path, &settings)?;
    println!("wrote {}", written.display());
    Ok(())
}

fn purge() -> anyhow::Result<()> {
    if !cfg!(windows) {
        anyhow::bail!(
            "purge is for the Windows installer; on Debian, `apt purge idlewatch-agent` removes \
             the configuration"
        );
    }
    let dir = config::program_data();
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => println!("deleted {}", dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot delete {}", dir.display())),
    }
    Ok(())
}
