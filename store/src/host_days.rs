//! The host-day rollups' rows ([`idlewatch_format::HostDay`]): read by range, stored
//! by the server's builder only if nothing they were computed from changed meanwhile, and
//! removed by the writer wherever a late snapshot, a deletion or retention changes a settled
//! day.
//!
//! A rollup is a cache of what the summaries say. A day is built only once it has *settled*
//! ([`SETTLE_MS`] after its end), and a snapshot received after its captured day settled is
//! *late*: its append removes the rows of that day and the next (which it may cover the start
//! of) and bumps the host's generation in the same transaction. The builder reads the
//! generation before the summaries and stores a row only if it is unchanged, so a row never
//! hides a snapshot committed while it was computed.

use idlewatch_format::{
    DAY_MS, HOST_DAY_GENERATIONS, HOST_DAYS, HOST_DAYS_KEEP_FROM_KEY, META, day_of,
};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use crate::{Error, Store};

/// How long after its end a day is left to settle before it is rolled up: snapshots spooled
/// through a short outage arrive within it without removing anything.
pub const SETTLE_MS: i64 = 3_600_000;

/// Whether a day that starts at `day_ms` has settled at `now_ms`.
#[must_use]
pub fn settled(day_ms: i64, now_ms: i64) -> bool {
    day_ms.saturating_add(DAY_MS).saturating_add(SETTLE_MS) <= now_ms
}

/// The first day whose rollups retention keeps when it deletes what was received before
/// `cutoff_ms`: a day later than the cutoff's, since snapshots captured a little after it (an
/// agent's clock ahead) go too and the last of them covers into the next day.
#[must_use]
pub fn first_kept_day(cutoff_ms: i64) -> i64 {
    day_of(cutoff_ms.saturating_add(DAY_MS).min(i64::MAX / 2)).saturating_add(DAY_MS)
}

impl Store {
    /// `host`'s rollup generation: read it before the summaries a rollup is computed from, and
    /// hand it to [`Store::put_host_days`].
    ///
    /// # Errors
    /// Storage errors.
    pub fn host_day_generation(&self, host: &str) -> Result<u64, Error> {
        let txn = self.db()?.begin_read()?;
        let table = txn.open_table(HOST_DAY_GENERATIONS)?;
        Ok(table.get(host)?.map_or(0, |v| v.value()))
    }

    /// `host`'s rollups of the days starting in `[from_day_ms, to_day_ms)`, by day, encoded.
    ///
    /// # Errors
    /// Storage errors.
    pub fn host_days(
        &self,
        host: &str,
        from_day_ms: i64,
        to_day_ms: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        let txn = self.db()?.begin_read()?;
        let table = txn.open_table(HOST_DAYS)?;
        let mut out = Vec::new();
        for entry in table.range((host, from_day_ms)..(host, to_day_ms))? {
            let (key, value) = entry?;
            out.push((key.value().1, value.value().to_vec()));
        }
        Ok(out)
    }

