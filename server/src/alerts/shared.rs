//! Cluster mode on a shared store (`[cluster] postgres_url`): every server lists the alerts the
//! lead records in the one database, so the lead's records must stay one per alert across a
//! change of lead. A server that does not lead learns the id of each firing alert the lead
//! stored from its `alert` event ([`LeadRecords::told`]), so that, leading next, it repeats and
//! resolves that record rather than a new one; and on taking the lead it reads the alerts
//! stored as firing ([`LeadRecords::reconcile`]): those it knows firing take their stored ids
//! (an event may have been lost); a second record of an alert firing here is resolved
//! quietly; and those it does not know firing are restored into its rules, as at start (the
//! rules resolve them at their next look if the condition ended, or keep them firing if this
//! server was only late to see it).

use std::collections::HashMap;

use idlewatch_protocol::api::{Alert, AlertState};

/// An alert's rule name and subject (its host, or its group for group rules).
pub type Key = (String, String);

/// The alerts that are firing now, by rule name and subject.
pub type Firing = HashMap<Key, Alert>;

/// `alert`'s key.
#[must_use]
pub fn key_of(alert: &Alert) -> Key {
    let subject = alert
        .host
        .clone()
        .or_else(|| alert.group.clone())
        .unwrap_or_default();
    (alert.alert.clone(), subject)
}

/// The ids of the lead's records of the alerts firing now, as its events told them.
#[derive(Debug, Default)]
pub struct LeadRecords {
    ids: HashMap<Key, u64>,
}

impl LeadRecords {
    /// The lead told `alert`: a firing one's id is kept (and given to the same alert firing
    /// here), a resolved one's forgotten.
    pub fn told(&mut self, alert: &Alert, firing: &mut Firing) {
        let key = key_of(alert);
        if alert.state != AlertState::Firing || alert.id == 0 {
            self.ids.remove(&key);
            return;
        }
        if let Some(kept) = firing.get_mut(&key).filter(|kept| kept.id == 0) {
            kept.id = alert.id;
        }
        self.ids.insert(key, alert.id);
    }

    /// The id of the lead's record of the alert firing under `key`, or 0.
    #[must_use]
    pub fn id_of(&self, key: &Key) -> u64 {
        self.ids.get(key).copied().unwrap_or(0)
    }

    /// This server takes the lead: `stored` are the alerts the store holds as firing. Those
    /// firing here keep the stored id (unless they have one); returned are those not firing
    /// here, and second records of alerts firing here under another.
    pub fn reconcile(&mut self, stored: Vec<Alert>, firing: &mut Firing) -> Reconciled {
        self.ids.clear();
        let mut out = Reconciled::default();
        for alert in stored {
            let key = key_of(&alert);
            match firing.get_mut(&key) {
                Some(kept) if kept.id == 0 => kept.id = alert.id,
                Some(kept) if kept.id == alert.id => {}
                Some(_) => out.duplicates.push(alert),
                None => {
                    out.missing.insert(key, alert);
                }
            }
        }
        out
    }
}

/// What a server taking the lead finds stored as firing beyond what fires here.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Alerts not firing here: restored into the rules (or resolved when their rule is gone).
    pub missing: Firing,
    /// Second records of alerts firing here under another record: resolved quietly.
    pub duplicates: Vec<Alert>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: u64, host: &str, state: AlertState) -> Alert {
        Alert {
            id,
            ..super::super::untold::tests::alert(host, state)
        }
    }

    #[test]
    fn the_leads_ids_go_to_the_same_alerts_firing_here_whichever_comes_first() {
        let mut records = LeadRecords::default();
        let mut firing = Firing::new();
        // Fired here first, told after.
        firing.insert(
            key_of(&alert(0, "pc1", AlertState::Firing)),
            alert(0, "pc1", AlertState::Firing),
        );
        records.told(&alert(7, "pc1", AlertState::Firing), &mut firing);
        assert_eq!(firing[&key_of(&alert(0, "pc1", AlertState::Firing))].id, 7);
        // Told first, fired here after: asked by key.
        records.told(&alert(8, "pc2", AlertState::Firing), &mut firing);
        assert_eq!(
            records.id_of(&key_of(&alert(0, "pc2", AlertState::Firing))),
            8
        );
        // A resolution forgets it.
        records.told(&alert(8, "pc2", AlertState::Resolved), &mut firing);
        assert_eq!(
            records.id_of(&key_of(&alert(0, "pc2", AlertState::Firing))),
            0
        );
        // An id known here is not replaced.
        records.told(&alert(9, "pc1", AlertState::Firing), &mut firing);
        assert_eq!(firing[&key_of(&alert(0, "pc1", AlertState::Firing))].id, 7);
    }

    #[test]
    fn taking_the_lead_adopts_stored_ids_and_returns_what_is_missing_or_twice() {
        let mut records = LeadRecords::default();
        let mut firing = Firing::new();
        firing.insert(
            key_of(&alert(0, "pc1", AlertState::Firing)),
            alert(0, "pc1", AlertState::Firing),
        );
        firing.insert(
            key_of(&alert(3, "pc3", AlertState::Firing)),
            alert(3, "pc3", AlertState::Firing),
        );
        let found = records.reconcile(
            vec![
                alert(5, "pc1", AlertState::Firing),
                alert(6, "pc2", AlertState::Firing),
                alert(3, "pc3", AlertState::Firing),
                alert(4, "pc3", AlertState::Firing),
            ],
            &mut firing,
        );
        assert_eq!(firing[&key_of(&alert(0, "pc1", AlertState::Firing))].id, 5);
        assert_eq!(firing[&key_of(&alert(0, "pc3", AlertState::Firing))].id, 3);
        assert_eq!(found.missing.len(), 1);
        assert_eq!(
            found.missing[&key_of(&alert(0, "pc2", AlertState::Firing))].id,
            6
        );
        let twice: Vec<u64> = found.duplicates.iter().map(|a| a.id).collect();
        assert_eq!(twice, [4]);
    }
}
