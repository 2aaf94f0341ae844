//! Schema version 9: the `viewer_tokens` table (viewer tokens scoped to groups, stored hashed).

use redb::WriteTransaction;

use idlewatch_format::Error;
use idlewatch_format::VIEWER_TOKENS;

/// Creates the table, so readers of a store without scoped tokens find it.
///
/// # Errors
/// On storage failure.
pub fn v9_viewer_tokens(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(VIEWER_TOKENS)?;
    Ok(())
}
