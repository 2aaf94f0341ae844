//! `[retention]`: how long snapshots are kept whole, then as minutes, then as hours of day rows,
//! and kept at all, how
//! often settled days are rolled up, and how a snapshot is stored against the previous one.

use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Snapshots received more than this many days ago are deleted (0 keeps everything).
    pub days: u32,
    /// How often settled days are looked for and rolled up per host for the licence views.
    #[serde(with = "duration")]
    pub rollup_every: Duration,
    /// How a snapshot is stored against the host's previous one.
    pub deltas: Deltas,
    /// Snapshots captured longer ago than this are folded into per-minute rows and their
    /// process lists dropped (`None`: kept whole until `days` deletes them).
    #[serde(default, with = "duration::optional")]
    pub snapshots: Option<Duration>,
    /// Minute rows of days older than this are deleted, their day rows (hour by hour) kept
    /// (`None`: minute rows are kept until `days` deletes them). Needs `snapshots`.
    #[serde(default, with = "duration::optional")]
    pub minutes: Option<Duration>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            days: 90,
            rollup_every: Duration::from_secs(600),
            deltas: Deltas::Zstd,
            snapshots: None,
            minutes: None,
        }
    }
}

/// `retention.deltas`: how a snapshot is stored against the host's previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deltas {
    /// zstd with the previous snapshot as dictionary.
    Zstd,
    /// What changed in the process table (smaller, more CPU per snapshot).
    Structural,
}

impl Deltas {
    /// The store's setting.
    #[must_use]
    pub fn kind(self) -> idlewatch_store::DeltaKind {
        match self {
            Self::Zstd => idlewatch_store::DeltaKind::Zstd,
            Self::Structural => idlewatch_store::DeltaKind::Structural,
        }
    }
}

impl RetentionConfig {
    /// Refuses settings that make no sense together.
    pub(super) fn check(&self) -> Result<(), Error> {
        if self.rollup_every < Duration::from_secs(1) {
            return Err(Error::Invalid(format!(
                "retention.rollup_every = {:?} is too short; give at least \"1s\" (default \"10m\")",
                self.rollup_every
            )));
        }
        if let Some(snapshots) = self.snapshots {
            let days = Duration::from_secs(u64::from(self.days) * 86_400);
            if snapshots < Duration::from_secs(2 * 86_400) {
                return Err(Error::Invalid(format!(
                    "retention.snapshots = {snapshots:?} is too short; give at least \"2d\", \
                     e.g. \"14d\": a day is rolled up for the licence views and snapshots \
                     spooled through an outage are counted only before their hour is folded"
                )));
            }
            if self.days != 0 && snapshots >= days {
                return Err(Error::Invalid(format!(
                    "retention.snapshots = {snapshots:?} is not shorter than retention.days = {}: \
                     snapshots would be deleted before they are folded into minutes; shorten \
                     snapshots or lengthen days",
                    self.days
                )));
            }
        }
        if let Some(minutes) = self.minutes {
            let Some(snapshots) = self.snapshots else {
                return Err(Error::Invalid(format!(
                    "retention.minutes = {minutes:?} needs retention.snapshots: minute rows are \
                     made only from snapshots folded when they are older than that; set e.g. \
                     snapshots = \"14d\", or remove minutes"
                )));
            };
            if minutes < snapshots + Duration::from_secs(2 * 86_400) {
                return Err(Error::Invalid(format!(
                    "retention.minutes = {minutes:?} is not at least two days longer than \
                     retention.snapshots = {snapshots:?}: minute rows are deleted only from days \
                     folded whole, which takes the day after snapshots; lengthen minutes (e.g. \
                     \"400d\")"
                )));
            }
            let days = Duration::from_secs(u64::from(self.days) * 86_400);
            if self.days != 0 && minutes >= days {
                return Err(Error::Invalid(format!(
                    "retention.minutes = {minutes:?} is not shorter than retention.days = {}: \
                     minute rows would be deleted with everything else first; shorten minutes \
                     or lengthen days (0 keeps the day rows until deleted by hand)",
                    self.days
                )));
            }
        }
        Ok(())
    }
}
