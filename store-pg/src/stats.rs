//! What `idlewatch-admin db stats --shared` shows of the database a cluster shares: the schema
//! version, the snapshots stored whole and their records' bytes, the minute and day rows, and
//! per host its snapshots from `detail_from`, their first and last capture, and its minute rows.
//! Counting reads every kept snapshot's row (not its record): an operator's command, not a
//! dashboard's.

use idlewatch_protocol::api::{HostStoreStats, StoreStats};
use idlewatch_protocol::time::rfc3339_ms;
use idlewatch_store::Error;
use postgres::Transaction;

use crate::error::pg;

/// The database's stats; `path` is left empty for the caller to name the database.
pub(crate) fn read(tx: &mut Transaction<'_>) -> Result<StoreStats, Error> {
    let schema: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM idlewatch_schema",
            &[],
        )
        .map_err(|e| pg("reading the schema version", &e))?
        .get(0);
    let bytes = crate::tiers::table_bytes(tx)?;
    let tier = |tx: &mut Transaction<'_>, sql: &str| -> Result<(u64, u64), Error> {
        let row = tx
            .query_one(sql, &[])
            .map_err(|e| pg("counting the minute and day rows", &e))?;
        Ok((
            row.get::<_, i64>(0).unsigned_abs(),
            row.get::<_, i64>(1).unsigned_abs(),
        ))
    };
    let (minute_hours, minute_bytes) = tier(
        tx,
        "SELECT count(*), coalesce(sum(octet_length(block)), 0)::int8 FROM minutes",
    )?;
    let (day_rows, day_bytes) = tier(
        tx,
        "SELECT count(*), coalesce(sum(octet_length(block)), 0)::int8 FROM days",
    )?;
    let rows = tx
        .query(
            "SELECT h.name, h.detail_from, count(s.seq), min(s.captured_ms), max(s.captured_ms), \
                    coalesce(sum(octet_length(s.record)), 0)::int8, \
                    (SELECT count(*) FROM minutes m WHERE m.host_id = h.id), \
                    (SELECT count(*) FROM days d WHERE d.host_id = h.id) \
             FROM hosts h LEFT JOIN snapshots s \
               ON s.host_id = h.id AND s.captured_ms >= coalesce(h.detail_from, $1) \
             GROUP BY h.id, h.name, h.detail_from ORDER BY h.name COLLATE \"C\"",
            &[&i64::MIN],
        )
        .map_err(|e| pg("counting each host's snapshots", &e))?;
    let mut stats = StoreStats {
        path: String::new(),
        file_bytes: bytes.snapshots + bytes.minutes + bytes.days,
        schema_version: u64::try_from(schema).unwrap_or(0),
        snapshots: 0,
        record_bytes: 0,
        minute_hours,
        minute_bytes,
        day_rows,
        day_bytes,
        host_days: 0,
        host_day_bytes: 0,
        summary_hours: 0,
        summary_hour_bytes: 0,
        hosts: Vec::new(),
    };
    let time = |ms: Option<i64>| ms.map(rfc3339_ms).unwrap_or_default();
    for row in rows {
        let snapshots = row.get::<_, i64>(2).unsigned_abs();
        let minutes = row.get::<_, i64>(6).unsigned_abs();
        // A host deleted whole keeps its row (and id), but nothing of it is stored.
        if snapshots == 0 && minutes == 0 && row.get::<_, i64>(7) == 0 {
            continue;
        }
        stats.snapshots += snapshots;
        stats.record_bytes += row.get::<_, i64>(5).unsigned_abs();
        stats.hosts.push(HostStoreStats {
            host: row.get(0),
            snapshots,
            first: time(row.get(3)),
            last: time(row.get(4)),
            detail_from: row.get::<_, Option<i64>>(1).map(rfc3339_ms),
            minute_hours: minutes,
        });
    }
    Ok(stats)
}
