//! Idle time: seconds since the user last touched keyboard or mouse.

use tracing::warn;

/// One reading.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleReading {
    /// Seconds since the last input; `None` when unknown.
    pub seconds: Option<f64>,
    /// Where it came from (`x11`, `mutter`, `user-idle`), or why it is unknown.
    pub source: String,
}

/// A source of idle time.
pub trait IdleSource: Send {
    /// Short name for logs.
    fn name(&self) -> &'static str;
    /// The current idle time.
    fn idle(&mut self) -> IdleReading;
}

/// No source works here: idle time is unknown, and the reason is logged once.
pub struct NoIdle {
    why: String,
    logged: bool,
}

impl NoIdle {
    /// With the reason.
    #[must_use]
    pub fn new(why: String) -> Self {
        Self { why, logged: false }
    }
}

impl IdleSource for NoIdle {
    fn name(&self) -> &'static str {
        "none"
    }

    fn idle(&mut self) -> IdleReading {
        if !self.logged {
            self.logged = true;
            warn!("idle time unknown: {}; idle_seconds will be null", self.why);
        }
        IdleReading {
            seconds: None,
            source: format!("unavailable: {}", self.why),
        }
    }
}

/// macOS, through the user-idle crate.
#[cfg(target_os = "macos")]
pub struct UserIdle;

#[cfg(target_os = "macos")]
impl IdleSource for UserIdle {
    fn name(&self) -> &'static str {
        "user-idle"
    }

    fn idle(&mut self) -> IdleReading {
        match user_idle::UserIdle::get_time() {
            Ok(t) => IdleReading {
                seconds: Some(t.as_seconds() as f64),
                source: "user-idle".to_owned(),
            },
            Err(e) => IdleReading {
                seconds: None,
                source: format!("unavailable: {e}"),
            },
        }
    }
}
