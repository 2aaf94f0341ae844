//! Schema version 3: each record carries its [`Summary`](idlewatch_format::Summary) for reports.
//! Records written under version 2 keep their bytes and are summarized from their JSON when
//! read, so this upgrade only records the version: instant whatever the store's size, and an
//! older server refuses the file (it could not read the new record kinds).

use redb::WriteTransaction;

use idlewatch_format::Error;

/// Nothing to rewrite; see the module documentation.
///
/// # Errors
/// None; the signature is the one every upgrade has.
pub fn v3_summaries(_txn: &WriteTransaction) -> Result<(), Error> {
    Ok(())
}
