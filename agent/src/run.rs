//! The agent's main loop: every interval, collect on a blocking thread, merge in what the
//! session helpers report ([`crate::session`]), build the snapshot, spool it, and wake the
//! sender.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Notify;
use tracing::{error, info, warn};

use crate::collect::Collectors;
use crate::config::AgentConfig;
use crate::identity::Identity;
use crate::sender::{self, Registration};
use crate::session::channel::Hub;
use crate::session::merge::{Helpers, LoggedOn, merge};
use crate::session::report::HelperSettings;
use crate::session::{os, transport};
use crate::snapshot::{self, SnapshotParts};
use crate::spool::Spool;
use crate::watch::{self, WatchRule};
use idlewatch_protocol::time::now_ms;

/// The collecting half: sources, rules and who we are.
struct Collector {
    collectors: Collectors,
    rules: Vec<WatchRule>,
    host: String,
    os: String,
    group: Option<String>,
    idle_threshold: f64,
    busy_cpu: f64,
    collect_titles: bool,
}

/// The machine's host name, or the configured one.
fn host_name(config: &AgentConfig) -> String {
    config
        .host
        .clone()
        .or_else(|| sysinfo::System::host_name().ok())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

fn os_name() -> String {
    sysinfo::System::long_os_version()
        .ok()
        .unwrap_or_else(|| std::env::consts::OS.to_owned())
}

impl Collector {
    fn new(config: &AgentConfig) -> Result<Self, String> {
        Ok(Self {
            collectors: Collectors::detect()?,
            rules: watch::rules(&config.watch),
            host: host_name(config),
            os: os_name(),
            group: config.group.clone(),
            idle_threshold: config.idle_threshold.as_secs_f64(),
            busy_cpu: config.busy_cpu,
            collect_titles: config.collect_titles,
        })
    }

    /// One snapshot's JSON text: processes from this process, idle time, foreground and
    /// session from the helpers' reports (or this process's own sources, see
    /// [`crate::session::merge`]).
    fn snapshot(
        &mut self,
        agent_id: &str,
        seq: u64,
        captured_ms: i64,
        session: &SessionInput<'_>,
    ) -> String {
        let sample = self.collectors.processes.sample();
        let titles = self.collect_titles;
        let merged = {
            let helpers = session
                .helpers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let collectors = &mut self.collectors;
            merge(
                &helpers,
                Instant::now(),
                session.max_age,
                &session.logged_on,
                || {
                    (
                        collectors.idle.idle(),
                        collectors.foreground.foreground(titles),
                    )
                },
            )
        };
        let idle = merged.idle;
        let foreground = merged.foreground;
        // Unknown idle time (no display): nobody is at the keyboard, as the Python agent said.
        let user_active = idle.seconds.is_some_and(|s| s < self.idle_threshold);
        let watched = watch::evaluate(
            &self.rules,
            &sample.processes,
            foreground.as_ref().map(|f| f.pid),
            user_active,
            self.busy_cpu,
        );
        let parts = SnapshotParts {
            host: &self.host,
            group: self.group.as_deref(),
            agent_id,
            seq,
            captured_ms,
            os: &self.os,
            idle: &idle,
            user_active,
            sample: &sample,
            foreground: foreground.as_ref(),
            watched: &watched,
            session: merged.session.as_ref(),
        };
        serde_json::to_string(&snapshot::build(&parts)).unwrap_or_default()
    }
}

/// What a snapshot's session part is made of.
struct SessionInput<'a> {
    helpers: &'a Mutex<Helpers>,
    logged_on: LoggedOn,
    /// A helper silent longer than this (two intervals) no longer counts.
    max_age: Duration,
}

/// Opens the local channel the session helpers connect to; without it (another agent holds
/// it, no permission) the agent runs on its own sources, as before the helpers existed.
fn open_channel(
    config: &AgentConfig,
    helpers: &Arc<Mutex<Helpers>>,
) -> Option<tokio::task::JoinHandle<()>> {
    let settings = HelperSettings {
        interval_ms: u64::try_from(config.interval.as_millis()).unwrap_or(5_000),
        collect_titles: config.collect_titles,
    };
    let hub = Hub::new(helpers.clone(), settings, crate::collect::owner_lookup());
    match transport::bind(&config.session_channel) {
        Ok(listener) => {
            info!(channel = %config.session_channel.display(), "session helpers may connect");
            Some(tokio::spawn(transport::accept(listener, hub)))
        }
        Err(e) => {
            warn!(
                channel = %config.session_channel.display(),
                "session helpers cannot connect ({e}); this agent reads idle time itself"
            );
            None
        }
    }
}

