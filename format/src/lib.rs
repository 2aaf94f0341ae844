//! The Idlewatch store's on-disk format: redb tables, the compact record codec, the record
//! summaries and host-day rollups, and the record writer and reader every user of the store
//! goes through. The schema steps that bring an older file to this layout live in
//! `idlewatch-migrations`; this crate knows only the current one and runs no threads.
//!
//! The layout (schema version 13; records may be structural deltas since 10, folded into
//! minutes as they age since 11, minutes summed into day rows since 12, and settled hours'
//! summaries gathered into one row each since 13):
//!
//!
//! - `meta`: `schema_version`, `next_seq` (the next server sequence number).
//! - `host_ids` / `host_names`: host names interned to `u32` ids.
//! - `records`: server `seq` → one encoded snapshot. Keys grow with every append, so pages
//!   fill completely whatever the number of hosts (keying by host would split pages half-empty
//!   as hosts interleave). Each record is zstd-compressed with its host's previous record as the
//!   dictionary (its header names that base record), except every [`KEYFRAME_INTERVAL`]th of a
//!   host, compressed alone: any record decodes from its keyframe in fewer than
//!   `KEYFRAME_INTERVAL` steps. Since schema 3 each record also carries its [`Summary`]
//!   (idle, user active, CPU, memory, process count, foreground, watched apps) uncompressed in
//!   its header, for reports; records written under schema 2 have none and are summarized
//!   from their JSON when read.
//! - `by_time`: `(host_id, captured_ms, seq)` → `()`, for time-range history queries and for
//!   recognising a replayed snapshot (same host and `captured_at`).
//! - `host_last`: `host_id` → `seq` of its last record by arrival (the next delta's base).
//! - `dedup_seq`: `(host_id, agent_seq)` → `seq`, only for snapshots without `captured_at`.
//! - `agent_tokens`: token id → `(host, SHA-256 of the token, created_ms)`: per-host agent
//!   tokens, never stored in clear.
//! - `alerts`: alert id → the alert as JSON (`idlewatch_protocol::api::Alert`): few, rewritten
//!   when they resolve, and read whole.
//! - `licence_polls`: `(licence server name, poll ms)` → `(issued, in use)`: each pool's seats
//!   over time.
//! - `host_days`: `(host, UTC day start ms)` → a [`HostDay`]: the host's watched apps over that
//!   day as spans of one state, built from the summaries once the day has settled; absent means
//!   not built (yet, or again: a late snapshot or a deletion removes the rows it changes).
//! - `host_day_generations`: host → a counter bumped with every such removal, so a rollup
//!   computed from what a removal changed is not stored.
//! - `minutes` (schema 11): `(host_id, UTC hour start)` → a [`minutes::HourBlock`], the host's
//!   minutes of that hour (time active, idle, per watched app and state, CPU and memory, the
//!   foreground process, users, logons) folded from its records when they aged.
//! - `detail_from` (schema 11): `host_id` → where its records count from; what was captured
//!   before is in `minutes`.
//! - `days` (schema 12): `(host_id, UTC day start)` → a [`days::DayBlock`], the host's minutes of
//!   a day it folded whole summed hour by hour, kept after the minutes are deleted.
//! - `summary_hours` (schema 13): `(host_id, UTC hour start)` → the summaries of the host's
//!   records captured in that hour ([`summary_hours`]), built once the hour has settled and
//!   removed when a record of the hour is added or deleted; absent means read the records.
//! - `summary_hours_to` (schema 13): `host_id` → where building them resumes: every hour
//!   before it that has records has its row, unless one was removed since.

mod codec;
pub mod days;
mod error;
mod host_day;
pub mod minutes;
mod packed;
mod reader;
mod slots;
pub mod structural;
mod summary;
pub mod summary_hours;
mod varint;
mod writer;

pub use codec::{Decoder, DeltaKind, Encoder, FrameKind, RecordHeader, parse_header, read_summary};
pub use error::Error;
pub use host_day::{DAY_MS, HostDay, day_of};
pub use packed::PackedJson;
pub use reader::{HostChain, RecordSource, latest_of_host, read_header};
pub use summary::{SessionSummary, Summary, state_byte, state_of_byte};
pub use writer::{Appended, Batch, RecordWriter};

