//! `idlewatch-server`: parses flags, loads the configuration, prepares the data dir and tokens,
//! binds the listener and serves until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use idlewatch_protocol::startup::LISTENING;
use idlewatch_server::auth::{Auth, TokenSource};
use idlewatch_server::cluster::Cluster;
use idlewatch_server::config::cluster::without_password;
use idlewatch_server::config::{Config, Overrides};
use idlewatch_server::state::AppState;
use idlewatch_server::stores::Stores;
use idlewatch_server::tls::Tls;
use idlewatch_server::{App, restore_live_state, run};
use idlewatch_store::{OpenOptions, Store};
use idlewatch_store_pg::PgOptions;
use tracing::{error, info, warn};

/// Idlewatch server: live state of lab and office machines over Socket.IO and HTTP.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (see config/server.toml).
    #[arg(long, env = "IDLEWATCH_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 0.0.0.0:5000].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Directory for the store and generated tokens [default: ./data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// No authentication, as the Python original: only on a trusted network.
    #[arg(long)]
    open: bool,
    /// Serve HTTPS/WSS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    match start(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idlewatch-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDLEWATCH_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,socketioxide=warn,engineioxide=warn")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn start(args: Args) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
        open: args.open,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
    };
    let config = Config::load(
        args.config.as_deref(),
        |k| std::env::var(k).ok(),
        &overrides,
    )?;
    raise_open_file_limit();
    idlewatch_store::create_private_dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create data dir {}; choose another with --data-dir",
            config.data_dir.display()
        )
    })?;
    let (auth, source) = Auth::init(&config.auth, &config.data_dir)?;
    let agents = if auth.has_shared_agent_token() {
        "agents use the shared agent_token or per-host tokens"
    } else {
        "each agent needs its own token: idlewatch-admin tokens issue --host <host>"
    };
    match source {
        TokenSource::Open => warn!(
            "running with --open: no authentication, anyone who can reach this port can read \
             and send data; use only on a trusted network"
        ),
        TokenSource::Configured => {
            info!("using the viewer and admin tokens from configuration; {agents}")
        }
        TokenSource::File {
            path,
            generated: true,
        } => info!(
            "generated tokens in {} (mode 0600): give dashboards the viewer_token; {agents}",
            path.display()
        ),
        TokenSource::File {
            path,
            generated: false,
        } => {
            info!("using tokens from {}; {agents}", path.display());
        }
    }
    let options = OpenOptions {
        queue: config.limits.store_queue,
        cache_bytes: config.limits.store_cache_mib.saturating_mul(1 << 20),
        deltas: config.retention.deltas.kind(),
        ..OpenOptions::default()
    };
    // One clear line (the error's Display) when the data dir is in use or the file is too new.
    let (store, writer, outcome) = Store::open(&config.data_dir, &options)?;
    if !outcome.applied.is_empty() {
        info!(
            "store {} upgraded from schema {} to {} ({})",
            store.path().display(),
            outcome.from,
            outcome.to,
            outcome.applied.join(", ")
        );
    }
    let cluster = &config.cluster;
    let pg_options = PgOptions {
        queue: config.limits.store_queue,
        deltas: config.retention.deltas.kind(),
        ca_file: Some(cluster.postgres_ca_file.clone()).filter(|f| !f.as_os_str().is_empty()),
        ..PgOptions::default()
    };
    let shared_at = without_password(&cluster.postgres_url);
    let stores = Stores::open(store, &cluster.postgres_url, pg_options)
        .with_context(|| format!("cannot open the shared store at {shared_at}"))?;
    if stores.shared() {
        info!(
            "snapshots are stored in PostgreSQL at {shared_at} (schema {})",
            idlewatch_store_pg::schema::latest()
        );
        let copied = stores
            .share_local_tokens()
            .with_context(|| format!("cannot share this server's tokens at {shared_at}"))?;
        if copied > 0 {
            info!(
                "{copied} tokens issued on this server are now in the shared store, with new \
                 ids (idlewatch-admin tokens list shows them)"
            );
        }
        let (alerts, polls) = stores.share_local_records().with_context(|| {
            format!("cannot move this server's alerts and licence polls to {shared_at}")
        })?;
        if alerts + polls > 0 {
            info!(
                "{alerts} alerts and {polls} licence polls kept by this server are now in the \
                 shared store (the alerts with new ids)"
            );
        }
    }
    let state = AppState::new(config, auth, stores);
    if let Some(e) = state.sheets.setup_error() {
        anyhow::bail!("Google Sheets uploads are enabled but cannot work: {e}");
    }
    if let Some(e) = state.seats.board.setup_error() {
        anyhow::bail!("the seat view cannot be set up: {e}");
    }
    if let Some(e) = state.alerts.setup_error() {
        anyhow::bail!("alerts are configured but cannot be notified: {e}");
    }
    if !state.config.alerts.is_empty() {
        info!(
            "{} alert rules, checked every {:?}",
            state.config.alerts.len(),
            state.alerts.tick()
        );
    }
    if let Some(email) = state.sheets.status().service_account {
        info!(
            "Google Sheets uploads every {:?} as {email} (share the spreadsheet with it)",
            state.config.sheets.interval
        );
    }
    let restored = restore_live_state(&state).context("cannot read the store")?;
    info!(
        "store {} open: {restored} hosts restored",
        state.store.local().path().display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(serve(state));
    // Commit what is still queued before exiting, whatever happened to the listener.
    drop(runtime);
    writer.stop();
    served
}

