//! What the alerts task does on becoming the lead of a cluster: tells what the former leader
//! saw but did not tell before it died, and, on a shared store, first takes stock of the alerts
//! stored as firing ([`super::super::shared`]) so that each stays one record.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use idlewatch_protocol::api::AlertState;
use idlewatch_protocol::time::{now_ms, parse_rfc3339_ms};
use idlewatch_store::RecordStore;
use tracing::{error, info};

use super::Task;
use crate::alerts::evaluate::Evaluator;
use crate::alerts::record;
use crate::alerts::shared::{Firing, Key, Reconciled};

/// How long a server that could not read the stored alerts on taking the lead waits before it
/// reads them again.
pub(super) const RETRY: Duration = Duration::from_secs(5);

impl Task<'_> {
    /// Now leading on a shared store: takes the ids of the alerts stored as firing, tells what
    /// the former leader did not, restores into the rules the stored alerts not firing here
    /// (resolving those whose rule is gone), and resolves quietly a second record of an alert.
    /// False when the stored alerts could not be read (try again after [`RETRY`]).
    pub(super) async fn take_lead(
        &mut self,
        evaluator: &mut Evaluator,
        firing: &mut Firing,
    ) -> bool {
        let store = self.src.store.clone();
        let stored = match tokio::task::spawn_blocking(move || store.alerts()).await {
            Ok(Ok(alerts)) => alerts,
            Ok(Err(e)) => {
                error!("cannot read the stored alerts on taking the lead, will retry: {e}");
                return false;
            }
            Err(e) => {
                error!("cannot read the stored alerts on taking the lead, will retry: {e}");
                return false;
            }
        };
        let stored = stored
            .into_iter()
            .filter(|a| a.state == AlertState::Firing)
            .collect();
        let Reconciled {
            mut missing,
            duplicates,
        } = self.records.reconcile(stored, firing);
        self.tell_untold(evaluator, firing, &mut missing).await;
        let now = now_ms();
        for (key, mut alert) in missing {
            let since = parse_rfc3339_ms(&alert.since).unwrap_or(now);
            let notified = parse_rfc3339_ms(&alert.notified_at).unwrap_or(now);
            if evaluator.restore(&key.0, &key.1, since, notified) {
                firing.insert(key, alert);
                continue;
            }
            record::resolve(&mut alert, since, now);
            alert.summary = format!("{} (its rule was removed)", alert.summary);
            self.store_update(&alert).await;
            info!(alert = %alert.alert, id = alert.id, "alert resolved on taking the lead: {}", alert.summary);
            (self.src.show)(&alert);
        }
        for mut alert in duplicates {
            let since = parse_rfc3339_ms(&alert.since).unwrap_or(now);
            record::resolve(&mut alert, since, now);
            alert.summary = format!(
                "{} (a second record of an alert still firing)",
                alert.summary
            );
            self.store_update(&alert).await;
            info!(alert = %alert.alert, id = alert.id, "a second record resolved on taking the lead");
        }
        true
    }

    /// Now leading: tells (and stores) what the former leader saw but did not tell before it
    /// died, oldest first. A change of an alert in `missing` (stored as firing, not firing
    /// here) rewrites that record, which leaves `missing`.
    pub(super) async fn tell_untold(
        &mut self,
        evaluator: &Evaluator,
        firing: &mut Firing,
        missing: &mut Firing,
    ) {
        // Ids given here, so a firing and its resolution told together are one record.
        let mut stored: HashMap<Key, u64> = HashMap::new();
        for item in self.untold.take() {
            let mut alert = item.alert;
            // The same firing only: one that resolved and fired again since is another record.
            if let Some(kept) = firing
                .get_mut(&item.key)
                .filter(|kept| kept.fired_at == alert.fired_at)
            {
                self.store(kept).await;
                alert.id = kept.id;
            } else {
                let known = alert.id;
                alert.id = stored
                    .get(&item.key)
                    .copied()
                    .or_else(|| missing.remove(&item.key).map(|a| a.id))
                    .or((known != 0).then_some(known))
                    .unwrap_or(0);
                self.store(&mut alert).await;
            }
            stored.insert(item.key, alert.id);
            info!(alert = %alert.alert, id = alert.id, "alert told by this server, now leading: {}", alert.summary);
            self.tell(&alert, item.repeat, &evaluator.rules()[item.rule].notify);
        }
    }
}

/// Whether a server that leads but has not taken stock yet should try now.
pub(super) fn due(last_try: Option<Instant>) -> bool {
    last_try.is_none_or(|at| at.elapsed() >= RETRY)
}