    /// Stores rollups of `host` (day start, encoded) computed after reading `generation`, in one
    /// transaction; none when the generation moved since (what they were computed from
    /// changed). Returns whether they were stored.
    ///
    /// # Errors
    /// Storage errors.
    pub fn put_host_days(
        &self,
        host: &str,
        generation: u64,
        days: &[(i64, Vec<u8>)],
    ) -> Result<bool, Error> {
        let txn = self.db()?.begin_write()?;
        let current = txn
            .open_table(HOST_DAY_GENERATIONS)?
            .get(host)?
            .map_or(0, |v| v.value());
        if current != generation {
            txn.abort()?;
            return Ok(false);
        }
        // Days retention has cut into since they were computed are not stored.
        let keep_from = txn
            .open_table(META)?
            .get(HOST_DAYS_KEEP_FROM_KEY)?
            .map_or(i64::MIN, |v| i64::try_from(v.value()).unwrap_or(i64::MAX));
        {
            let mut table = txn.open_table(HOST_DAYS)?;
            for (day_ms, bytes) in days.iter().filter(|(day_ms, _)| *day_ms >= keep_from) {
                table.insert((host, *day_ms), bytes.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(true)
    }
}

/// Whether a snapshot captured at `captured_ms` and received at `received_ms` is late: its day
/// may already be rolled up.
///
/// Half a settling period early: a snapshot received just before its day settles may be
/// committed after the builder read the day, and must still remove what it built.
pub(crate) fn is_late(captured_ms: i64, received_ms: i64) -> bool {
    settled(
        day_of(captured_ms),
        received_ms.saturating_add(SETTLE_MS / 2),
    )
}

/// Removes `host`'s rollups of the days from the one holding `from_ms` to the one after the
/// day holding `last_ms` (a snapshot covers the start of the next day), and bumps its
/// generation, in `txn`.
pub(crate) fn invalidate(
    txn: &WriteTransaction,
    host: &str,
    from_ms: i64,
    last_ms: i64,
) -> Result<(), Error> {
    // Far enough from the ends of i64 for day arithmetic; no snapshot is captured out there.
    let from = day_of(from_ms.max(i64::MIN / 2));
    let to = day_of(last_ms.min(i64::MAX / 2)) + 2 * DAY_MS;
    let mut days = txn.open_table(HOST_DAYS)?;
    days.retain_in((host, from)..(host, to), |_, _| false)?;
    bump(txn, host)
}

fn bump(txn: &WriteTransaction, host: &str) -> Result<(), Error> {
    let mut generations = txn.open_table(HOST_DAY_GENERATIONS)?;
    let next = generations.get(host)?.map_or(0, |v| v.value()) + 1;
    generations.insert(host, next)?;
    Ok(())
}

/// Retention: removes every rollup of a day before [`first_kept_day`] (what pruning cut into is
/// read from the summaries left), bumping the generation of each host that lost one, and
/// remembers that day so that no rollup computed before is stored after.
pub(crate) fn prune(txn: &WriteTransaction, cutoff_ms: i64) -> Result<usize, Error> {
    let keep_from = first_kept_day(cutoff_ms);
    {
        let mut meta = txn.open_table(META)?;
        let before = meta.get(HOST_DAYS_KEEP_FROM_KEY)?.map_or(0, |v| v.value());
        meta.insert(
            HOST_DAYS_KEEP_FROM_KEY,
            before.max(u64::try_from(keep_from).unwrap_or(0)),
        )?;
    }
    let mut hosts = Vec::new();
    {
        let mut days = txn.open_table(HOST_DAYS)?;
        for entry in days.extract_if(|(_, day_ms), _| day_ms < keep_from)? {
            let (key, _) = entry?;
            let host = key.value().0;
            if hosts.last().map(String::as_str) != Some(host) {
                hosts.push(host.to_owned());
            }
        }
    }
    for host in &hosts {
        bump(txn, host)?;
    }
    Ok(hosts.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    const DAY: i64 = 1_795_392_000_000;

    #[test]
    fn rows_are_stored_only_under_the_generation_they_were_computed_at() {
        let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let generation = store.host_day_generation("pc1").unwrap();
        assert!(
            store
                .put_host_days(
                    "pc1",
                    generation,
                    &[(DAY, vec![1]), (DAY + DAY_MS, vec![2])]
                )
                .unwrap()
        );
        assert_eq!(
            store.host_days("pc1", DAY, DAY + 5 * DAY_MS).unwrap(),
            [(DAY, vec![1]), (DAY + DAY_MS, vec![2])]
        );
        assert!(
            store
                .host_days("pc2", DAY, DAY + DAY_MS)
                .unwrap()
                .is_empty()
        );

        // A late snapshot captured late on the first day removes it and the next.
        let txn = store.db().unwrap().begin_write().unwrap();
        invalidate(&txn, "pc1", DAY + DAY_MS - 1, DAY + DAY_MS - 1).unwrap();
        txn.commit().unwrap();
        assert!(
            store
                .host_days("pc1", DAY, DAY + 5 * DAY_MS)
                .unwrap()
                .is_empty()
        );
        assert!(
            !store
                .put_host_days("pc1", generation, &[(DAY, vec![3])])
                .unwrap()
        );
        assert!(
            store
                .host_days("pc1", DAY, DAY + DAY_MS)
                .unwrap()
                .is_empty()
        );
        let generation = store.host_day_generation("pc1").unwrap();
        assert!(
            store
                .put_host_days("pc1", generation, &[(DAY, vec![3])])
                .unwrap()
        );
        assert_eq!(
            store.host_days("pc1", DAY, DAY + DAY_MS).unwrap(),
            [(DAY, vec![3])]
        );
    }

    #[test]
    fn retention_removes_the_days_it_cut_into_and_bumps_their_hosts() {
        let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        for host in ["a", "b"] {
            let days: Vec<_> = (0..4).map(|d| (DAY + d * DAY_MS, vec![0])).collect();
            assert!(store.put_host_days(host, 0, &days).unwrap());
        }
        let txn = store.db().unwrap().begin_write().unwrap();
        // The cutoff's day and the next (what it cut into) go.
        assert_eq!(prune(&txn, DAY + 5).unwrap(), 2);
        txn.commit().unwrap();
        let left: Vec<_> = store
            .host_days("a", 0, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(left, [DAY + 2 * DAY_MS, DAY + 3 * DAY_MS]);
        assert_eq!(store.host_day_generation("b").unwrap(), 1);
        // A rollup of a pruned day computed before is not stored after.
        assert!(
            store
                .put_host_days(
                    "c",
                    0,
                    &[(DAY + DAY_MS, vec![1]), (DAY + 2 * DAY_MS, vec![2])]
                )
                .unwrap()
        );
        assert_eq!(
            store.host_days("c", 0, i64::MAX).unwrap(),
            [(DAY + 2 * DAY_MS, vec![2])]
        );
    }

    #[test]
    fn a_snapshot_is_late_once_its_day_settled() {
        // Half a settling period before the builder may read the day.
        assert!(!is_late(DAY + 10, DAY + DAY_MS + SETTLE_MS / 2 - 1));
        assert!(is_late(DAY + 10, DAY + DAY_MS + SETTLE_MS / 2));
        assert!(!settled(DAY, DAY + DAY_MS + SETTLE_MS / 2));
    }
}
