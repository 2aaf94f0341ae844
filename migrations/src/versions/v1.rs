//! Schema version 1: every snapshot as its JSON text, keyed by server sequence number.
//! Simple and large (a 300-process snapshot takes a 32 KB page block); kept so files written
//! by it can be upgraded, and so tests can write such files.

use redb::{TableDefinition, WriteTransaction};

use idlewatch_format::Error;
use idlewatch_format::META;

/// v1's one data table: `seq` → `(host, received_ms, json)`.
pub const V1_SNAPSHOTS: TableDefinition<u64, (&str, i64, &str)> = TableDefinition::new("snapshots");

/// Creates the v1 tables.
///
/// # Errors
/// On storage failure.
pub fn v1_initial(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(META)?;
    txn.open_table(V1_SNAPSHOTS)?;
    Ok(())
}

/// Writes one snapshot the way schema v1 did (for building v1 fixture files).
///
/// # Errors
/// On storage failure.
pub fn insert_v1(
    txn: &WriteTransaction,
    seq: u64,
    host: &str,
    received_ms: i64,
    json: &str,
) -> Result<(), Error> {
    txn.open_table(V1_SNAPSHOTS)?
        .insert(seq, (host, received_ms, json))?;
    Ok(())
}
