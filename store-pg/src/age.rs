//! Aging in PostgreSQL: each host's snapshots captured before `[retention] snapshots` folded
//! into minute rows one host-hour per transaction (the redb store's fold,
//! [`HourBlock::fold`], over the summary columns), a day row built in the transaction that
//! folds a day whole, and the host's `detail_from` moved forward with them, so a reader sees
//! every moment once. Then the day partitions of snapshots that no host still reads are
//! dropped, and the minute rows of days older than `[retention] minutes` deleted.
//!
//! A round runs on one pooled connection, off the writers: ingest goes on meanwhile. Each
//! host-hour is folded under an advisory lock of its host and re-reads `detail_from` first,
//! so two servers aging at once (one taking over the lead) fold every hour once.

use idlewatch_format::days::DayBlock;
use idlewatch_format::minutes::{FoldPoint, HOUR_MS, HourBlock};
use idlewatch_format::{DAY_MS, day_of};
use idlewatch_store::{Aged, Error, SummaryRow};
use postgres::{Client, IsolationLevel, Transaction};

use crate::error::{corrupt, pg};
use crate::partitions;
use crate::read::{SUMMARY_COLUMNS, summary_row};

/// The advisory lock class of aging one host ("IWHA"); the second key is the host's id.
pub(crate) const AGE_LOCK: i32 = 0x4957_4841;

/// Folds what was captured before `before_ms` (rounded down to the hour), each snapshot
/// covering at most `cover_ms`; drops the day partitions no host reads any more; deletes the
/// minute rows of the whole days before `minutes_before_ms`, if given.
pub(crate) fn age(
    client: &mut Client,
    before_ms: i64,
    cover_ms: i64,
    minutes_before_ms: Option<i64>,
) -> Result<Aged, Error> {
    let before_ms = before_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let hosts: Vec<(i32, String)> = client
        .query("SELECT id, name FROM hosts ORDER BY id", &[])
        .map_err(|e| pg("listing hosts to age", &e))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let mut aged = Aged::default();
    for (id, name) in hosts {
        loop {
            match fold_step(client, id, before_ms, cover_ms) {
                Ok(Some(hours)) => aged.folded_hours += hours,
                Ok(None) => break,
                // One host's unreadable snapshot must not stop the others from aging.
                Err(e) => {
                    tracing::error!(host = %name, "cannot fold old snapshots into minutes: {e}");
                    break;
                }
            }
        }
    }
    aged.removed = partitions::drop_folded(client, day_of(before_ms), cover_ms)?;
    if let Some(minutes_before_ms) = minutes_before_ms {
        aged.trimmed_hours = trim(client, day_of(minutes_before_ms))?;
    }
    Ok(aged)
}

/// The summaries of host `id`'s snapshots that `clause` (a WHERE clause on `$1` the host and
/// `$2` a time) selects.
fn points(
    tx: &mut Transaction<'_>,
    clause: &str,
    id: i32,
    at: i64,
    end: Option<i64>,
) -> Result<Vec<SummaryRow>, Error> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM snapshots WHERE host_id = $1 AND {clause}");
    let rows = match end {
        Some(end) => tx.query(&sql, &[&id, &at, &end]),
        None => tx.query(&sql, &[&id, &at]),
    }
    .map_err(|e| pg("reading snapshots to fold", &e))?;
    rows.iter().map(summary_row).collect()
}

fn point(r: &SummaryRow) -> FoldPoint<'_> {
    FoldPoint {
        at_ms: r.captured_ms,
        summary: &r.summary,
    }
}

