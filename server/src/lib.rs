//! Idlewatch server: Socket.IO ingest compatible with the Python original, the live state of
//! every host, and the HTTP API.
//!
//! [`App::new`] wires state, Socket.IO and routes; [`run`] serves them on a listener until a
//! shutdown future resolves, so tests bind port 0 and stop the server for real.

pub mod alerts;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod directory;
pub mod groups;
pub mod http;
pub mod licences;
pub mod limits;
pub mod metrics;
pub mod registry;
pub mod relay;
pub mod report;
pub mod seats;
pub mod serve;
pub mod sheets;
pub mod socket;
pub mod state;
pub mod stores;
pub mod tls;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::serve::ListenerExt;
use idlewatch_protocol::Snapshot;
use idlewatch_store::RecordStore;
use socketioxide::SocketIo;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::state::AppState;

/// How long shutdown waits for open connections before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Extra bytes allowed on the transports beyond the message limit, for Socket.IO framing
/// (`42["agent_snapshot",` and the ack id).
const FRAMING_ALLOWANCE: usize = 4096;

/// A ready-to-serve server: routes, the Socket.IO handle and the shared state.
pub struct App {
    /// Every HTTP route with Socket.IO mounted at `/socket.io/`.
    pub router: Router,
    /// The Socket.IO server handle.
    pub io: SocketIo,
    /// The shared state.
    pub state: AppState,
}

impl App {
    /// Wires Socket.IO and the routes around `state`.
    #[must_use]
    pub fn new(state: AppState) -> Self {
        let transport_limit = state.config.limits.max_message_bytes + FRAMING_ALLOWANCE;
        let (layer, io) = SocketIo::builder()
            .max_payload(transport_limit as u64)
            .ws_max_message_size(transport_limit)
            .ws_max_frame_size(transport_limit)
            .max_buffer_size(state.config.limits.socket_buffer)
            .connect_timeout(state.config.limits.handshake_timeout)
            .with_state(state.clone())
            .build_layer();
        socket::attach(&io);
        let router = http::router(state.clone())
            .layer(layer)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                socket::gate::gate,
            ))
            .layer(http::cors(&state.config.auth.allowed_origins));
        Self { router, io, state }
    }
}

/// How often retention pruning runs.
pub const RETENTION_PERIOD: Duration = Duration::from_secs(3600);

/// Loads every stored host's latest snapshot into the live state (hosts show as offline until
/// their agent reconnects). Returns the number of hosts restored.
///
/// # Errors
/// When the store cannot be read.
pub fn restore_live_state(state: &AppState) -> Result<usize, idlewatch_store::Error> {
    // Snapshots dated beyond the clock's skew allowance (stored before it was enforced) would
    // hide every genuine one: the latest is the newest captured up to that horizon.
    let horizon = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .saturating_add(state.config.limits.max_clock_skew_ms());
    let latest = state.store.latest_per_host(horizon)?;
    let limit = state.config.limits.max_message_bytes;
    for entry in &latest {
        let parsed = serde_json::value::RawValue::from_string(entry.snapshot.json.clone())
            .map_err(|e| e.to_string())
            .and_then(|raw| Snapshot::from_raw_limited(raw, limit).map_err(|e| e.to_string()));
        match parsed {
            Ok(snapshot) => {
                let received = UNIX_EPOCH
                    + Duration::from_millis(u64::try_from(entry.snapshot.received_ms).unwrap_or(0));
                state.registry.record(&snapshot, received);
            }
            Err(e) => {
                warn!(host = %entry.host, "stored latest snapshot is unreadable, skipped: {e}")
            }
        }
    }
    Ok(latest.len())
}

