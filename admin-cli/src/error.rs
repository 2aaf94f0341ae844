//! The command line's errors: each one line saying what to do, and its exit status.

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line itself is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The command could not be done (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The process exit status.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
        }
    }
}

/// Shorthand for a failure.
pub fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}
