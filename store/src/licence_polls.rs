//! Each licence server's seats issued and in use at each poll, kept for the pool's history
//! (one small row per poll: at one poll every 5 minutes, ~105,000 a year per server).

use idlewatch_format::LICENCE_POLLS;
use redb::ReadableDatabase;

use crate::{Error, Store};

/// One poll's seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolPoint {
    /// When the poll ended, epoch ms.
    pub at_ms: i64,
    /// Seats issued (counted features).
    pub issued: u32,
    /// Seats in use.
    pub in_use: u32,
}

impl Store {
    /// Records `server`'s seats at a poll.
    ///
    /// # Errors
    /// Storage errors.
    pub fn add_licence_poll(&self, server: &str, point: PoolPoint) -> Result<(), Error> {
        let txn = self.db()?.begin_write()?;
        txn.open_table(LICENCE_POLLS)?
            .insert((server, point.at_ms), (point.issued, point.in_use))?;
        txn.commit()?;
        Ok(())
    }

    /// `server`'s polls in `[from_ms, to_ms)`, oldest first.
    ///
    /// # Errors
    /// Storage errors.
    pub fn licence_polls(
        &self,
        server: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<PoolPoint>, Error> {
        let txn = self.db()?.begin_read()?;
        let table = txn.open_table(LICENCE_POLLS)?;
        let mut out = Vec::new();
        for entry in table.range((server, from_ms)..(server, to_ms))? {
            let (key, value) = entry?;
            let (_, at_ms) = key.value();
            let (issued, in_use) = value.value();
            out.push(PoolPoint {
                at_ms,
                issued,
                in_use,
            });
        }
        Ok(out)
    }

    /// Deletes the polls before `cutoff_ms`; how many went.
    ///
    /// # Errors
    /// Storage errors.
    pub fn prune_licence_polls_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        let txn = self.db()?.begin_write()?;
        let removed = {
            let mut table = txn.open_table(LICENCE_POLLS)?;
            table.extract_if(|(_, at_ms), _| at_ms < cutoff_ms)?.count()
        };
        txn.commit()?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    #[test]
    fn polls_are_kept_per_server_read_by_range_and_pruned() {
        let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let point = |at_ms, in_use| PoolPoint {
            at_ms,
            issued: 10,
            in_use,
        };
        for (server, at, n) in [
            ("ansys", 100, 4),
            ("ansys", 200, 6),
            ("matlab", 150, 1),
            ("ansys", 300, 2),
        ] {
            store.add_licence_poll(server, point(at, n)).unwrap();
        }
        assert_eq!(
            store.licence_polls("ansys", 150, 400).unwrap(),
            [point(200, 6), point(300, 2)]
        );
        assert_eq!(
            store.licence_polls("matlab", 0, 1000).unwrap(),
            [point(150, 1)]
        );
        assert_eq!(store.prune_licence_polls_before(200).unwrap(), 2);
        assert_eq!(
            store.licence_polls("ansys", 0, 1000).unwrap(),
            [point(200, 6), point(300, 2)]
        );
    }
}
