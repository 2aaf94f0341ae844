//! Schema version 11: the minute tier (`minutes`, `detail_from`): records that aged are folded
//! into per-host minute rows, and readers count a host's records only from its `detail_from`.
//! A server that predates it would count the records kept as delta bases twice and miss the
//! minutes, so the version tells it to refuse the file.

use redb::WriteTransaction;

use idlewatch_format::Error;
use idlewatch_format::{DETAIL_FROM, MINUTES};

/// Creates both tables, so readers of a store that never aged find them.
///
/// # Errors
/// On storage failure.
pub fn v11_minutes(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(MINUTES)?;
    txn.open_table(DETAIL_FROM)?;
    Ok(())
}