async fn serve(state: AppState) -> anyhow::Result<()> {
    let config = &state.config;
    let listener = bind(config.listen).with_context(|| {
        format!(
            "cannot listen on {}; is another server using the port? choose another with --listen",
            config.listen
        )
    })?;
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let tls = match config.tls.files() {
        Some((cert, key)) => Some(Arc::new(Tls::load(cert, key)?)),
        None => None,
    };
    reload_on_hangup(tls.clone())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if config.cluster.enabled() {
        join_cluster(&state).await?;
    }
    let app = App::new(state.clone());
    let shutdown = shutdown_signal()?;
    // Tests and scripts read this exact line to learn the port.
    info!("{LISTENING}{scheme}://{addr}");
    run(listener, tls, app, shutdown)
        .await
        .context("server failed")?;
    info!("stopped");
    Ok(())
}

/// Connects to the cluster's Redis and reads every host's latest state kept there.
async fn join_cluster(state: &AppState) -> anyhow::Result<()> {
    let cluster = Cluster::connect(
        &state.config.cluster,
        state.registry.clone(),
        state.config.limits.max_message_bytes,
        &state.metrics,
    )
    .await?;
    let read = cluster
        .prime()
        .await
        .context("cannot read the hosts' latest states from the cluster's Redis")?;
    info!(
        "cluster: server {} joined through Redis at {}; {read} hosts' latest states read",
        cluster.id(),
        without_password(&state.config.cluster.redis_url)
    );
    match cluster.licence_polls().await {
        Ok(polls) => {
            for poll in polls {
                state
                    .licence_servers
                    .told_elsewhere(&poll.server, poll.poll)
                    .await;
            }
        }
        Err(e) => warn!("cannot read the licence servers' latest polls from Redis: {e}"),
    }
    let _ = state.cluster.set(cluster);
    Ok(())
}

/// Raises the soft limit on open files to the hard one: each connection takes a file
/// descriptor, and the usual soft limit of 1,024 would let a few hundred slow clients starve
/// everyone else of them.
#[cfg(unix)]
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            warn!(
                "cannot raise the open file limit ({e}); it stays at {:?}",
                getrlimit(Resource::Nofile).current
            );
        }
    }
    info!(
        "open file limit: {}",
        getrlimit(Resource::Nofile)
            .current
            .map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
    );
}

#[cfg(not(unix))]
fn raise_open_file_limit() {}

/// Connections the kernel queues before the server accepts them (tokio's `bind` asks for
/// 1,024). A fleet reconnecting after a restart arrives in one burst, and a connection beyond a
/// full queue waits for TCP to retry it a second or more later. The kernel caps the value at
/// `net.core.somaxconn` (4,096 by default on current Linux).
const LISTEN_BACKLOG: u32 = 8192;

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind`: a restarted server may bind while old connections linger. (On
    // Windows the option would let a second server share the port silently.)
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Reloads the TLS certificate and key on every SIGHUP (after a renewal); a file that cannot
/// be used is logged and the previous certificate kept. Without TLS a SIGHUP (`systemctl
/// reload`) only says there is nothing to reload, instead of stopping the server.
#[cfg(unix)]
fn reload_on_hangup(tls: Option<Arc<Tls>>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let Some(tls) = &tls else {
                info!("received SIGHUP: nothing to reload (no TLS certificate configured)");
                continue;
            };
            match tls.reload() {
                Ok(()) => info!("reloaded the TLS certificate {}", tls.cert_path().display()),
                Err(e) => error!("{e}; still serving the previous certificate"),
            }
        }
    });
    Ok(())
}

/// Without SIGHUP the certificate is read once, at start.
#[cfg(not(unix))]
fn reload_on_hangup(_tls: Option<Arc<Tls>>) -> anyhow::Result<()> {
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers now (so a signal arriving right after the
/// "listening" line is not lost) and returns a future resolving on the first of them.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => info!("received SIGINT"),
            _ = terminate.recv() => info!("received SIGTERM"),
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            info!("received Ctrl-C");
        }
    })
}
