//! Why an upload failed, each variant one line a user can act on.

use idlewatch_protocol::api::SheetsFailure;

/// A failed upload.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SheetsError {
    /// The service-account key cannot be used, or Google's token endpoint refused it.
    #[error("{0}")]
    Credentials(String),
    /// Google answered a final 4xx (wrong id, not shared, bad request).
    #[error("{0}")]
    Refused(String),
    /// Google kept failing (429, 5xx) or could not be reached; the next run tries again.
    #[error("{0}")]
    Unreachable(String),
    /// Reading the store or saving the upload ledger failed.
    #[error("{0}")]
    Local(String),
}

impl SheetsError {
    /// A short stable name of the kind of failure, for the status API.
    #[must_use]
    pub fn kind(&self) -> SheetsFailure {
        match self {
            Self::Credentials(_) => SheetsFailure::Credentials,
            Self::Refused(_) => SheetsFailure::Refused,
            Self::Unreachable(_) => SheetsFailure::Unreachable,
            Self::Local(_) => SheetsFailure::Local,
        }
    }
}
