//! The Google Sheets uploader's state: `GET /api/v1/exports/status`, the answer of
//! `POST /api/v1/exports/sheets`, and the `sheets` part of `GET /api/v1/status`.

use serde::{Deserialize, Serialize};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetsTrigger {
    /// The schedule.
    Schedule,
    /// `POST /api/v1/exports/sheets`.
    Request,
}

/// The kind of a failed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetsFailure {
    /// The service-account key cannot be used, or Google's token endpoint refused it.
    Credentials,
    /// Google answered a final 4xx (wrong id, not shared, bad request).
    Refused,
    /// Google kept failing (429, 5xx) or could not be reached.
    Unreachable,
    /// Reading the store or saving the upload ledger failed.
    Local,
}

/// A failed run's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetsRunError {
    /// Its kind.
    pub kind: SheetsFailure,
    /// One line naming the cause and what to do.
    pub message: String,
}

/// What one upload wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetsOutcome {
    /// Rows written to `Status` (one per host).
    pub hosts: usize,
    /// Rows appended to `Utilization`.
    pub utilization_rows: usize,
    /// Rows appended to `Licences` (one per watched app per day).
    #[serde(default)]
    pub licence_rows: usize,
    /// The last day appended, `YYYY-MM-DD`, when this run appended.
    pub appended_through: Option<String>,
    /// Tabs this run created.
    pub tabs_created: Vec<String>,
    /// Tabs this run gave the columns a newer version added.
    pub tabs_widened: Vec<String>,
}

/// Requests one run made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetsCounts {
    /// HTTP requests sent to the Sheets API (token requests not included).
    pub requests: u32,
    /// Of those, repeated attempts after a 429, 5xx or network failure.
    pub retries: u32,
    /// Requests to the token endpoint.
    pub token_requests: u32,
}

/// One run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetsRun {
    /// What started it.
    pub trigger: SheetsTrigger,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// Whether everything was written.
    pub ok: bool,
    /// Why not.
    pub error: Option<SheetsRunError>,
    /// What was written (empty on failure).
    #[serde(flatten)]
    pub outcome: SheetsOutcome,
    /// Requests sent.
    #[serde(flatten)]
    pub counts: SheetsCounts,
}

/// The answer of `GET /api/v1/exports/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetsStatusAnswer {
    /// The Google Sheets uploader's state.
    pub sheets: SheetsStatus,
}

/// The uploader's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetsStatus {
    /// Whether uploads are configured.
    pub enabled: bool,
    /// The spreadsheet.
    pub spreadsheet_id: Option<String>,
    /// The service account the spreadsheet must be shared with.
    pub service_account: Option<String>,
    /// Seconds between scheduled runs.
    pub interval_seconds: u64,
    /// Whether a run is in progress.
    pub running: bool,
    /// Runs since start.
    pub runs: u64,
    /// Failed runs since start.
    pub failures: u64,
    /// When the last successful run started.
    pub last_success_at: Option<String>,
    /// The last run.
    pub last_run: Option<SheetsRun>,
}
