//! The foreground window: which process owns it, and (only when asked) its title.

/// The window in the foreground.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreground {
    /// Its process.
    pub pid: u32,
    /// Its title, when titles are collected.
    pub title: Option<String>,
}

/// A source of the foreground window.
pub trait ForegroundSource: Send {
    /// Short name for logs.
    fn name(&self) -> &'static str;
    /// The foreground window now, if any can be known.
    fn foreground(&mut self, with_title: bool) -> Option<Foreground>;
}

/// No source works here.
pub struct NoForeground {
    why: String,
}

impl NoForeground {
    /// With the reason.
    #[must_use]
    pub fn new(why: impl Into<String>) -> Self {
        Self { why: why.into() }
    }

    /// Why there is no source.
    #[must_use]
    pub fn why(&self) -> &str {
        &self.why
    }
}

impl ForegroundSource for NoForeground {
    fn name(&self) -> &'static str {
        "none"
    }

    fn foreground(&mut self, _with_title: bool) -> Option<Foreground> {
        None
    }
}