/// Asks the store, now and every [`RETENTION_PERIOD`], to delete snapshots older than
/// `[retention] days`, and alerts resolved and licence polls made that long ago — or, with
/// `days = 0`, as long ago as minute rows are kept.
async fn retention(state: AppState) {
    let snapshots = state.config.retention.deleted_after();
    let Some(events) = snapshots.or(state.config.retention.minutes()) else {
        return std::future::pending().await;
    };
    let cutoff = |keep: Duration| {
        SystemTime::now()
            .checked_sub(keep)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
    };
    // A cluster's shared store is pruned once, by the server holding the lead: its first
    // round waits until a lead is taken.
    let first = if state.store.shared() {
        state.config.cluster.lease * 2
    } else {
        Duration::ZERO
    };
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, RETENTION_PERIOD);
    loop {
        tick.tick().await;
        if state.store.shared() && !state.leads() {
            continue;
        }
        if let Some(keep) = snapshots {
            state.store.prune_before(cutoff(keep));
        }
        let store = state.store.clone();
        let before = cutoff(events);
        let pruned = tokio::task::spawn_blocking(move || {
            Ok::<_, idlewatch_store::Error>((
                store.prune_alerts_before(before)?,
                store.prune_licence_polls_before(before)?,
            ))
        })
        .await;
        match pruned {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((alerts, polls))) => info!(
                "deleted {alerts} alerts resolved and {polls} licence polls made more than \
                 {} days ago",
                events.as_secs() / 86_400
            ),
            Ok(Err(e)) => warn!("cannot delete old alerts and licence polls: {e}"),
            Err(e) => warn!("cannot delete old alerts and licence polls: {e}"),
        }
    }
}

/// Every [`RETENTION_PERIOD`] (the first a minute after start, out of start-up's way), folds
/// snapshots captured more than `[retention] snapshots` ago into minute rows (and whole days
/// into day rows), then deletes the minute rows older than `[retention] minutes`.
async fn age_snapshots(state: AppState) {
    let Some(keep) = state.config.retention.snapshots() else {
        return std::future::pending().await;
    };
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let minutes_ms = state
        .config
        .retention
        .minutes()
        .map(|m| i64::try_from(m.as_millis()).unwrap_or(i64::MAX));
    let cover_ms = state.config.report.rules().interval_ms.saturating_mul(3);
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(60),
        RETENTION_PERIOD,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A cluster's shared store is aged once, by the server holding the lead.
        if state.store.shared() && !state.leads() {
            continue;
        }
        let now = now_ms();
        let before_ms = now.saturating_sub(keep_ms);
        let minutes_before_ms = minutes_ms.map(|m| now.saturating_sub(m));
        let store = state.store.clone();
        let age = move || store.age_tiers(before_ms, cover_ms, minutes_before_ms);
        match tokio::task::spawn_blocking(age).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!("cannot fold old snapshots into minutes, will retry: {e}"),
            Err(e) => warn!("cannot fold old snapshots into minutes, will retry: {e}"),
        }
    }
}

/// How often a server of a cluster on PostgreSQL takes the issued tokens again from the
/// database even when it was not told of a change (in case a notification was lost).
pub const SHARED_TOKENS_PERIOD: Duration = Duration::from_secs(60);

