//! Where alerts and licence-server polls are kept: a server's redb file, or in a cluster on
//! PostgreSQL the database every server shares (the server holding the lead writes them, and
//! every server lists the same). One trait, so the alerts task, the API and retention do not
//! care which, and one suite of tests (`tests/tests/store_backends.rs`) holds both alike.
//! Every method blocks: call it off the async runtime.

use idlewatch_format::{ALERTS, LICENCE_POLLS};
use idlewatch_protocol::api::Alert;
use redb::{ReadableDatabase, ReadableTable};

use crate::{Error, PoolPoint, Store};

/// Alerts and licence-server polls.
pub trait RecordStore: Send + Sync {
    /// Every stored alert, oldest first.
    ///
    /// # Errors
    /// Storage errors, or an alert that cannot be read.
    fn alerts(&self) -> Result<Vec<Alert>, Error>;

    /// Stores a new alert, giving it the next id (written into `alert.id`).
    ///
    /// # Errors
    /// Storage errors.
    fn add_alert(&self, alert: &mut Alert) -> Result<u64, Error>;

    /// Rewrites alert `alert.id` (when it repeats or resolves).
    ///
    /// # Errors
    /// Storage errors.
    fn update_alert(&self, alert: &Alert) -> Result<(), Error>;

    /// Deletes the alerts that resolved before `cutoff_ms`; how many went.
    ///
    /// # Errors
    /// Storage errors.
    fn prune_alerts_before(&self, cutoff_ms: i64) -> Result<usize, Error>;

    /// Records licence server `server`'s seats at a poll (a second poll at the same
    /// millisecond replaces the first).
    ///
    /// # Errors
    /// Storage errors.
    fn add_licence_poll(&self, server: &str, point: PoolPoint) -> Result<(), Error>;

    /// `server`'s polls in `[from_ms, to_ms)`, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    fn licence_polls(
        &self,
        server: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<PoolPoint>, Error>;

    /// Deletes the polls before `cutoff_ms`; how many went.
    ///
    /// # Errors
    /// Storage errors.
    fn prune_licence_polls_before(&self, cutoff_ms: i64) -> Result<usize, Error>;
}

impl RecordStore for Store {
    fn alerts(&self) -> Result<Vec<Alert>, Error> {
        Store::alerts(self)
    }

    fn add_alert(&self, alert: &mut Alert) -> Result<u64, Error> {
        Store::add_alert(self, alert)
    }

    fn update_alert(&self, alert: &Alert) -> Result<(), Error> {
        Store::update_alert(self, alert)
    }

    fn prune_alerts_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        Store::prune_alerts_before(self, cutoff_ms)
    }

    fn add_licence_poll(&self, server: &str, point: PoolPoint) -> Result<(), Error> {
        Store::add_licence_poll(self, server, point)
    }

    fn licence_polls(
        &self,
        server: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<PoolPoint>, Error> {
        Store::licence_polls(self, server, from_ms, to_ms)
    }

    fn prune_licence_polls_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        Store::prune_licence_polls_before(self, cutoff_ms)
    }
}

impl Store {
    /// Every licence server's polls, by server then time.
    ///
    /// # Errors
    /// Storage errors.
    pub fn all_licence_polls(&self) -> Result<Vec<(String, PoolPoint)>, Error> {
        let txn = self.db()?.begin_read()?;
        let table = txn.open_table(LICENCE_POLLS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let (server, at_ms) = key.value();
            let (issued, in_use) = value.value();
            out.push((
                server.to_owned(),
                PoolPoint {
                    at_ms,
                    issued,
                    in_use,
                },
            ));
        }
        Ok(out)
    }

    /// Deletes every alert and licence poll (once moved to a cluster's shared store).
    ///
    /// # Errors
    /// Storage errors.
    pub fn clear_records(&self) -> Result<(), Error> {
        let txn = self.db()?.begin_write()?;
        txn.open_table(ALERTS)?.retain(|_, _| false)?;
        txn.open_table(LICENCE_POLLS)?.retain(|_, _| false)?;
        txn.commit()?;
        Ok(())
    }
}
