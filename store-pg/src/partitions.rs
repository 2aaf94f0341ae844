//! The day partitions of `snapshots`: created as snapshots of a new UTC day arrive (and the
//! next day's ahead of time, so that midnight does not wait on DDL), dropped whole by pruning.
//! Creation and dropping take an advisory lock, so that servers doing it at once do not
//! collide.

use std::collections::HashSet;

use idlewatch_format::DAY_MS;
use idlewatch_store::Error;
use postgres::{Client, IsolationLevel, Transaction};

use crate::counts;
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

/// Counts a partition drop: a dropped day may hold the record a writer would next write a delta
/// on, so each writer starts every host's next record as a keyframe.
fn forget_bases(tx: &mut Transaction<'_>, what: &str) -> Result<(), Error> {
    tx.execute("UPDATE partition_drops SET n = n + 1", &[])
        .map_err(|e| pg(what, &e))?;
    Ok(())
}

/// A transaction for dropping partitions: holding the advisory lock, reading what others
/// committed before it got it.
fn dropping<'c>(client: &'c mut Client, what: &str) -> Result<Transaction<'c>, Error> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .map_err(|e| pg(what, &e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .map_err(|e| pg(what, &e))?;
    Ok(tx)
}

/// The days that have a partition, in order.
fn days(tx: &mut Transaction<'_>, what: &str) -> Result<Vec<i64>, Error> {
    let mut days: Vec<i64> = tx
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'snapshots'::regclass",
            &[],
        )
        .map_err(|e| pg(what, &e))?
        .iter()
        .filter_map(|row| day_of_name(row.get(0)))
        .collect();
    days.sort_unstable();
    Ok(days)
}

/// Drops the partitions of the days before `before_ms` whose snapshots no host reads any
/// more: every host with a snapshot in the day counts its time from at least `cover_ms` after
/// the day's end (the last snapshot before a host's `detail_from` may cover the minutes after
/// it). Returns the snapshots dropped with them. One transaction per day, so that ingest
/// never waits long.
pub(crate) fn drop_folded(
    client: &mut Client,
    before_ms: i64,
    cover_ms: i64,
) -> Result<u64, Error> {
    let what = "dropping day partitions of snapshots folded into minutes";
    let listed = {
        let mut tx = client.transaction().map_err(|e| pg(what, &e))?;
        let listed = days(&mut tx, what)?;
        tx.commit().map_err(|e| pg(what, &e))?;
        listed
    };
    let mut removed = 0u64;
    for day in listed {
        let end = day.saturating_add(1).saturating_mul(DAY_MS);
        if end > before_ms {
            break;
        }
        let mut tx = dropping(client, what)?;
        let table = name(day);
        let exists: bool = tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .map_err(|e| pg(what, &e))?
            .get(0);
        if !exists {
            // Another server dropped it meanwhile.
            continue;
        }
        // No late snapshot may land in it between the checks and the drop.
        tx.batch_execute(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            .map_err(|e| pg(what, &e))?;
        // Hosts that may still read the day: few once aging has passed it.
        let readers: Vec<i32> = tx
            .query(
                "SELECT id FROM hosts WHERE detail_from IS NULL OR detail_from < $1",
                &[&end.saturating_add(cover_ms)],
            )
            .map_err(|e| pg(what, &e))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut read = false;
        for id in readers {
            let row = tx
                .query_opt(
                    &format!("SELECT 1 FROM {table} WHERE host_id = $1 LIMIT 1"),
                    &[&id],
                )
                .map_err(|e| pg(what, &e))?;
            if row.is_some() {
                read = true;
                break;
            }
        }
        if read {
            // A host still reading this day has not folded the next ones either: dropping
            // goes on from here once it has.
            break;
        }
        let rows = counts::forget_day(&mut tx, day)?;
        forget_bases(&mut tx, what)?;
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
            .map_err(|e| pg(what, &e))?;
        tx.commit().map_err(|e| pg(what, &e))?;
        removed += rows;
    }
    Ok(removed)
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
        let mut tx = dropping(client, what)?;
        let doomed: Vec<i64> = days(&mut tx, what)?
            .into_iter()
            .filter(|day| day.saturating_add(1).saturating_mul(DAY_MS) <= cutoff_ms)
            .collect();
        if !doomed.is_empty() {
            forget_bases(&mut tx, what)?;
        }
        let mut dropped = Vec::new();
        for day in doomed {
            counts::forget_day(&mut tx, day)?;
            tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", name(day)))
                .map_err(|e| pg(what, &e))?;
            dropped.push(day);
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
