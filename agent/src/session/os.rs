//! The operating system's view of user sessions, per platform: [`logged_on`] for the service
//! and [`own_session`] for a helper.

pub use super::merge::LoggedOn;

/// A helper's own session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSession {
    /// Its user.
    pub user: Option<String>,
    /// When the user logged on, epoch ms.
    pub since_ms: Option<i64>,
    /// Whether it is the session at the screen and keyboard.
    pub active: bool,
}

#[cfg(target_os = "linux")]
pub use super::os_linux::{logged_on, own_session};
#[cfg(windows)]
pub use super::os_windows::{logged_on, own_session};

/// Elsewhere the system is not asked.
#[cfg(not(any(target_os = "linux", windows)))]
pub async fn logged_on() -> LoggedOn {
    LoggedOn::Unknown
}

/// Elsewhere: the user from the environment, active.
#[cfg(not(any(target_os = "linux", windows)))]
pub async fn own_session() -> OwnSession {
    OwnSession {
        user: std::env::var("USER").ok(),
        since_ms: None,
        active: true,
    }
}
