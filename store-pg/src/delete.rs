//! Deleting one host's snapshots (all of them, or those captured in a range) from the shared
//! store, one UTC day per transaction, then its minute and day rows of the range. Each
//! transaction holds the host's advisory locks first — the writers' (so no
//! server commits a delta on a record being deleted) and aging's (so no hour is folded from
//! them meanwhile). Kept records whose base goes are rewritten as keyframes (same header and
//! summary, compressed alone) while their bases can still be read; delta chains never leave a
//! UTC day, so only the days holding the range's ends are looked at. Then the rows go, with
//! the minute rows of the hours the range touches and those hours of the host's day rows (as
//! on the redb store), and the host's `deletions` is bumped: every server's writer starts its
//! next record of the host as a keyframe.

use idlewatch_format::days::DayBlock;
use idlewatch_format::minutes::HOUR_MS;
use idlewatch_format::{DAY_MS, Encoder, RecordHeader, day_of, read_summary};
use idlewatch_store::{DeleteQuery, Error};
use postgres::{Client, IsolationLevel, Transaction};

use crate::age::AGE_LOCK;
use crate::columns::{signed, unsigned};
use crate::counts;
use crate::error::{corrupt, pg};
use crate::group::HOST_LOCKS;
use crate::partitions::day_index;
use crate::read::{Decoding, host_id};

const WHAT: &str = "deleting a host's snapshots";

/// A transaction holding host `id`'s locks (the writers' and aging's), reading what others
/// committed before it got them.
fn locked<'c>(client: &'c mut Client, id: i32) -> Result<Transaction<'c>, Error> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .map_err(|e| pg(WHAT, &e))?;
    for lock in [HOST_LOCKS, AGE_LOCK] {
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&lock, &id])
            .map_err(|e| pg(WHAT, &e))?;
    }
    Ok(tx)
}

/// Deletes what `query` names, one UTC day per transaction (a writer storing the host waits
/// for one day's deletion at most); returns how many snapshots went.
pub(crate) fn delete(client: &mut Client, query: &DeleteQuery) -> Result<u64, Error> {
    let id = {
        let mut tx = client.transaction().map_err(|e| pg(WHAT, &e))?;
        let id = host_id(&mut tx, &query.host)?;
        let holds = match id {
            Some(id) => holds_anything(&mut tx, id)?,
            None => false,
        };
        tx.commit().map_err(|e| pg(WHAT, &e))?;
        match id {
            Some(id) if holds => id,
            _ => return Err(Error::UnknownHost(query.host.clone())),
        }
    };
    let from = query.from_ms.unwrap_or(i64::MIN).max(i64::MIN / 2);
    let to = query.to_ms.unwrap_or(i64::MAX).min(i64::MAX / 2);
    let span: (Option<i64>, Option<i64>) = {
        let row = client
            .query_one(
                "SELECT min(captured_ms), max(captured_ms) FROM snapshots \
                 WHERE host_id = $1 AND captured_ms >= $2 AND captured_ms < $3",
                &[&id, &from, &to],
            )
            .map_err(|e| pg(WHAT, &e))?;
        (row.get(0), row.get(1))
    };
    let mut removed = 0;
    if let (Some(first), Some(last)) = span {
        let mut day = day_of(first);
        while day <= last {
            let (start, end) = (from.max(day), to.min(day.saturating_add(DAY_MS)));
            let mut tx = locked(client, id)?;
            rewrite_orphans(&mut tx, id, day, (start, end))?;
            let gone = tx
                .execute(
                    "DELETE FROM snapshots WHERE host_id = $1 AND captured_ms >= $2 \
                     AND captured_ms < $3",
                    &[&id, &start, &end],
                )
                .map_err(|e| pg(WHAT, &e))?;
            let minus = i64::try_from(gone).unwrap_or(i64::MAX).saturating_neg();
            counts::add(&mut tx, &[(day_index(day), minus)])?;
            removed += gone;
            bump(&mut tx, id)?;
            tx.commit().map_err(|e| pg(WHAT, &e))?;
            day = day.saturating_add(DAY_MS);
        }
    }
    let mut tx = locked(client, id)?;
    remove_tiers(&mut tx, id, from, to)?;
    if !holds_anything(&mut tx, id)? {
        // Nothing of the host is left: its next snapshots count from the start.
        tx.execute("UPDATE hosts SET detail_from = NULL WHERE id = $1", &[&id])
            .map_err(|e| pg(WHAT, &e))?;
    }
    bump(&mut tx, id)?;
    tx.commit().map_err(|e| pg(WHAT, &e))?;
    Ok(removed)
}

