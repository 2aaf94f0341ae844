//! Alerts and licence-server polls in the database every server of the cluster shares: the
//! server holding the lead writes them, every server lists the same. An alert is kept as the
//! JSON the API lists (as the redb store keeps it), beside the columns pruning needs.

use idlewatch_protocol::api::{Alert, AlertState};
use idlewatch_protocol::time::parse_rfc3339_ms;
use idlewatch_store::{Error, PoolPoint};
use postgres::{Client, Transaction};

use crate::columns::{signed, unsigned};
use crate::error::pg;

/// When `alert` resolved, epoch ms (`None` while it fires).
fn resolved_ms(alert: &Alert) -> Option<i64> {
    (alert.state == AlertState::Resolved)
        .then(|| {
            alert
                .resolved_at
                .as_deref()
                .and_then(|t| parse_rfc3339_ms(t).ok())
        })
        .flatten()
}

fn body(alert: &Alert) -> String {
    // An `Alert` is strings and numbers: it always serializes.
    serde_json::to_string(alert).unwrap_or_default()
}

pub(crate) fn alerts(tx: &mut Transaction<'_>) -> Result<Vec<Alert>, Error> {
    let rows = tx
        .query("SELECT id, body FROM alerts ORDER BY id", &[])
        .map_err(|e| pg("reading the alerts", &e))?;
    rows.iter()
        .map(|row| {
            let id = unsigned(row.get(0));
            let mut alert: Alert = serde_json::from_str(row.get(1))
                .map_err(|e| Error::Corrupt(format!("alert {id}: {e}")))?;
            alert.id = id;
            Ok(alert)
        })
        .collect()
}

pub(crate) fn add_alert(client: &mut Client, alert: &mut Alert) -> Result<u64, Error> {
    let id: i64 = client
        .query_one(
            "INSERT INTO alerts (body, firing, resolved_ms) VALUES ($1, $2, $3) RETURNING id",
            &[
                &body(alert),
                &(alert.state == AlertState::Firing),
                &resolved_ms(alert),
            ],
        )
        .map_err(|e| pg("storing an alert", &e))?
        .get(0);
    alert.id = unsigned(id);
    Ok(alert.id)
}

pub(crate) fn update_alert(client: &mut Client, alert: &Alert) -> Result<(), Error> {
    let row: [&(dyn postgres::types::ToSql + Sync); 4] = [
        &signed(alert.id),
        &body(alert),
        &(alert.state == AlertState::Firing),
        &resolved_ms(alert),
    ];
    let updated = client
        .execute(
            "UPDATE alerts SET body = $2, firing = $3, resolved_ms = $4 WHERE id = $1",
            &row,
        )
        .map_err(|e| pg("storing an alert", &e))?;
    if updated > 0 {
        return Ok(());
    }
    // An id this table never gave: kept under it, and the ids given next moved past it.
    let mut tx = client
        .transaction()
        .map_err(|e| pg("storing an alert", &e))?;
    tx.execute(
        "INSERT INTO alerts (id, body, firing, resolved_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, firing = excluded.firing, \
         resolved_ms = excluded.resolved_ms",
        &row,
    )
    .map_err(|e| pg("storing an alert", &e))?;
    // Never backwards: ids given before and since rolled back or pruned stay given.
    tx.execute(
        "SELECT setval(s, greatest((SELECT max(id) FROM alerts), pg_sequence_last_value(s))) \
         FROM (SELECT pg_get_serial_sequence('alerts', 'id')::regclass AS s) q",
        &[],
    )
    .map_err(|e| pg("moving the alerts' ids on", &e))?;
    tx.commit().map_err(|e| pg("storing an alert", &e))
}

pub(crate) fn prune_alerts(client: &mut Client, cutoff_ms: i64) -> Result<usize, Error> {
    let n = client
        .execute(
            "DELETE FROM alerts WHERE NOT firing AND resolved_ms < $1",
            &[&cutoff_ms],
        )
        .map_err(|e| pg("deleting old alerts", &e))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub(crate) fn add_poll(client: &mut Client, server: &str, point: PoolPoint) -> Result<(), Error> {
    client
        .execute(
            "INSERT INTO licence_polls (server, at_ms, issued, in_use) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (server, at_ms) DO UPDATE SET issued = excluded.issued, \
             in_use = excluded.in_use",
            &[
                &server,
                &point.at_ms,
                &i64::from(point.issued),
                &i64::from(point.in_use),
            ],
        )
        .map_err(|e| pg("storing a licence poll", &e))?;
    Ok(())
}

pub(crate) fn polls(
    tx: &mut Transaction<'_>,
    server: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<PoolPoint>, Error> {
    let rows = tx
        .query(
            "SELECT at_ms, issued, in_use FROM licence_polls \
             WHERE server = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms",
            &[&server, &from_ms, &to_ms],
        )
        .map_err(|e| pg("reading a licence server's polls", &e))?;
    let seats = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(rows
        .iter()
        .map(|row| PoolPoint {
            at_ms: row.get(0),
            issued: seats(row.get(1)),
            in_use: seats(row.get(2)),
        })
        .collect())
}

pub(crate) fn prune_polls(client: &mut Client, cutoff_ms: i64) -> Result<usize, Error> {
    let n = client
        .execute("DELETE FROM licence_polls WHERE at_ms < $1", &[&cutoff_ms])
        .map_err(|e| pg("deleting old licence polls", &e))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Stores `alerts` (with new ids) and `polls` in one transaction: all or none. An alert whose
/// JSON is already stored word for word (a move that failed after committing, tried again) is
/// skipped.
pub(crate) fn import(
    client: &mut Client,
    alerts: &[Alert],
    polls: &[(String, PoolPoint)],
) -> Result<(), Error> {
    let mut tx = client
        .transaction()
        .map_err(|e| pg("moving alerts and licence polls in", &e))?;
    for alert in alerts {
        tx.execute(
            "INSERT INTO alerts (body, firing, resolved_ms) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE body = $1)",
            &[
                &body(alert),
                &(alert.state == AlertState::Firing),
                &resolved_ms(alert),
            ],
        )
        .map_err(|e| pg("moving an alert in", &e))?;
    }
    let servers: Vec<&str> = polls.iter().map(|(s, _)| s.as_str()).collect();
    let at: Vec<i64> = polls.iter().map(|(_, p)| p.at_ms).collect();
    let issued: Vec<i64> = polls.iter().map(|(_, p)| i64::from(p.issued)).collect();
    let in_use: Vec<i64> = polls.iter().map(|(_, p)| i64::from(p.in_use)).collect();
    tx.execute(
        "INSERT INTO licence_polls (server, at_ms, issued, in_use) \
         SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[]) \
         ON CONFLICT (server, at_ms) DO NOTHING",
        &[&servers, &at, &issued, &in_use],
    )
    .map_err(|e| pg("moving licence polls in", &e))?;
    tx.commit()
        .map_err(|e| pg("moving alerts and licence polls in", &e))
}
