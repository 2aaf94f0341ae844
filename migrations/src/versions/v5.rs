//! Schema version 5: a record's summary may carry the user session (user, logon time), for
//! logon and user counts. Older summaries have none and read as before, so this upgrade only
//! records the version: instant whatever the store's size, and an older server refuses the
//! file (it could not read the new summaries).

use redb::WriteTransaction;

use idlewatch_format::Error;

/// Nothing to rewrite; see the module documentation.
///
/// # Errors
/// None; the signature is the one every upgrade has.
pub fn v5_session_summaries(_txn: &WriteTransaction) -> Result<(), Error> {
    Ok(())
}
