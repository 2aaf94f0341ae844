//! Google Sheets uploads (REST v4 over reqwest, no Google SDK): a `Status` tab rewritten with
//! one row per host and a `Utilization` tab appended with one row per host per completed day,
//! every `sheets.interval` and on demand (`POST /api/v1/exports/sheets`).
//!
//! Uploads run on their own task, one at a time, and only read the live state and the store:
//! a slow or failing Google never delays ingest. The last result is kept for
//! `GET /api/v1/exports/status`.
//!
//! - [`credentials`]: the service-account key and the signed token request;
//! - [`client`]: the cached access token and requests with retries;
//! - [`retry`]: what is retried and how long to wait;
//! - [`rows`]: the rows of both tabs;
//! - [`ledger`]: the last appended day, so no day is appended twice;
//! - [`run`]: one upload in a constant number of requests.

pub mod client;
pub mod credentials;
pub mod error;
pub mod ledger;
pub mod retry;
pub mod rows;
pub mod run;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tracing::{error, info};

use self::client::Google;
use self::credentials::ServiceAccount;
pub use self::error::SheetsError;
use crate::config::Config;
use crate::groups::HostGroups;
use crate::registry::HostRegistry;
use crate::report::usage::Rules;
use crate::stores::Stores;
use idlewatch_protocol::time::rfc3339;

use idlewatch_protocol::api::{
    SheetsCounts, SheetsOutcome, SheetsRun, SheetsRunError, SheetsStatus, SheetsTrigger,
};

/// What an upload reads: the live hosts, the store, the report rules and the groups.
#[derive(Clone)]
pub struct Sources {
    /// Latest state per host (the `Status` tab).
    pub registry: Arc<HostRegistry>,
    /// The stored summaries (the `Utilization` tab).
    pub store: Stores,
    /// How utilization is counted.
    pub rules: Rules,
    /// Each host's group.
    pub groups: HostGroups,
}

/// The uploader: configuration, the Google client, what it reads, and the status of its runs.
pub struct Sheets {
    config: crate::config::SheetsConfig,
    sources: Sources,
    ledger_path: PathBuf,
    google: Option<Result<Google, SheetsError>>,
    one_at_a_time: tokio::sync::Mutex<()>,
    status: Mutex<SheetsStatus>,
}

impl Sheets {
    /// The uploader for `config` (disabled unless `sheets.enabled`). A key that cannot be used
    /// is kept as [`Self::setup_error`]: the server refuses to start with it.
    #[must_use]
    pub fn new(config: &Config, sources: Sources) -> Self {
        let sheets = &config.sheets;
        let google = sheets.enabled.then(|| {
            let account = ServiceAccount::load(&sheets.credentials_path(&config.data_dir))
                .map_err(SheetsError::from)?;
            Google::new(
                account,
                &sheets.api_base,
                &sheets.spreadsheet_id,
                sheets.request_timeout,
                sheets.max_attempts,
            )
        });
        let status = SheetsStatus {
            enabled: sheets.enabled,
            spreadsheet_id: sheets.enabled.then(|| sheets.spreadsheet_id.clone()),
            service_account: google
                .as_ref()
                .and_then(|g| g.as_ref().ok())
                .map(|g| g.account_email().to_owned()),
            interval_seconds: sheets.interval.as_secs(),
            running: false,
            runs: 0,
            failures: 0,
            last_success_at: None,
            last_run: None,
        };
        Self {
            config: sheets.clone(),
            sources,
            ledger_path: config.data_dir.join(ledger::FILE_NAME),
            google,
            one_at_a_time: tokio::sync::Mutex::new(()),
            status: Mutex::new(status),
        }
    }

    /// Why uploads cannot work with this configuration, if they cannot.
    #[must_use]
    pub fn setup_error(&self) -> Option<&SheetsError> {
        self.google.as_ref().and_then(|g| g.as_ref().err())
    }

    /// Whether uploads are configured.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.google.is_some()
    }

    /// The status for the API.
    #[must_use]
    pub fn status(&self) -> SheetsStatus {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut SheetsStatus)) {
        f(&mut self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// Runs one upload now (after the one in progress, if any); `None` when disabled.
    pub async fn run_once(&self, trigger: SheetsTrigger) -> Option<SheetsRun> {
        let google = match self.google.as_ref()? {
            Ok(g) => g,
            Err(e) => {
                return Some(self.finish(
                    trigger,
                    SystemTime::now(),
                    Instant::now(),
                    SheetsCounts::default(),
                    Err(e.clone()),
                ));
            }
        };
        let _turn = self.one_at_a_time.lock().await;
        self.update(|s| s.running = true);
        let (started_at, started) = (SystemTime::now(), Instant::now());
        google.take_counts();
        let result = run::upload(google, &self.sources, &self.config, &self.ledger_path).await;
        let counts = google.take_counts();
        Some(self.finish(trigger, started_at, started, counts, result))
    }

    fn finish(
        &self,
        trigger: SheetsTrigger,
        started_at: SystemTime,
        started: Instant,
        counts: SheetsCounts,
        result: Result<SheetsOutcome, SheetsError>,
    ) -> SheetsRun {
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let report = match result {
            Ok(outcome) => {
                info!(
                    hosts = outcome.hosts,
                    utilization_rows = outcome.utilization_rows,
                    licence_rows = outcome.licence_rows,
                    requests = counts.requests,
                    retries = counts.retries,
                    "Sheets upload done in {duration_ms} ms"
                );
                SheetsRun {
                    trigger,
                    started_at: rfc3339(started_at),
                    duration_ms,
                    ok: true,
                    error: None,
                    outcome,
                    counts,
                }
            }
            Err(e) => {
                error!("Sheets upload failed: {e}");
                SheetsRun {
                    trigger,
                    started_at: rfc3339(started_at),
                    duration_ms,
                    ok: false,
                    error: Some(SheetsRunError {
                        kind: e.kind(),
                        message: e.to_string(),
                    }),
                    outcome: SheetsOutcome::default(),
                    counts,
                }
            }
        };
        self.update(|s| {
            s.running = false;
            s.runs += 1;
            if report.ok {
                s.last_success_at = Some(report.started_at.clone());
            } else {
                s.failures += 1;
            }
            s.last_run = Some(report.clone());
        });
        report
    }
}

/// Runs an upload every `sheets.interval` (the first one interval after start) until aborted.
pub async fn schedule(sheets: Arc<Sheets>, leads: impl Fn() -> bool) {
    if !sheets.enabled() {
        return std::future::pending().await;
    }
    let period = sheets.config.interval;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if leads() {
            sheets.run_once(SheetsTrigger::Schedule).await;
        } else {
            tracing::debug!(
                "scheduled Google Sheets upload left to the server leading the cluster"
            );
        }
    }
}
