//! The Idlewatch store's on-disk format and its schema versions.
//!
//! [`format`] is the current layout: redb tables, the compact record codec, and the record
//! writer and reader every user of the store goes through. [`migrate`] brings a file of any
//! older schema version to the current one, in place, before the server serves; it refuses a
//! file written by a newer version. Each version is an ordered function (`v1_initial`,
//! `v2_compact`, `v3_summaries`, ...), never edited once released.
//!
//! This crate does not run threads or know about the server: callers own the `Database`.

mod error;
pub mod format;
mod versions;

pub use error::Error;
pub use versions::{CURRENT_VERSION, Outcome, migrate, schema_version};

/// Test support: writing files of old schema versions (used to build fixtures).
pub mod legacy {
    pub use crate::versions::v1::{V1_SNAPSHOTS, insert_v1};

    /// A writer of schema-2 records (without summaries).
    #[must_use]
    pub fn schema_2_writer() -> crate::format::RecordWriter {
        crate::format::RecordWriter::schema_2()
    }
}
