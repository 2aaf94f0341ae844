//! The tokens an admin issues, in the database every server of the cluster shares: per-host
//! agent tokens and viewer tokens scoped to groups, as SHA-256 hashes, so a token issued on one
//! server is accepted by all, and revoked on one, by none.

use idlewatch_store::{Error, Holder, StoredToken};
use postgres::{Client, Transaction};

use crate::columns::{signed, unsigned};
use crate::error::pg;

pub(crate) fn all(tx: &mut Transaction<'_>) -> Result<Vec<StoredToken>, Error> {
    let rows = tx
        .query(
            "SELECT id, host, groups, hash, created_ms FROM tokens ORDER BY id",
            &[],
        )
        .map_err(|e| pg("reading the issued tokens", &e))?;
    Ok(rows
        .iter()
        .map(|row| {
            let host: Option<String> = row.get(1);
            let groups: Option<Vec<String>> = row.get(2);
            StoredToken {
                id: unsigned(row.get(0)),
                holder: match host {
                    Some(host) => Holder::Host(host),
                    None => Holder::Groups(groups.unwrap_or_default()),
                },
                hash: row.get(3),
                created_ms: row.get(4),
            }
        })
        .collect())
}

pub(crate) fn add(
    client: &mut Client,
    holder: &Holder,
    hash: &[u8],
    created_ms: i64,
) -> Result<u64, Error> {
    let (host, groups) = match holder {
        Holder::Host(host) => (Some(host.as_str()), None),
        Holder::Groups(groups) => (None, Some(groups.as_slice())),
    };
    let id: i64 = client
        .query_one(
            "INSERT INTO tokens (host, groups, hash, created_ms) VALUES ($1, $2, $3, $4) \
             RETURNING id",
            &[&host, &groups, &hash, &created_ms],
        )
        .map_err(|e| pg("storing an issued token", &e))?
        .get(0);
    Ok(unsigned(id))
}

pub(crate) fn remove(client: &mut Client, id: u64) -> Result<bool, Error> {
    Ok(client
        .execute("DELETE FROM tokens WHERE id = $1", &[&signed(id)])
        .map_err(|e| pg("revoking a token", &e))?
        > 0)
}
