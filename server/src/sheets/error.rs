//! Why an upload failed: typed, each variant one line a user can act on, and a stable kind for
//! the status API.

use std::sync::Arc;
use std::time::Duration;

use idlewatch_protocol::api::SheetsFailure;

use super::credentials::CredentialsError;

/// A failed upload.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SheetsError {
    /// The service-account key file cannot be used.
    #[error(transparent)]
    Credentials(Arc<CredentialsError>),
    /// The key could not sign the token request.
    #[error("cannot sign the token request with the service-account key: {0}")]
    Signing(String),
    /// Google's token endpoint refused the key.
    #[error(
        "the token endpoint {endpoint} refused the service-account key of {account} ({status} \
         {reason}): the key may have been deleted or disabled (download a new one into \
         sheets.credentials_file), or this machine's clock is wrong"
    )]
    KeyRefused {
        /// The token endpoint.
        endpoint: String,
        /// The service account's email.
        account: String,
        /// The HTTP status.
        status: u16,
        /// Google's reason.
        reason: String,
    },
    /// Google answered a final 4xx (wrong id, not shared, bad request).
    #[error("{}", refusal(*.status, reason, spreadsheet, account))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Google's reason.
        reason: String,
        /// The spreadsheet's id.
        spreadsheet: String,
        /// The service account's email.
        account: String,
    },
    /// Google kept failing (429, 5xx) or could not be reached; the next run tries again.
    #[error("{what}: still failing after {attempts} attempts ({reason}); the next run tries again")]
    Exhausted {
        /// The request (`POST /v4/...`, or the token endpoint).
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// Google asked for a pause longer than one run may wait.
    #[error("{what}: Google asks to wait {}s ({reason}); the next run tries again", .wait.as_secs())]
    WaitTooLong {
        /// The request.
        what: String,
        /// The pause asked for.
        wait: Duration,
        /// The answer that asked for it.
        reason: String,
    },
    /// A success answer this client cannot read.
    #[error("{what}: unreadable answer: {detail}")]
    Unreadable {
        /// The request.
        what: String,
        /// What did not parse.
        detail: String,
    },
    /// `sheets.api_base` is not a usable URL.
    #[error("sheets.api_base {api_base:?} is not usable: {reason}")]
    ApiBase {
        /// The configured value.
        api_base: String,
        /// Why.
        reason: String,
    },
    /// The HTTP client cannot be built (the TLS roots, say).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// The upload ledger cannot be read or saved.
    #[error("{0}")]
    Ledger(String),
    /// The utilization rows cannot be computed from the store.
    #[error("cannot compute utilization: {0}")]
    Utilization(String),
}

/// One line naming the likely cause of a final 4xx.
fn refusal(status: u16, reason: &str, spreadsheet: &str, account: &str) -> String {
    match status {
        403 => format!(
            "Google refused access to spreadsheet {spreadsheet} ({status} {reason}): share the \
             spreadsheet with {account} as an Editor, and enable the Google Sheets API in the \
             service account's project"
        ),
        404 => format!(
            "spreadsheet {spreadsheet} was not found ({status} {reason}): check \
             sheets.spreadsheet_id (the part of the spreadsheet's address between /d/ and /edit)"
        ),
        401 => format!(
            "Google did not accept the access token for {account} ({status} {reason}): check \
             the service-account key and this machine's clock"
        ),
        _ => {
            format!("Google refused the request for spreadsheet {spreadsheet} ({status} {reason})")
        }
    }
}

impl SheetsError {
    /// A short stable name of the kind of failure, for the status API.
    #[must_use]
    pub fn kind(&self) -> SheetsFailure {
        match self {
            Self::Credentials(_) | Self::Signing(_) | Self::KeyRefused { .. } => {
                SheetsFailure::Credentials
            }
            Self::Refused { .. } => SheetsFailure::Refused,
            Self::Exhausted { .. } | Self::WaitTooLong { .. } | Self::Unreadable { .. } => {
                SheetsFailure::Unreachable
            }
            Self::ApiBase { .. } | Self::HttpClient(_) | Self::Ledger(_) | Self::Utilization(_) => {
                SheetsFailure::Local
            }
        }
    }
}

impl From<CredentialsError> for SheetsError {
    fn from(e: CredentialsError) -> Self {
        Self::Credentials(Arc::new(e))
    }
}
