//! `[sheets]`: the Google Sheets upload's settings and their checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// `[sheets]`: the Google Sheets upload (a `Status` tab rewritten and a `Utilization` tab
/// appended each run).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SheetsConfig {
    /// Upload on a schedule (and allow `POST /api/v1/exports/sheets`).
    pub enabled: bool,
    /// The spreadsheet's id: the long part of its address between `/d/` and `/edit`.
    pub spreadsheet_id: String,
    /// The service account's key file (`credentials.json`, as downloaded from Google Cloud);
    /// a relative path is taken from the data dir.
    pub credentials_file: PathBuf,
    /// Where the Sheets API lives; the client appends `/v4/spreadsheets/...`.
    pub api_base: String,
    /// Time between two scheduled uploads.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Longest one HTTP request to Google may take.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Attempts per request when Google answers 429 or 5xx or cannot be reached.
    pub max_attempts: u32,
    /// Completed days appended to `Utilization` on the first upload (and at most per run).
    pub backfill_days: u32,
    /// Name of the tab rewritten with one row per host.
    pub status_tab: String,
    /// Name of the tab that gets one row per host per completed day.
    pub utilization_tab: String,
    /// Name of the tab that gets one row per watched app per completed day (its peak seats).
    pub licences_tab: String,
}

impl Default for SheetsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            spreadsheet_id: String::new(),
            credentials_file: PathBuf::from("credentials.json"),
            api_base: "https://sheets.googleapis.com".to_owned(),
            interval: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            max_attempts: 5,
            backfill_days: 7,
            status_tab: "Status".to_owned(),
            utilization_tab: "Utilization".to_owned(),
            licences_tab: "Licences".to_owned(),
        }
    }
}

impl SheetsConfig {
    /// The credentials file, relative paths taken from `data_dir`.
    #[must_use]
    pub fn credentials_path(&self, data_dir: &Path) -> PathBuf {
        if self.credentials_file.is_absolute() {
            self.credentials_file.clone()
        } else {
            data_dir.join(&self.credentials_file)
        }
    }

    pub(super) fn check(&self) -> Result<(), Error> {
        if !self.enabled {
            return Ok(());
        }
        let bad = |m: String| Err(Error::Invalid(m));
        if self.spreadsheet_id.trim().is_empty() {
            return bad(
                "sheets.enabled is true but sheets.spreadsheet_id is empty; copy the id \
                 from the spreadsheet's address (between /d/ and /edit)"
                    .to_owned(),
            );
        }
        if !self.api_base.starts_with("http://") && !self.api_base.starts_with("https://") {
            return bad(format!(
                "sheets.api_base {:?} is not an http(s) address; leave it unset for Google",
                self.api_base
            ));
        }
        if self.interval < Duration::from_secs(1) || self.request_timeout < Duration::from_secs(1) {
            return bad(
                "sheets.interval and sheets.request_timeout must be at least 1s".to_owned(),
            );
        }
        if self.max_attempts == 0 {
            return bad("sheets.max_attempts must be at least 1".to_owned());
        }
        let tabs = [&self.status_tab, &self.utilization_tab, &self.licences_tab];
        if tabs.iter().any(|t| t.trim().is_empty() || t.contains('\''))
            || tabs[0] == tabs[1]
            || tabs[0] == tabs[2]
            || tabs[1] == tabs[2]
        {
            return bad(format!(
                "sheets.status_tab {:?}, sheets.utilization_tab {:?} and sheets.licences_tab {:?} \
                 must be three different non-empty names without an apostrophe",
                self.status_tab, self.utilization_tab, self.licences_tab
            ));
        }
        Ok(())
    }
}
