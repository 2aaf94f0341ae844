//! Schema version 6: the `alerts` table (each alert a rule raised, firing or resolved), so a
//! restart neither forgets a firing alert nor notifies it again.

use redb::WriteTransaction;

use idlewatch_format::ALERTS;
use idlewatch_format::Error;

/// Creates the table, so readers of a store without alerts find it.
///
/// # Errors
/// On storage failure.
pub fn v6_alerts(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(ALERTS)?;
    Ok(())
}
