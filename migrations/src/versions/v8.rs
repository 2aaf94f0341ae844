//! Schema version 8: the `host_days` rollups (each host's watched apps per UTC day as spans of
//! one state) and their `host_day_generations`. A store upgraded from 7 has none yet: the
//! server builds them in the background from the stored summaries, newest days first, and the
//! licence views read the summaries for any day not built.

use redb::WriteTransaction;

use idlewatch_format::Error;
use idlewatch_format::{HOST_DAY_GENERATIONS, HOST_DAYS};

/// Creates both tables.
///
/// # Errors
/// On storage failure.
pub fn v8_host_days(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(HOST_DAYS)?;
    txn.open_table(HOST_DAY_GENERATIONS)?;
    Ok(())
}
