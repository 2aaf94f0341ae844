//! Schema version 13: summary hours (`summary_hours`, `summary_hours_to`): each settled hour's
//! record summaries of a host gathered into one row, a cache of its records. The tables start
//! empty and the server fills them in the background, oldest hour first. A server that predates
//! them would add and delete records without removing the rows they change, so the version
//! tells it to refuse the file.

use redb::WriteTransaction;

use idlewatch_format::{Error, SUMMARY_HOURS, SUMMARY_HOURS_TO};

/// Creates the two tables, empty.
///
/// # Errors
/// On storage failure.
pub fn v13_summary_hours(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(SUMMARY_HOURS)?;
    txn.open_table(SUMMARY_HOURS_TO)?;
    Ok(())
}