use redb::TableDefinition;

/// Schema metadata.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Host name → id.
pub const HOST_IDS: TableDefinition<&str, u32> = TableDefinition::new("host_ids");
/// Host id → name.
pub const HOST_NAMES: TableDefinition<u32, &str> = TableDefinition::new("host_names");
/// `seq` → encoded record.
pub const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// `(host_id, captured_ms, seq)` → `()`.
pub const BY_TIME: TableDefinition<(u32, i64, u64), ()> = TableDefinition::new("by_time");
/// `host_id` → `seq` of its last record by arrival.
pub const HOST_LAST: TableDefinition<u32, u64> = TableDefinition::new("host_last");
/// `(host_id, agent_seq)` → `seq`, for snapshots without `captured_at`.
pub const DEDUP_SEQ: TableDefinition<(u32, u64), u64> = TableDefinition::new("dedup_seq");

/// Token id → `(host, SHA-256 of the token, created_ms)`.
pub const AGENT_TOKENS: TableDefinition<u64, (&str, &[u8], i64)> =
    TableDefinition::new("agent_tokens");
/// Viewer tokens scoped to groups: id → (the groups, one per line; SHA-256 of the token;
/// issued, epoch ms). Ids are shared with [`AGENT_TOKENS`].
pub const VIEWER_TOKENS: TableDefinition<u64, (&str, &[u8], i64)> =
    TableDefinition::new("viewer_tokens");
/// `meta` key of the next token id (agent and viewer tokens).
pub const NEXT_TOKEN_ID_KEY: &str = "next_token_id";

/// Alert id → the alert as JSON.
pub const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");
/// `(licence server name, poll time ms)` → `(seats issued, seats in use)`.
pub const LICENCE_POLLS: TableDefinition<(&str, i64), (u32, u32)> =
    TableDefinition::new("licence_polls");
/// `(host, UTC day start ms)` → an encoded [`HostDay`].
pub const HOST_DAYS: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("host_days");
/// `(host_id, UTC hour start ms)` → an encoded [`minutes::HourBlock`]: the host's minutes of
/// that hour, folded from its records once they aged.
pub const MINUTES: TableDefinition<(u32, i64), &[u8]> = TableDefinition::new("minutes");
/// `(host_id, UTC day start ms)` → an encoded [`days::DayBlock`]: the host's minutes of that
/// day summed hour by hour, built when the day has been folded whole and kept after its
/// minute rows are deleted.
pub const DAYS: TableDefinition<(u32, i64), &[u8]> = TableDefinition::new("days");
/// `(host_id, UTC hour start ms)` → the summaries of the host's records captured in that hour
/// ([`summary_hours::encode_hour`]): a cache of the records, absent when not built.
pub const SUMMARY_HOURS: TableDefinition<(u32, i64), &[u8]> = TableDefinition::new("summary_hours");
/// `host_id` → the hour [`SUMMARY_HOURS`] are built from next: every earlier hour with records
/// has its row unless one was removed since (a removal moves this back to it).
pub const SUMMARY_HOURS_TO: TableDefinition<u32, i64> = TableDefinition::new("summary_hours_to");
/// `host_id` → the capture time its records count from: earlier ones were folded into
/// [`MINUTES`], and any left are kept only as delta bases (and the last of them for the
/// coverage of the first minutes after).
pub const DETAIL_FROM: TableDefinition<u32, i64> = TableDefinition::new("detail_from");
/// Host → how many times its host-day rollups were removed.
pub const HOST_DAY_GENERATIONS: TableDefinition<&str, u64> =
    TableDefinition::new("host_day_generations");
/// `meta` key of the first day whose host-day rollups retention keeps (rollups of earlier days
/// are not stored).
pub const HOST_DAYS_KEEP_FROM_KEY: &str = "host_days_keep_from";
/// `meta` key of the next alert id.
pub const NEXT_ALERT_ID_KEY: &str = "next_alert_id";

/// `meta` key of the schema version.
pub const SCHEMA_VERSION_KEY: &str = "schema_version";
/// `meta` key of the next server sequence number.
pub const NEXT_SEQ_KEY: &str = "next_seq";

/// One record in this many per host is a keyframe.
pub const KEYFRAME_INTERVAL: u64 = 128;
