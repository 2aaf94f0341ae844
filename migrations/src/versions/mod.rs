//! Schema versions, each an upgrade function run in order, and [`migrate`], which brings a file
//! to [`CURRENT_VERSION`] before it is used.

pub mod v1;
mod v10;
mod v11;
mod v12;
mod v13;
mod v2;
mod v3;
mod v4;
mod v5;
mod v6;
mod v7;
mod v8;
mod v9;

use redb::{Database, ReadableDatabase, WriteTransaction};

use idlewatch_format::Error;
use idlewatch_format::{META, SCHEMA_VERSION_KEY};

/// The schema version this build writes.
pub const CURRENT_VERSION: u64 = 13;

type Upgrade = fn(&WriteTransaction) -> Result<(), Error>;

/// Upgrade `i` brings a file from version `i` to `i + 1` (version 0 is an empty file).
const UPGRADES: [(&str, Upgrade); CURRENT_VERSION as usize] = [
    ("v1_initial", v1::v1_initial),
    ("v2_compact", v2::v2_compact),
    ("v3_summaries", v3::v3_summaries),
    ("v4_agent_tokens", v4::v4_agent_tokens),
    ("v5_session_summaries", v5::v5_session_summaries),
    ("v6_alerts", v6::v6_alerts),
    ("v7_licence_polls", v7::v7_licence_polls),
    ("v8_host_days", v8::v8_host_days),
    ("v9_viewer_tokens", v9::v9_viewer_tokens),
    ("v10_structural_deltas", v10::v10_structural_deltas),
    ("v11_minutes", v11::v11_minutes),
    ("v12_days", v12::v12_days),
    ("v13_summary_hours", v13::v13_summary_hours),
];

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Version found (0 for a new, empty file).
    pub from: u64,
    /// Version now.
    pub to: u64,
    /// Names of the upgrades run, in order.
    pub applied: Vec<&'static str>,
}

/// The schema version recorded in `db` (0 when the file is new).
///
/// # Errors
/// On storage failure.
pub fn schema_version(db: &impl ReadableDatabase) -> Result<u64, Error> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    Ok(meta.get(SCHEMA_VERSION_KEY)?.map_or(0, |v| v.value()))
}

/// Upgrades `db` in place to [`CURRENT_VERSION`], one committed transaction per version, so an
/// interrupted upgrade resumes where it stopped.
///
/// # Errors
/// [`Error::TooNew`] for a file of a newer schema; storage errors otherwise.
pub fn migrate(db: &Database) -> Result<Outcome, Error> {
    let from = schema_version(db)?;
    if from > CURRENT_VERSION {
        return Err(Error::TooNew {
            found: from,
            supported: CURRENT_VERSION,
        });
    }
    let mut applied = Vec::new();
    for version in from..CURRENT_VERSION {
        let (name, upgrade) = UPGRADES[usize::try_from(version).unwrap_or(usize::MAX)];
        let txn = db.begin_write()?;
        upgrade(&txn)?;
        txn.open_table(META)?
            .insert(SCHEMA_VERSION_KEY, version + 1)?;
        txn.commit()?;
        applied.push(name);
    }
    Ok(Outcome {
        from,
        to: CURRENT_VERSION,
        applied,
    })
}
