//! Idlewatch wire types shared by the agent, the server and the admin CLI.
//!
//! This crate owns the shapes that cross the wire — Socket.IO event names, the snapshot an agent
//! sends, acks and error bodies — and the validation rules with their limits. It does no I/O:
//! no sockets, no files; its one clock read is [`time::now_ms`].
//!
//! A [`Snapshot`] keeps the exact JSON text the agent sent (so dashboards and `/data` get back the
//! same keys, order and numbers, unknown fields included) next to a typed, validated view of the
//! fields Idlewatch itself understands ([`SnapshotFields`]).

mod agent_snapshot;
pub mod api;
mod error;
pub mod events;
mod fields;
pub mod limits;
mod register;
pub mod session;
mod snapshot;
mod structure;
pub mod time;
mod timestamp;

pub use agent_snapshot::{AgentSnapshot, LegacyApp, ProcessEntry};
pub use error::{Ack, ErrorBody, ErrorCode, SnapshotError};
pub use fields::{LEGACY_APPS, SnapshotFields, WatchedApp, WatchedState};
pub use register::{AgentRegister, RegisterAck};
pub use session::{HELPER_MISSING, NO_SESSION, SOURCE_HELPER, SOURCE_SYSTEM, SessionInfo};
pub use snapshot::Snapshot;
pub use structure::{MAX_DEPTH, check_structure};
pub use time::parse_time_arg;
pub use timestamp::CapturedAt;
