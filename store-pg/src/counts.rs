//! Exact snapshot counts without counting rows (`count(*)` over a fleet's fortnight of
//! snapshots reads every row): each transaction that stores, deletes or drops snapshots adds
//! what it did to `snapshot_counts`, a row per UTC day and writing connection (so servers
//! storing at once never wait on one another's row). The store's count is their sum; a day's
//! rows go with its partition.

use idlewatch_store::Error;
use postgres::Transaction;

use crate::error::pg;

/// Adds `n` snapshots (negative: removed) to each UTC day (days since 1970-01-01) given.
pub(crate) fn add(tx: &mut Transaction<'_>, per_day: &[(i64, i64)]) -> Result<(), Error> {
    if per_day.is_empty() {
        return Ok(());
    }
    let (days, counts): (Vec<i64>, Vec<i64>) = per_day.iter().copied().unzip();
    tx.execute(
        "INSERT INTO snapshot_counts (day, writer, n) \
         SELECT d, pg_backend_pid(), n FROM unnest($1::int8[], $2::int8[]) AS c(d, n) \
         ON CONFLICT (day, writer) DO UPDATE SET n = snapshot_counts.n + EXCLUDED.n",
        &[&days, &counts],
    )
    .map_err(|e| pg("counting stored snapshots", &e))?;
    Ok(())
}

/// Forgets day `day`'s counts (its partition is being dropped); returns how many snapshots it
/// held.
pub(crate) fn forget_day(tx: &mut Transaction<'_>, day: i64) -> Result<u64, Error> {
    let n: i64 = tx
        .query_one(
            "WITH gone AS (DELETE FROM snapshot_counts WHERE day = $1 RETURNING n) \
             SELECT coalesce(sum(n), 0)::int8 FROM gone",
            &[&day],
        )
        .map_err(|e| pg("forgetting a dropped day's count", &e))?
        .get(0);
    Ok(n.max(0).unsigned_abs())
}

/// Every stored snapshot.
pub(crate) fn total(tx: &mut Transaction<'_>) -> Result<u64, Error> {
    let n: i64 = tx
        .query_one("SELECT coalesce(sum(n), 0)::int8 FROM snapshot_counts", &[])
        .map_err(|e| pg("counting snapshots", &e))?
        .get(0);
    Ok(n.max(0).unsigned_abs())
}
