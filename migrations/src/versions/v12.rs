//! Schema version 12: the day tier (`days`): each host's minute rows summed hour by hour per
//! UTC day, built for every day folded whole, and kept when `[retention] minutes` deletes the
//! minute rows. A server that predates it would lose those days' usage once their minutes go,
//! so the version tells it to refuse the file.

use redb::{ReadableTable, WriteTransaction};

use idlewatch_format::days::build_day;
use idlewatch_format::{DAY_MS, DAYS, DETAIL_FROM, Error, MINUTES, day_of};

/// Creates the table and builds the day rows of every day a host has folded whole.
///
/// # Errors
/// On storage failure, or a minute row that does not decode.
pub fn v12_days(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(DAYS)?;
    let mut hosts = Vec::new();
    for entry in txn.open_table(DETAIL_FROM)?.iter()? {
        let (id, from) = entry?;
        hosts.push((id.value(), from.value()));
    }
    for (id, detail_from) in hosts {
        let mut days = Vec::new();
        for entry in txn
            .open_table(MINUTES)?
            .range((id, i64::MIN)..(id, day_of(detail_from)))?
        {
            let day = day_of(entry?.0.value().1);
            if days.last() != Some(&day) && day + DAY_MS <= detail_from {
                days.push(day);
            }
        }
        for day in days {
            build_day(txn, id, day)?;
        }
    }
    Ok(())
}
