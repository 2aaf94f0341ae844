//! One warning when a use of Redis starts failing and one line when it works again, rather
//! than one per attempt (several a second while Redis is away).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use tracing::{info, warn};

/// Whether one use of Redis (named by `what`) is failing.
#[derive(Debug)]
pub struct Outage {
    what: &'static str,
    failing: AtomicBool,
}

impl Outage {
    /// For the use described by `what` ("hold the lead", "publish this server's events").
    #[must_use]
    pub const fn new(what: &'static str) -> Self {
        Self {
            what,
            failing: AtomicBool::new(false),
        }
    }

    /// An attempt failed with `error`: warns if the previous one worked.
    pub fn failed(&self, error: &dyn std::fmt::Display) {
        if !self.failing.swap(true, Relaxed) {
            warn!(
                "cannot reach the cluster's Redis to {} ({error}); trying again until it answers",
                self.what
            );
        }
    }

    /// An attempt worked: says so if the previous one failed.
    pub fn worked(&self) {
        if self.failing.swap(false, Relaxed) {
            info!("the cluster's Redis answers again: {} works", self.what);
        }
    }
}