/// Takes one snapshot and returns its JSON (for `--once`): samples twice, a quarter second
/// apart, so CPU figures mean something. Touches no spool.
///
/// # Errors
/// When the async runtime cannot be used for the idle source.
pub async fn collect_once(config: &AgentConfig) -> anyhow::Result<String> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        let mut collector = Collector::new(&config).map_err(anyhow::Error::msg)?;
        collector.collectors.processes.sample();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(250)));
        let helpers = Mutex::new(Helpers::default());
        let session = SessionInput {
            helpers: &helpers,
            logged_on: LoggedOn::Unknown,
            max_age: config.interval * 2,
        };
        Ok(collector.snapshot("once", 0, now_ms(), &session))
    })
    .await
    .context("the collector thread failed")?
}

/// Runs the agent until `shutdown` resolves.
///
/// # Errors
/// When the spool dir or the agent identity cannot be used (with what to fix).
pub async fn run(
    config: AgentConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    // An unusable CA file stops the agent now, not at every reconnection.
    let tls = if config.servers().iter().any(|s| s.starts_with("https://")) {
        Some(idlewatch_client::client_config(config.ca_file.as_deref())?)
    } else {
        if let Some(ca) = &config.ca_file {
            warn!(
                "ca_file {} is not used: no server URL is https:// ({})",
                ca.display(),
                config.server
            );
        }
        None
    };
    let spool = Spool::open(
        &config.spool_dir,
        config.spool_max_bytes,
        config.spool_max_age,
    )?;
    let mut identity =
        Identity::load_or_create(&config.spool_dir, spool.highest_seq().map_or(0, |s| s + 1))?;
    if !spool.is_empty() {
        info!(
            waiting = spool.len(),
            "unsent snapshots found in the spool; they go first"
        );
    }
    let spool_dir = spool.dir().to_owned();
    let spool = Arc::new(Mutex::new(spool));
    let wake = Arc::new(Notify::new());
    let setup = config.clone();
    let mut collector = tokio::task::spawn_blocking(move || Collector::new(&setup))
        .await
        .context("the collector thread failed")?
        .map_err(anyhow::Error::msg)?;
    let registration = Registration {
        host: collector.host.clone(),
        agent_id: identity.agent_id.clone(),
        os: collector.os.clone(),
    };
    info!(host = %registration.host, server = %config.server, interval = ?config.interval, "agent started");
    let sender = tokio::spawn(sender::run(
        config.clone(),
        tls,
        registration,
        spool.clone(),
        wake.clone(),
    ));
    let helpers = Arc::new(Mutex::new(Helpers::default()));
    let channel = open_channel(&config, &helpers);
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => {}
        }
        let seq = match identity.take_seq() {
            Ok(seq) => seq,
            Err(e) => {
                error!("cannot record the snapshot counter, skipping this snapshot: {e}");
                continue;
            }
        };
        let agent_id = identity.agent_id.clone();
        let captured_ms = now_ms();
        let logged_on = os::logged_on().await;
        let helpers = helpers.clone();
        let max_age = config.interval * 2;
        let dir = spool_dir.clone();
        // Collecting and the durable (fsync'd) write of the snapshot's file both run off the
        // async thread; the spool's lock, which the sender shares, is taken only to record it.
        let (back, written) = tokio::task::spawn_blocking(move || {
            let session = SessionInput {
                helpers: &helpers,
                logged_on,
                max_age,
            };
            let json = collector.snapshot(&agent_id, seq, captured_ms, &session);
            (collector, Spool::write(&dir, seq, captured_ms, &json))
        })
        .await
        .context("the collector thread failed")?;
        collector = back;
        match written {
            Ok(written) => {
                spool
                    .lock()
                    .map_err(|_| anyhow::anyhow!("spool lock poisoned"))?
                    .record(written, captured_ms);
                wake.notify_one();
            }
            Err(e) => error!("snapshot {seq} lost: {e}"),
        }
    }
    sender.abort();
    if let Some(channel) = channel {
        channel.abort();
    }
    info!(
        "agent stopped; {} snapshots wait in the spool",
        spool.lock().map_or(0, |s| s.len())
    );
    Ok(())
}
