//! Schema version 7: the `licence_polls` table (each licence server's seats issued and in use
//! at each poll), for the pool's history over time.

use redb::WriteTransaction;

use idlewatch_format::Error;
use idlewatch_format::LICENCE_POLLS;

/// Creates the table, so readers of a store without polls find it.
///
/// # Errors
/// On storage failure.
pub fn v7_licence_polls(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(LICENCE_POLLS)?;
    Ok(())
}
