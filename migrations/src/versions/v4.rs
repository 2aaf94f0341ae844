//! Schema version 4: the `agent_tokens` table (per-host agent tokens, stored hashed).

use redb::WriteTransaction;

use idlewatch_format::AGENT_TOKENS;
use idlewatch_format::Error;

/// Creates the table, so readers of a store without tokens find it.
///
/// # Errors
/// On storage failure.
pub fn v4_agent_tokens(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(AGENT_TOKENS)?;
    Ok(())
}