/// Folds host `id`'s next hour before `before_ms` (and skips the hours after it that nothing
/// covers); the host-hours it moved past, `None` when it had none left.
fn fold_step(
    client: &mut Client,
    id: i32,
    before_ms: i64,
    cover_ms: i64,
) -> Result<Option<u64>, Error> {
    let what = "folding an hour of snapshots into minutes";
    // Read committed: `detail_from` is read once the lock is held, as another server's aging
    // left it.
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .map_err(|e| pg(what, &e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&AGE_LOCK, &id])
        .map_err(|e| pg(what, &e))?;
    let detail_from: Option<i64> = tx
        .query_one("SELECT detail_from FROM hosts WHERE id = $1", &[&id])
        .map_err(|e| pg(what, &e))?
        .get(0);
    let first_at_or_after = |tx: &mut Transaction<'_>, t: i64| -> Result<Option<i64>, Error> {
        Ok(tx
            .query_one(
                "SELECT min(captured_ms) FROM snapshots WHERE host_id = $1 AND captured_ms >= $2",
                &[&id, &t],
            )
            .map_err(|e| pg(what, &e))?
            .get(0))
    };
    let hour = match detail_from {
        Some(from) => from,
        None => match first_at_or_after(&mut tx, i64::MIN)? {
            Some(first) => first.div_euclid(HOUR_MS) * HOUR_MS,
            None => return Ok(None),
        },
    };
    if hour >= before_ms {
        return Ok(None);
    }
    let end = hour + HOUR_MS;
    let before = points(
        &mut tx,
        "captured_ms < $2 ORDER BY captured_ms DESC, seq DESC LIMIT 1",
        id,
        hour,
        None,
    )?;
    let inside = points(
        &mut tx,
        "captured_ms >= $2 AND captured_ms < $3 ORDER BY captured_ms, seq",
        id,
        hour,
        Some(end),
    )?;
    let next = first_at_or_after(&mut tx, end)?;
    let folded: Vec<FoldPoint<'_>> = inside.iter().map(point).collect();
    let block = HourBlock::fold(hour, cover_ms, before.first().map(point), &folded, next);
    let mut moved_to = end;
    if block.minutes.is_empty() {
        // Nothing covered it, so nothing covers the hours before the next snapshot either:
        // that snapshot's hour is the next to fold.
        let resume = next.map_or(before_ms, |n| n.div_euclid(HOUR_MS) * HOUR_MS);
        moved_to = resume.min(before_ms);
    } else {
        let bytes = block
            .encode()
            .map_err(|e| corrupt(format!("cannot encode the minutes of an hour: {e}")))?;
        put(&mut tx, "minutes", "hour_ms", (id, hour), &bytes)?;
    }
    tx.execute(
        "UPDATE hosts SET detail_from = $2 WHERE id = $1",
        &[&id, &moved_to],
    )
    .map_err(|e| pg(what, &e))?;
    // The hour ended its day's folding: the hours after it up to `moved_to` hold nothing, so
    // the day is whole and its day row is built now.
    let day = day_of(hour);
    if day.saturating_add(DAY_MS) <= moved_to {
        build_day(&mut tx, id, day)?;
    }
    tx.commit().map_err(|e| pg(what, &e))?;
    Ok(Some(
        u64::try_from((moved_to - hour) / HOUR_MS).unwrap_or(0),
    ))
}

/// Builds host `id`'s day row of the day starting at `day_ms` from its minute rows.
fn build_day(tx: &mut Transaction<'_>, id: i32, day_ms: i64) -> Result<(), Error> {
    let what = "building a day row";
    let mut blocks = Vec::new();
    for row in tx
        .query(
            "SELECT hour_ms, block FROM minutes WHERE host_id = $1 AND hour_ms >= $2 \
             AND hour_ms < $3 ORDER BY hour_ms",
            &[&id, &day_ms, &(day_ms + DAY_MS)],
        )
        .map_err(|e| pg(what, &e))?
    {
        let hour: i64 = row.get(0);
        let block = HourBlock::decode(row.get(1))
            .map_err(|e| corrupt(format!("minutes of host {id} at {hour}: {e}")))?;
        blocks.push((hour, block));
    }
    let day = DayBlock::of(day_ms, &blocks);
    if day.hours.is_empty() {
        tx.execute(
            "DELETE FROM days WHERE host_id = $1 AND day_ms = $2",
            &[&id, &day_ms],
        )
        .map_err(|e| pg(what, &e))?;
        return Ok(());
    }
    let bytes = day
        .encode()
        .map_err(|e| corrupt(format!("cannot encode a day row: {e}")))?;
    put(tx, "days", "day_ms", (id, day_ms), &bytes)
}

/// Stores `block` as host `id`'s row at time `at` of `table` (keyed by `host_id` and
/// `column`), replacing what was there.
fn put(
    tx: &mut Transaction<'_>,
    table: &str,
    column: &str,
    (id, at): (i32, i64),
    block: &[u8],
) -> Result<(), Error> {
    tx.execute(
        &format!(
            "INSERT INTO {table} (host_id, {column}, block) VALUES ($1, $2, $3) \
             ON CONFLICT (host_id, {column}) DO UPDATE SET block = EXCLUDED.block"
        ),
        &[&id, &at, &block],
    )
    .map_err(|e| pg(&format!("storing a row of {table}"), &e))?;
    Ok(())
}

/// Deletes the minute rows of the whole UTC days before `before_day_ms` that their host has
/// folded whole (its day rows answer for them), one day per transaction; returns the
/// host-hours deleted.
fn trim(client: &mut Client, before_day_ms: i64) -> Result<u64, Error> {
    let what = "deleting minute rows older than retention.minutes";
    let Some(first): Option<i64> = client
        .query_one("SELECT min(hour_ms) FROM minutes", &[])
        .map_err(|e| pg(what, &e))?
        .get(0)
    else {
        return Ok(0);
    };
    let mut removed = 0;
    let mut day = day_of(first);
    while day < before_day_ms {
        removed += client
            .execute(
                "DELETE FROM minutes m USING hosts h WHERE m.host_id = h.id \
                 AND m.hour_ms >= $1 AND m.hour_ms < $2 AND h.detail_from >= $2",
                &[&day, &(day + DAY_MS)],
            )
            .map_err(|e| pg(what, &e))?;
        day += DAY_MS;
    }
    Ok(removed)
}
