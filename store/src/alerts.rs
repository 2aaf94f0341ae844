//! Alerts, each kept as its JSON ([`Alert`]) under its id: a few per day, written when they
//! fire and when they resolve, each in its own small transaction, and read whole (at start, to
//! restore the firing ones, and by `GET /api/v1/alerts`).

use idlewatch_format::{ALERTS, META, NEXT_ALERT_ID_KEY};
use idlewatch_protocol::api::{Alert, AlertState};
use idlewatch_protocol::time::parse_rfc3339_ms;
use redb::{ReadableDatabase, ReadableTable};

use crate::{Error, Store};

fn decode(id: u64, bytes: &[u8]) -> Result<Alert, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("alert {id}: {e}")))
}

fn encode(alert: &Alert) -> Vec<u8> {
    // An `Alert` is strings and numbers: it always serializes.
    serde_json::to_vec(alert).unwrap_or_default()
}

impl Store {
    /// Every stored alert, oldest first.
    ///
    /// # Errors
    /// Storage errors, or an alert that cannot be read.
    pub fn alerts(&self) -> Result<Vec<Alert>, Error> {
        let txn = self.db()?.begin_read()?;
        let table = txn.open_table(ALERTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (id, bytes) = entry?;
            out.push(decode(id.value(), bytes.value())?);
        }
        Ok(out)
    }

    /// Stores a new alert, giving it the next id (written into `alert.id`).
    ///
    /// # Errors
    /// Storage errors.
    pub fn add_alert(&self, alert: &mut Alert) -> Result<u64, Error> {
        let txn = self.db()?.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let id = meta.get(NEXT_ALERT_ID_KEY)?.map_or(1, |v| v.value());
            meta.insert(NEXT_ALERT_ID_KEY, id + 1)?;
            alert.id = id;
            txn.open_table(ALERTS)?
                .insert(id, encode(alert).as_slice())?;
        }
        txn.commit()?;
        Ok(alert.id)
    }

    /// Rewrites alert `alert.id` (when it resolves).
    ///
    /// # Errors
    /// Storage errors.
    pub fn update_alert(&self, alert: &Alert) -> Result<(), Error> {
        let txn = self.db()?.begin_write()?;
        txn.open_table(ALERTS)?
            .insert(alert.id, encode(alert).as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// Deletes the alerts that resolved before `cutoff_ms`; how many went.
    ///
    /// # Errors
    /// Storage errors.
    pub fn prune_alerts_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        let txn = self.db()?.begin_write()?;
        let removed = {
            let mut table = txn.open_table(ALERTS)?;
            let old = table.extract_if(|id, bytes| {
                decode(id, bytes).is_ok_and(|a| {
                    a.state == AlertState::Resolved
                        && a.resolved_at
                            .as_deref()
                            .and_then(|t| parse_rfc3339_ms(t).ok())
                            .is_some_and(|t| t < cutoff_ms)
                })
            })?;
            old.count()
        };
        txn.commit()?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use idlewatch_protocol::api::AlertKind;

    use super::*;
    use crate::OpenOptions;

    fn alert(state: AlertState, resolved_at: Option<&str>) -> Alert {
        Alert {
            id: 0,
            alert: "ansys-idle".to_owned(),
            kind: AlertKind::LicenceIdle,
            state,
            host: Some("pc-1".to_owned()),
            group: Some("Lab CTI".to_owned()),
            app: Some("ansys".to_owned()),
            since: "2026-12-01T08:00:00.000Z".to_owned(),
            fired_at: "2026-12-01T08:30:00.000Z".to_owned(),
            notified_at: "2026-12-01T08:30:00.000Z".to_owned(),
            resolved_at: resolved_at.map(str::to_owned),
            summary: "ansys idle on pc-1".to_owned(),
        }
    }

    #[test]
    fn alerts_are_numbered_rewritten_and_pruned_once_resolved_long_enough() {
        let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let mut first = alert(AlertState::Firing, None);
        let mut second = alert(AlertState::Firing, None);
        assert_eq!(store.add_alert(&mut first).unwrap(), 1);
        assert_eq!(store.add_alert(&mut second).unwrap(), 2);
        first.state = AlertState::Resolved;
        first.resolved_at = Some("2026-12-01T09:00:00.000Z".to_owned());
        store.update_alert(&first).unwrap();
        assert_eq!(store.alerts().unwrap(), vec![first.clone(), second.clone()]);

        let cutoff = parse_rfc3339_ms("2026-12-01T10:00:00Z").unwrap();
        assert_eq!(store.prune_alerts_before(cutoff).unwrap(), 1);
        assert_eq!(
            store.alerts().unwrap(),
            vec![second],
            "a firing alert stays"
        );
        let mut third = alert(AlertState::Firing, None);
        assert_eq!(
            store.add_alert(&mut third).unwrap(),
            3,
            "ids are not reused"
        );
    }
}