/// In a cluster on PostgreSQL, takes the issued tokens from the shared store each time the
/// database says they changed (a token issued or revoked on any server holds here at once),
/// and every [`SHARED_TOKENS_PERIOD`]; on a server on its own there is nothing to follow.
async fn follow_shared_tokens(state: AppState) {
    let changed = Arc::new(tokio::sync::Notify::new());
    // The listening thread ends once this task is gone.
    let told = Arc::downgrade(&changed);
    match state
        .store
        .watch_tokens(move || told.upgrade().inspect(|c| c.notify_one()).is_some())
    {
        None => return std::future::pending().await,
        Some(Ok(())) => {}
        Some(Err(e)) => warn!(
            "cannot listen for token changes ({e}); tokens issued or revoked on other servers \
             hold here within {} s",
            SHARED_TOKENS_PERIOD.as_secs()
        ),
    }
    let mut tick = tokio::time::interval(SHARED_TOKENS_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = changed.notified() => {}
        }
        let worker = state.clone();
        let reloaded =
            tokio::task::spawn_blocking(move || worker.tokens.reload(&worker.store)).await;
        match flatten(reloaded) {
            Ok(()) if failing => {
                info!("the shared store's tokens are read again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                warn!("cannot read the tokens from the shared store, keeping those known: {e}");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

/// Rolls up every PC's settled days every `[retention] rollup_every` (the first round a minute
/// after start at most, out of start-up's way): each round finds the days missing and builds
/// them a week of one PC at a time off the runtime.
async fn host_day_rollups(state: AppState) {
    // Rollups cached in each server's own file would not learn of a late snapshot another
    // server stored: on the shared store, the licence views read the summaries.
    if state.store.shared() {
        return std::future::pending().await;
    }
    let every = state.config.retention.rollup_every;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + every.min(Duration::from_secs(60)),
        every,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let cover_ms = state.config.report.rules().interval_ms.saturating_mul(3);
    let keep_days = i64::from(state.config.retention.days);
    loop {
        tick.tick().await;
        let now_ms = now_ms();
        let not_before_ms = if keep_days == 0 {
            i64::MIN / 2
        } else {
            now_ms - keep_days * idlewatch_store::DAY_MS
        };
        let store = state.store.clone();
        let pending = tokio::task::spawn_blocking(move || {
            report::host_days::pending(&store, cover_ms, now_ms, not_before_ms)
        })
        .await;
        let pending = match flatten(pending) {
            Ok(pending) => pending,
            Err(e) => {
                warn!("cannot look for days to roll up, will retry next round: {e}");
                continue;
            }
        };
        for (host, days) in pending {
            for chunk in days.chunks(report::host_days::CHUNK_DAYS) {
                let (store, name, chunk) = (state.store.clone(), host.clone(), chunk.to_vec());
                let built = tokio::task::spawn_blocking(move || {
                    report::host_days::build(&store, &name, &chunk, cover_ms)
                })
                .await;
                match flatten(built) {
                    Ok(n) => {
                        state.metrics.host_days_built.inc_by(n as u64);
                    }
                    // The next PC's days may well be fine.
                    Err(e) => {
                        warn!("cannot roll up {host}'s days, will retry next round: {e}");
                        break;
                    }
                }
            }
        }
    }
}

/// A blocking task's result, whether the task or its work failed.
fn flatten<T>(
    joined: Result<Result<T, idlewatch_store::Error>, tokio::task::JoinError>,
) -> Result<T, String> {
    joined
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
}

/// The wall clock, epoch ms.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

/// Whose turn it is to poll the licence servers: this server's on its own; in a cluster, the
/// lead's, which tells the others each poll.
fn licence_turn(state: &AppState) -> licences::Turn {
    let (leads, told) = (state.clone(), state.clone());
    licences::Turn {
        leads: Box::new(move || leads.leads()),
        tell: Box::new(move |name, poll, interval| {
            if let Some(cluster) = told.cluster() {
                cluster.licence_poll(name, poll, interval);
            }
        }),
    }
}

/// What the alerts task reads, and its way to the dashboards.
fn alert_sources(io: &SocketIo, state: &AppState) -> alerts::run::Sources {
    let (io, shown) = (io.clone(), state.clone());
    alerts::run::Sources {
        store: state.store.clone(),
        registry: state.registry.clone(),
        groups: state.groups.clone(),
        directory: state.directory.clone(),
        licence_servers: state.licence_servers.clone(),
        started: state.started,
        time_zone: state.config.report.rules().time_zone,
        firing: state.metrics.alerts_firing.clone(),
        show: Box::new(move |alert| {
            socket::alert(&io, &shown, alert);
            if let Some(cluster) = shown.cluster() {
                cluster.alert(alert);
            }
        }),
        leads: {
            let state = state.clone();
            Box::new(move || state.leads())
        },
        // A leader alive tells within a second; one that died is replaced within a lease.
        untold_window: (state.config.cluster.lease * 3).max(Duration::from_secs(60)),
        shared: state.store.shared(),
    }
}

/// Serves `app` on `listener` (HTTPS when `tls` is given) until `shutdown` resolves, then
/// closes every socket and waits up to [`SHUTDOWN_GRACE`] for connections to finish.
///
/// # Errors
/// Only I/O errors of the listener itself.
pub async fn run(
    listener: TcpListener,
    tls: Option<Arc<tls::Tls>>,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = async {
        let _ = stop_rx.await;
    };
    let limits = &app.state.config.limits;
    let shed_state = app.state.clone();
    let options = serve::Options {
        header_timeout: limits.handshake_timeout,
        idle: serve::IdleConnections::new(limits.idle_connections_per_ip),
        on_shed: Arc::new(move || {
            shed_state.metrics.connections_shed.inc();
        }),
    };
    let router = app.router.clone();
    let server: Pin<Box<dyn Future<Output = ()> + Send>> = match tls {
        None => {
            // Small Socket.IO packets (acks, `registered`) must not wait for the peer's
            // delayed ACK.
            let listener = ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            Box::pin(serve::serve(listener, router, options, stopped))
        }
        Some(tls) => {
            // The TLS listener sets no-delay itself.
            let listener = tls::TlsListener::new(
                listener,
                tls,
                app.state.metrics.tls_handshakes_failed.clone(),
            )?;
            Box::pin(serve::serve(listener, router, options, stopped))
        }
    };
    tokio::pin!(server);
    let pruning = tokio::spawn(retention(app.state.clone()));
    let aging = tokio::spawn(age_snapshots(app.state.clone()));
    let rollups = tokio::spawn(host_day_rollups(app.state.clone()));
    let shared_tokens = tokio::spawn(follow_shared_tokens(app.state.clone()));
    let agent_lists = tokio::spawn(socket::agent_list_broadcaster(
        app.io.clone(),
        app.state.clone(),
    ));
    let uploads = tokio::spawn(sheets::schedule(app.state.sheets.clone(), {
        let state = app.state.clone();
        move || state.leads()
    }));
    let cluster = app.state.cluster().cloned();
    let clustered = match &cluster {
        Some(c) => tokio::spawn(c.clone().run(Arc::new(socket::cluster::Relayed::new(
            app.io.clone(),
            app.state.clone(),
        )))),
        None => tokio::spawn(std::future::pending()),
    };
    let disk = tokio::spawn(app.state.disk_floor.clone().watch());
    let resumes = tokio::spawn(socket::resume_paused(app.io.clone(), app.state.clone()));
    let revocations = tokio::spawn(socket::scoped::close_revoked(
        app.io.clone(),
        app.state.clone(),
    ));
    let licence_polls = tokio::spawn(
        app.state
            .licence_servers
            .clone()
            .poll_forever(licence_turn(&app.state)),
    );
    let seat_changes = tokio::spawn(seats::live::run(app.io.clone(), app.state.seats.clone()));
    let directory = tokio::spawn(app.state.directory.clone().run());
    let alerts = tokio::spawn(alerts::run::run(
        app.state.alerts.clone(),
        alert_sources(&app.io, &app.state),
    ));
    let background = [
        pruning,
        aging,
        rollups,
        shared_tokens,
        agent_lists,
        uploads,
        disk,
        resumes,
        revocations,
        licence_polls,
        alerts,
        seat_changes,
        directory,
        clustered,
    ];
    tokio::select! {
        () = &mut server => {
            background.iter().for_each(tokio::task::JoinHandle::abort);
            return Ok(());
        }
        () = shutdown => {}
    }
    background.iter().for_each(tokio::task::JoinHandle::abort);
    if let Some(cluster) = &cluster
        && tokio::time::timeout(SHUTDOWN_GRACE, cluster.leave())
            .await
            .is_err()
    {
        warn!("could not leave the cluster within {SHUTDOWN_GRACE:?}; its lease runs out");
    }
    info!("shutting down: closing sockets and finishing requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, app.io.close())
        .await
        .is_err()
    {
        warn!("sockets did not close within {SHUTDOWN_GRACE:?}");
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(()) => Ok(()),
        Err(_) => {
            warn!("connections still open after {SHUTDOWN_GRACE:?}; exiting anyway");
            Ok(())
        }
    }
}
