//! The day partitions of `snapshots`: created as snapshots of a new UTC day arrive (and the
//! next day's ahead of time, so that midnight does not wait on DDL), dropped whole by pruning.
//! Creation and dropping take an advisory lock, so that servers doing it at once do not
//! collide.

use std::collections::HashSet;

use idlewatch_format::DAY_MS;
use idlewatch_store::Error;
use postgres::Client;

use crate::error::pg;

/// The advisory lock held while partitions are created or dropped.
const LOCK: i64 = 0x6964_6c65_7061_7274;

/// The day (since 1970-01-01 UTC) of time `ms`: what partitions and delta chains are cut by.
pub(crate) fn day_index(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The partition holding day `day` (days since 1970-01-01 UTC).
fn name(day: i64) -> String {
    if day < 0 {
        format!("snapshots_pm{}", day.unsigned_abs())
    } else {
        format!("snapshots_p{day}")
    }
}

/// The day a partition's name stands for; `None` for a table this store did not name.
fn day_of_name(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("snapshots_p")?;
    match rest.strip_prefix('m') {
        Some(neg) => neg.parse::<i64>().ok().map(|d| -d),
        None => rest.parse().ok(),
    }
}

/// The days known to have a partition.
#[derive(Default)]
pub(crate) struct Partitions {
    known: HashSet<i64>,
}

impl Partitions {
    /// Creates the partitions of `days` that are not known to exist.
    pub(crate) fn ensure(
        &mut self,
        client: &mut Client,
        days: impl IntoIterator<Item = i64>,
    ) -> Result<(), Error> {
        let mut missing: Vec<i64> = days
            .into_iter()
            .filter(|d| !self.known.contains(d))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        let what = "creating a day partition of snapshots";
        let mut tx = client.transaction().map_err(|e| pg(what, &e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .map_err(|e| pg(what, &e))?;
        for day in &missing {
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF snapshots FOR VALUES FROM ({}) TO ({})",
                name(*day),
                day.saturating_mul(DAY_MS),
                day.saturating_add(1).saturating_mul(DAY_MS)
            );
            tx.batch_execute(&sql).map_err(|e| pg(what, &e))?;
        }
        tx.commit().map_err(|e| pg(what, &e))?;
        self.known.extend(missing);
        Ok(())
    }

    /// Drops the partitions of the days that end at or before `cutoff_ms`; returns how many.
    pub(crate) fn drop_before(
        &mut self,
        client: &mut Client,
        cutoff_ms: i64,
    ) -> Result<u64, Error> {
        let what = "dropping old day partitions of snapshots";
        let mut tx = client.transaction().map_err(|e| pg(what, &e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .map_err(|e| pg(what, &e))?;
        let rows = tx
            .query(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'snapshots'::regclass",
                &[],
            )
            .map_err(|e| pg(what, &e))?;
        let mut dropped = Vec::new();
        for row in rows {
            let table: String = row.get(0);
            let Some(day) = day_of_name(&table) else {
                continue;
            };
            if day.saturating_add(1).saturating_mul(DAY_MS) <= cutoff_ms {
                tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", name(day)))
                    .map_err(|e| pg(what, &e))?;
                dropped.push(day);
            }
        }
        tx.commit().map_err(|e| pg(what, &e))?;
        for day in &dropped {
            self.known.remove(day);
        }
        Ok(dropped.len() as u64)
    }

    /// Forgets what is known (after an error, or when another server may have dropped some).
    pub(crate) fn forget(&mut self) {
        self.known.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{day_of_name, name};

    #[test]
    fn names_give_back_their_day() {
        for day in [-3, 0, 20_791, i64::from(i32::MAX)] {
            assert_eq!(day_of_name(&name(day)), Some(day), "{}", name(day));
        }
        assert_eq!(day_of_name("snapshots"), None);
        assert_eq!(day_of_name("snapshots_pold"), None);
    }
}
