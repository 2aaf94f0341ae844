//! The current on-disk layout (schema version 2).
//!
//! - `meta`: `schema_version`, `next_seq` (the next server sequence number).
//! - `host_ids` / `host_names`: host names interned to `u32` ids.
//! - `records`: `(host_id, n)` → one encoded snapshot, `n` counting that host's records in
//!   arrival order. Each record is zstd-compressed with the host's previous record as the
//!   dictionary, except every [`KEYFRAME_INTERVAL`]th, compressed alone: any record decodes
//!   from its keyframe with at most `KEYFRAME_INTERVAL - 1` further steps.
//! - `by_time`: `(host_id, captured_ms, n)` → `()`, for time-range history queries and for
//!   recognising a replayed snapshot (same host and `captured_at`).
//! - `dedup_seq`: `(host_id, agent_seq)` → `n`, only for snapshots without `captured_at`.

mod codec;
mod packed;
mod reader;
mod writer;

pub use codec::{Decoder, Encoder, FrameKind, RecordHeader};
pub use packed::PackedJson;
pub use reader::{HostChain, latest_of_host, read_header};
pub use writer::{Appended, RecordWriter};

use redb::TableDefinition;

/// Schema metadata.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Host name → id.
pub const HOST_IDS: TableDefinition<&str, u32> = TableDefinition::new("host_ids");
/// Host id → name.
pub const HOST_NAMES: TableDefinition<u32, &str> = TableDefinition::new("host_names");
/// `(host_id, n)` → encoded record.
pub const RECORDS: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("records");
/// `(host_id, captured_ms, n)` → `()`.
pub const BY_TIME: TableDefinition<(u32, i64, u64), ()> = TableDefinition::new("by_time");
/// `(host_id, agent_seq)` → `n`, for snapshots without `captured_at`.
pub const DEDUP_SEQ: TableDefinition<(u32, u64), u64> = TableDefinition::new("dedup_seq");

/// `meta` key of the schema version.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";
/// `meta` key of the next server sequence number.
pub const NEXT_SEQ_KEY: &str = "next_seq";

/// One record in this many per host is a keyframe.
pub const KEYFRAME_INTERVAL: u64 = 64;
