//! The writer's background work between group commits, a small transaction at a time:
//! deletions, retention, aging and gathering summary hours.

use std::time::Instant;

use idlewatch_protocol::time::now_ms;
use tracing::{debug, error, info};

use super::{Aged, HOURS_EVERY, Journal};
use crate::Error;
use crate::summary_hours::HourBuilder;

impl Journal {
    pub(super) fn delete_step(&mut self) {
        if self.failure.is_some() {
            return;
        }
        let Some((deleter, _)) = self.deletions.front_mut() else {
            return;
        };
        let result = self.db.get().and_then(|db| deleter.step(&db));
        // Records and cursors changed under the writer's cache.
        self.writer.forget();
        match result {
            Ok(true) => {}
            Ok(false) => {
                if let Some((deleter, done)) = self.deletions.pop_front() {
                    done(Ok(deleter.removed()));
                }
            }
            Err(e) => {
                if let Some((_, done)) = self.deletions.pop_front() {
                    done(Err(e));
                }
            }
        }
    }

    pub(super) fn age_step(&mut self) {
        if self.failure.is_some() {
            return;
        }
        let Some((ager, _)) = self.ager.as_mut() else {
            return;
        };
        let removed = ager.removed();
        let result = self.db.get().and_then(|db| ager.step(&db));
        if ager.removed() != removed {
            // A sweep rewrote records under the writer's cache.
            self.writer.forget();
        }
        match result {
            Ok(true) => {}
            Ok(false) => {
                if let Some((ager, done)) = self.ager.take() {
                    let aged = Aged {
                        folded_hours: ager.folded_hours(),
                        removed: ager.removed(),
                        trimmed_hours: ager.trimmed_hours(),
                    };
                    if aged.trimmed_hours > 0 {
                        info!(
                            "aging: deleted {} host-hours of minutes kept as day rows",
                            aged.trimmed_hours
                        );
                    }
                    if aged.folded_hours > 0 {
                        info!(
                            "aging: folded {} host-hours into minutes, deleted {} records",
                            aged.folded_hours, aged.removed
                        );
                    }
                    done(Ok(aged));
                }
            }
            Err(e) => {
                error!("aging failed, will retry next round: {e}");
                if let Some((_, done)) = self.ager.take() {
                    done(Err(e));
                }
            }
        }
    }

    /// A whole round of summary hours settled at `now_ms`, at once: host-hours built.
    pub(super) fn gather_hours(&mut self, now_ms: i64) -> Result<u64, Error> {
        if let Some(failure) = &self.failure {
            return Err(Error::Unwritable {
                reason: failure.reason.clone(),
                disk_full: failure.disk_full,
            });
        }
        let db = self.db.get()?;
        let mut builder = HourBuilder::new(now_ms);
        while builder.step(&db)? {}
        Ok(builder.built())
    }

    /// Starts a round of summary hours when one is due, or takes the next step of the round.
    pub(super) fn hours_step(&mut self) {
        if self.failure.is_some() {
            return;
        }
        if self.hours.is_none() {
            if self.next_hours.is_none_or(|at| Instant::now() < at) {
                return;
            }
            self.hours = Some(HourBuilder::new(now_ms()));
        }
        let Some(builder) = self.hours.as_mut() else {
            return;
        };
        let result = self.db.get().and_then(|db| builder.step(&db));
        match result {
            Ok(true) => {}
            Ok(false) => {
                if builder.built() > 0 {
                    debug!("summary hours: gathered {} host-hours", builder.built());
                }
                self.hours = None;
                self.next_hours = self.next_hours.map(|_| Instant::now() + HOURS_EVERY);
            }
            Err(e) => {
                error!("gathering summary hours failed, will retry next round: {e}");
                self.hours = None;
                self.next_hours = self.next_hours.map(|_| Instant::now() + HOURS_EVERY);
            }
        }
    }

    pub(super) fn prune_step(&mut self) {
        if self.failure.is_some() {
            // Deleting needs a commit too; retention waits until the store writes again.
            return;
        }
        let Some(pruner) = self.pruner.as_mut() else {
            return;
        };
        let before = pruner.removed();
        let result = self.db.get().and_then(|db| pruner.step(&db));
        if pruner.removed() > before {
            // A host whose whole history was old may have lost the record its cached cursor
            // would use as the next delta's base: reload cursors from the file.
            self.writer.forget();
        }
        match result {
            Ok(true) => {}
            Ok(false) => {
                let removed = pruner.removed();
                if removed > 0 {
                    info!("retention: removed {removed} old snapshots");
                }
                self.pruner = None;
            }
            Err(e) => {
                error!("retention pruning failed, will retry next round: {e}");
                self.pruner = None;
            }
        }
    }
}
