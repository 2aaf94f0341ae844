//! Cluster mode on a shared store (`[cluster] postgres_url`): every server lists the alerts the
//! lead records in the one database, so the lead's records must stay one per alert across a
//! change of lead. A server that does not lead learns the id of each firing alert the lead
//! stored from its `alert` event ([`LeadRecords::told`]), so that, leading next, it repeats and
//! resolves that record rather than a new one; and on taking the lead it reads the alerts
//! stored as firing ([`LeadRecords::reconcile`]): those it knows firing take their stored ids
//! (an event may have been lost), and those it does not are resolved, the condition having
//! ended while no server told it.

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
    /// firing here keep the stored id (unless they have one); the others are returned, to be
    /// resolved.
    pub fn reconcile(&mut self, stored: Vec<Alert>, firing: &mut Firing) -> Firing {
        self.ids.clear();
        let mut ended = Firing::new();
        for alert in stored {
            let key = key_of(&alert);
            match firing.get_mut(&key) {
                Some(kept) if kept.id == 0 => kept.id = alert.id,
                Some(_) => {}
                None => {
                    ended.insert(key, alert);
                }
            }
        }
        ended
    }
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
    fn taking_the_lead_adopts_stored_ids_and_returns_what_ended_unseen() {
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
        let ended = records.reconcile(
            vec![
                alert(5, "pc1", AlertState::Firing),
                alert(6, "pc2", AlertState::Firing),
                alert(3, "pc3", AlertState::Firing),
            ],
            &mut firing,
        );
        assert_eq!(firing[&key_of(&alert(0, "pc1", AlertState::Firing))].id, 5);
        assert_eq!(firing[&key_of(&alert(0, "pc3", AlertState::Firing))].id, 3);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[&key_of(&alert(0, "pc2", AlertState::Firing))].id, 6);
    }
}
