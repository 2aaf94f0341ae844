//! The Idlewatch store's schema versions. [`migrate`] brings a file of any older schema version
//! to the current layout (`idlewatch-format`), in place, before the server serves; it refuses a
//! file written by a newer version. Each version is an ordered function (`v1_initial`,
//! `v2_compact`, `v3_summaries`, ...), never edited once released.
//!
//! This crate does not run threads or know about the server: callers own the `Database`.

mod versions;

pub use idlewatch_format::Error;
pub use versions::{CURRENT_VERSION, Outcome, migrate, schema_version};

/// Test support: writing files of old schema versions (used to build fixtures).
pub mod legacy {
    pub use crate::versions::v1::{V1_SNAPSHOTS, insert_v1};

    /// A writer of schema-2 records (without summaries).
    #[must_use]
    pub fn schema_2_writer() -> idlewatch_format::RecordWriter {
        idlewatch_format::RecordWriter::schema_2()
    }
}
