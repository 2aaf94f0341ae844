//! Schema version 10: records may be structural deltas (record kind 5, see
//! `idlewatch_format::structural`). Nothing in the file changes; the version says that a
//! server older than this one, which cannot read such records, must not open it.

use redb::WriteTransaction;

use idlewatch_format::Error;

/// Marks the file as one that may hold structural deltas.
///
/// # Errors
/// None: nothing is written but the version, by the caller.
pub fn v10_structural_deltas(_txn: &WriteTransaction) -> Result<(), Error> {
    Ok(())
}
