//! Schema version 2: compact records (see [`crate::format`]). Re-encodes every v1 snapshot in
//! sequence order, keeping its sequence number and receive time, then drops the v1 table.

use idlewatch_protocol::Snapshot;
use redb::{ReadableTable, WriteTransaction};

use super::v1::V1_SNAPSHOTS;
use idlewatch_format::Error;
use idlewatch_format::{
    BY_TIME, DEDUP_SEQ, HOST_IDS, HOST_LAST, HOST_NAMES, META, NEXT_SEQ_KEY, RECORDS, RecordWriter,
};

/// Creates the v2 tables and moves v1 data into them.
///
/// # Errors
/// On storage failure, or a v1 row that is not a valid snapshot.
pub fn v2_compact(txn: &WriteTransaction) -> Result<(), Error> {
    // Create every table now, so readers of an empty store find them.
    txn.open_table(HOST_IDS)?;
    txn.open_table(HOST_NAMES)?;
    txn.open_table(RECORDS)?;
    txn.open_table(BY_TIME)?;
    txn.open_table(HOST_LAST)?;
    txn.open_table(DEDUP_SEQ)?;
    let rows: Vec<(u64, String, i64, String)> = {
        let v1 = txn.open_table(V1_SNAPSHOTS)?;
        v1.iter()?
            .map(|row| {
                let (k, v) = row?;
                let (host, received_ms, json) = v.value();
                Ok((k.value(), host.to_owned(), received_ms, json.to_owned()))
            })
            .collect::<Result<_, redb::StorageError>>()?
    };
    let mut writer = RecordWriter::new();
    let mut next_seq = 1;
    for (seq, host, received_ms, json) in rows {
        let snapshot = Snapshot::parse(&json).map_err(|e| Error::Corrupt {
            what: format!("v1 snapshot {seq} of {host}"),
            reason: e.to_string(),
        })?;
        // Keep the sequence numbers agents were acked with.
        txn.open_table(META)?.insert(NEXT_SEQ_KEY, seq)?;
        let mut batch = writer.batch(txn)?;
        batch.append(&snapshot, received_ms)?;
        batch.finish()?;
        next_seq = seq + 1;
    }
    txn.open_table(META)?
        .insert(NEXT_SEQ_KEY, next_seq.max(1))?;
    txn.delete_table(V1_SNAPSHOTS)?;
    Ok(())
}
