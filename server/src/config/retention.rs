//! `[retention]`: how long snapshots are kept whole, then as minutes, then as hours of day rows,
//! and kept at all, how often settled days are rolled up, and how a snapshot is stored against
//! the previous one. The tiers have defaults (14 days whole, 400 days of minutes, day rows kept)
//! that step aside where an explicit `days` would delete before them, so a file written for the
//! one-tier retention (`days = 90`) reads as it did, with snapshots folded after 14 days.

use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Snapshots, minute rows and hours of day rows older than this many days are deleted (0,
    /// the default, keeps day rows until deleted by hand).
    pub days: u32,
    /// How often settled days are looked for and rolled up per host for the licence views.
    #[serde(with = "duration")]
    pub rollup_every: Duration,
    /// How a snapshot is stored against the host's previous one.
    pub deltas: Deltas,
    /// Snapshots captured longer ago than this are folded into per-minute rows and their
    /// process lists dropped, as given (`None`: not given, see [`Self::snapshots`]; zero: kept
    /// whole until `days` deletes them).
    #[serde(default, with = "duration::optional")]
    snapshots: Option<Duration>,
    /// Minute rows of days older than this are deleted, their day rows (hour by hour) kept, as
    /// given (`None`: not given, see [`Self::minutes`]; zero: kept until `days` deletes them).
    #[serde(default, with = "duration::optional")]
    minutes: Option<Duration>,
}

/// `snapshots` when not given: two weeks of process lists.
pub const DEFAULT_SNAPSHOTS: Duration = Duration::from_secs(14 * 86_400);
/// `minutes` when not given: a year and a bit of minute rows, to compare a semester with the
/// same one a year before.
pub const DEFAULT_MINUTES: Duration = Duration::from_secs(400 * 86_400);
/// How much longer than `snapshots` `minutes` must be: minute rows are deleted only from days
/// folded whole, which takes the day after `snapshots`.
const MINUTES_MARGIN: Duration = Duration::from_secs(2 * 86_400);

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            days: 0,
            rollup_every: Duration::from_secs(600),
            deltas: Deltas::Structural,
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
    /// How long snapshots are kept whole before they are folded into minute rows (`None`:
    /// never folded). Not given, [`DEFAULT_SNAPSHOTS`] unless `days` deletes sooner.
    #[must_use]
    pub fn snapshots(&self) -> Option<Duration> {
        match self.snapshots {
            Some(given) => (!given.is_zero()).then_some(given),
            None => self
                .before_days(DEFAULT_SNAPSHOTS)
                .then_some(DEFAULT_SNAPSHOTS),
        }
    }

    /// How long minute rows are kept before only the day rows remain (`None`: until `days`
    /// deletes them). Not given, [`DEFAULT_MINUTES`] where snapshots are folded, `days` does
    /// not delete sooner and it is far enough past `snapshots`.
    #[must_use]
    pub fn minutes(&self) -> Option<Duration> {
        match self.minutes {
            Some(given) => (!given.is_zero()).then_some(given),
            None => {
                let snapshots = self.snapshots()?;
                (self.before_days(DEFAULT_MINUTES)
                    && DEFAULT_MINUTES >= snapshots.saturating_add(MINUTES_MARGIN))
                .then_some(DEFAULT_MINUTES)
            }
        }
    }

    /// After how long `days` deletes everything (`None`: day rows are kept).
    #[must_use]
    pub fn deleted_after(&self) -> Option<Duration> {
        (self.days > 0).then(|| Duration::from_secs(u64::from(self.days) * 86_400))
    }

    /// Whether `keep` ends before `days` deletes.
    fn before_days(&self, keep: Duration) -> bool {
        self.deleted_after().is_none_or(|days| keep < days)
    }

    /// Refuses settings that make no sense together (only tiers given explicitly: the defaults
    /// step aside instead).
    pub(super) fn check(&self) -> Result<(), Error> {
        if self.rollup_every < Duration::from_secs(1) {
            return Err(Error::Invalid(format!(
                "retention.rollup_every = {:?} is too short; give at least \"1s\" (default \"10m\")",
                self.rollup_every
            )));
        }
        if let Some(snapshots) = self.snapshots.filter(|s| !s.is_zero()) {
            if snapshots < Duration::from_secs(2 * 86_400) {
                return Err(Error::Invalid(format!(
                    "retention.snapshots = {snapshots:?} is too short; give at least \"2d\", \
                     e.g. \"14d\": a day is rolled up for the licence views and snapshots \
                     spooled through an outage are counted only before their hour is folded"
                )));
            }
            if !self.before_days(snapshots) {
                return Err(Error::Invalid(format!(
                    "retention.snapshots = {snapshots:?} is not shorter than retention.days = {}: \
                     snapshots would be deleted before they are folded into minutes; shorten \
                     snapshots or lengthen days",
                    self.days
                )));
            }
        }
        if let Some(minutes) = self.minutes.filter(|m| !m.is_zero()) {
            let Some(snapshots) = self.snapshots() else {
                return Err(Error::Invalid(format!(
                    "retention.minutes = {minutes:?} needs snapshots folded into minutes: minute \
                     rows are made only from snapshots older than retention.snapshots, which is \
                     \"0\" or (not given) longer than days; set e.g. snapshots = \"14d\", or \
                     remove minutes"
                )));
            };
            if minutes < snapshots.saturating_add(MINUTES_MARGIN) {
                return Err(Error::Invalid(format!(
                    "retention.minutes = {minutes:?} is not at least two days longer than \
                     retention.snapshots = {snapshots:?}: minute rows are deleted only from days \
                     folded whole, which takes the day after snapshots; lengthen minutes (e.g. \
                     \"400d\")"
                )));
            }
            if !self.before_days(minutes) {
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
