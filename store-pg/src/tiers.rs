//! The minute and day tiers in PostgreSQL, read: one host's rows of the `minutes` and `days`
//! tables (the redb store's hour blocks and day rows, byte for byte) given to
//! [`idlewatch_store::tier_walk`], which decides which rows answer a range as it does for the
//! redb file, so a report over an aged range reads the same seconds from either store.

use idlewatch_store::tier_walk::TierSource;
use idlewatch_store::{Error, TierSizes};
use postgres::Transaction;

use crate::error::pg;

/// One host's tiers, read in one transaction.
pub(crate) struct PgTiers<'a, 'b> {
    pub(crate) tx: &'a mut Transaction<'b>,
    pub(crate) id: i32,
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl PgTiers<'_, '_> {
    fn rows(
        &mut self,
        sql: &str,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        if from >= to {
            return Ok(Vec::new());
        }
        Ok(self
            .tx
            .query(sql, &[&self.id, &from, &to, &limit_of(limit)])
            .map_err(|e| pg("reading minute or day rows", &e))?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }
}

impl TierSource for PgTiers<'_, '_> {
    fn detail_from(&mut self) -> Result<Option<i64>, Error> {
        Ok(self
            .tx
            .query_opt("SELECT detail_from FROM hosts WHERE id = $1", &[&self.id])
            .map_err(|e| pg("reading where a host's snapshots start to count", &e))?
            .and_then(|row| row.get(0)))
    }

    fn days(
        &mut self,
        from_day: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        self.rows(
            "SELECT day_ms, block FROM days WHERE host_id = $1 AND day_ms >= $2 \
             AND day_ms < $3 ORDER BY day_ms LIMIT $4",
            from_day,
            to_ms,
            limit,
        )
    }

    fn hour(&mut self, hour: i64) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .tx
            .query_opt(
                "SELECT block FROM minutes WHERE host_id = $1 AND hour_ms = $2",
                &[&self.id, &hour],
            )
            .map_err(|e| pg("reading an hour of minute rows", &e))?
            .map(|row| row.get(0)))
    }

    fn hours(
        &mut self,
        from_hour: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        self.rows(
            "SELECT hour_ms, block FROM minutes WHERE host_id = $1 AND hour_ms >= $2 \
             AND hour_ms < $3 ORDER BY hour_ms LIMIT $4",
            from_hour,
            to_ms,
            limit,
        )
    }
}

/// How much the `days` and `minutes` tables hold.
pub(crate) fn sizes(tx: &mut Transaction<'_>) -> Result<TierSizes, Error> {
    let mut size = |table: &str| -> Result<(u64, u64), Error> {
        let row = tx
            .query_one(
                &format!("SELECT count(*), coalesce(sum(length(block)), 0)::int8 FROM {table}"),
                &[],
            )
            .map_err(|e| pg("measuring the tiers", &e))?;
        let (rows, bytes): (i64, i64) = (row.get(0), row.get(1));
        Ok((rows.unsigned_abs(), bytes.unsigned_abs()))
    };
    let ((day_rows, day_bytes), (minute_hours, minute_bytes)) = (size("days")?, size("minutes")?);
    Ok(TierSizes {
        day_rows,
        day_bytes,
        minute_hours,
        minute_bytes,
    })
}

/// What the store's tables take on disk (heap, TOAST and indexes), bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableBytes {
    /// Every day partition of `snapshots`.
    pub snapshots: u64,
    /// The minute rows.
    pub minutes: u64,
    /// The day rows.
    pub days: u64,
}

pub(crate) fn table_bytes(tx: &mut Transaction<'_>) -> Result<TableBytes, Error> {
    let row = tx
        .query_one(
            "SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::int8 \
                     FROM pg_inherits WHERE inhparent = 'snapshots'::regclass), \
                    pg_total_relation_size('minutes')::int8, pg_total_relation_size('days')::int8",
            &[],
        )
        .map_err(|e| pg("measuring the tables", &e))?;
    let bytes = |i: usize| row.get::<_, i64>(i).unsigned_abs();
    Ok(TableBytes {
        snapshots: bytes(0),
        minutes: bytes(1),
        days: bytes(2),
    })
}