/// Bumps host `id`'s `deletions`: every writer starts its next record of the host afresh.
fn bump(tx: &mut Transaction<'_>, id: i32) -> Result<(), Error> {
    tx.execute(
        "UPDATE hosts SET deletions = deletions + 1 WHERE id = $1",
        &[&id],
    )
    .map_err(|e| pg(WHAT, &e))?;
    Ok(())
}

/// Whether anything of host `id` is stored: snapshots, minute rows or day rows.
fn holds_anything(tx: &mut Transaction<'_>, id: i32) -> Result<bool, Error> {
    Ok(tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM snapshots WHERE host_id = $1) \
                 OR EXISTS (SELECT 1 FROM minutes WHERE host_id = $1) \
                 OR EXISTS (SELECT 1 FROM days WHERE host_id = $1)",
            &[&id],
        )
        .map_err(|e| pg(WHAT, &e))?
        .get(0))
}

/// Rewrites as keyframes host `id`'s records of the UTC day starting at `day` that stay and
/// are deltas on one captured in `[from, to)` (delta chains never leave a day).
fn rewrite_orphans(
    tx: &mut Transaction<'_>,
    id: i32,
    day: i64,
    (from, to): (i64, i64),
) -> Result<(), Error> {
    let end = day.saturating_add(DAY_MS);
    if from <= day && to >= end {
        // The whole day goes: nothing of it leans on anything.
        return Ok(());
    }
    let orphans = tx
        .query(
            "SELECT k.seq, k.captured_ms, k.record FROM snapshots k \
             JOIN snapshots b ON b.host_id = k.host_id AND b.seq = k.base_seq \
              AND b.captured_ms >= $4 AND b.captured_ms < $5 \
             WHERE k.host_id = $1 AND k.captured_ms >= $4 AND k.captured_ms < $5 \
              AND NOT (k.captured_ms >= $2 AND k.captured_ms < $3) \
              AND b.captured_ms >= $2 AND b.captured_ms < $3 \
             ORDER BY k.seq",
            &[&id, &from, &to, &day, &end],
        )
        .map_err(|e| pg(WHAT, &e))?;
    let mut encoder = Encoder::default();
    let mut decoding = Decoding::new(id);
    for row in orphans {
        let seq = unsigned(row.get(0));
        let captured_ms: i64 = row.get(1);
        let record: Vec<u8> = row.get(2);
        let summary = read_summary(seq, &record)?;
        let (header, json) = decoding.decode(tx, seq, captured_ms, record)?;
        let keyframe = RecordHeader {
            base: None,
            ..header
        };
        let bytes = encoder
            .encode(&keyframe, summary.as_ref(), &json, None)
            .map_err(|e| corrupt(format!("record {seq} could not be rewritten: {e}")))?;
        tx.execute(
            "UPDATE snapshots SET record = $4, base_seq = NULL \
             WHERE host_id = $1 AND captured_ms = $2 AND seq = $3",
            &[&id, &captured_ms, &signed(seq), &bytes],
        )
        .map_err(|e| pg(WHAT, &e))?;
    }
    Ok(())
}

/// Removes host `id`'s minute rows of the hours from the one holding `from` to before `to`,
/// and those hours from its day rows (a day row left with none goes).
fn remove_tiers(tx: &mut Transaction<'_>, id: i32, from: i64, to: i64) -> Result<(), Error> {
    let from = from.div_euclid(HOUR_MS).saturating_mul(HOUR_MS);
    tx.execute(
        "DELETE FROM minutes WHERE host_id = $1 AND hour_ms >= $2 AND hour_ms < $3",
        &[&id, &from, &to],
    )
    .map_err(|e| pg(WHAT, &e))?;
    let days = tx
        .query(
            "SELECT day_ms, block FROM days WHERE host_id = $1 AND day_ms >= $2 AND day_ms < $3",
            &[&id, &day_of(from.max(i64::MIN / 2)), &to],
        )
        .map_err(|e| pg(WHAT, &e))?;
    for row in days {
        let day: i64 = row.get(0);
        let kept = DayBlock::decode(row.get(1))
            .map_err(|e| corrupt(format!("day row of host {id} at {day}: {e}")))?
            .without(|h| (from..to).contains(&(day + i64::from(h) * HOUR_MS)));
        if kept.hours.is_empty() {
            tx.execute(
                "DELETE FROM days WHERE host_id = $1 AND day_ms = $2",
                &[&id, &day],
            )
            .map_err(|e| pg(WHAT, &e))?;
        } else {
            let bytes = kept
                .encode()
                .map_err(|e| corrupt(format!("cannot encode a day row: {e}")))?;
            tx.execute(
                "UPDATE days SET block = $3 WHERE host_id = $1 AND day_ms = $2",
                &[&id, &day, &bytes],
            )
            .map_err(|e| pg(WHAT, &e))?;
        }
    }
    Ok(())
}
