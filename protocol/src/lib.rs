//! Idlewatch wire types shared by the agent, the server and the admin CLI.
//!
//! This crate owns the shapes that cross the wire — Socket.IO event names, the snapshot an agent
//! sends, acks and error bodies — the HTTP API's answers ([`api`]), and the validation rules
//! with their limits. It opens no sockets; its one clock read is [`time::now_ms`], and its only
//! file reads are the contracts between the programs and their files: a TOML config file
//! ([`config_file`]) and what a started server leaves for whoever started it ([`startup`]).
//!
//! A [`Snapshot`] keeps the exact JSON text the agent sent (so dashboards and `/data` get back the
//! same keys, order and numbers, unknown fields included) next to a typed, validated view of the
//! fields Idlewatch itself understands ([`SnapshotFields`]).

mod agent_snapshot;
pub mod api;
pub mod config_file;
mod error;
pub mod events;
mod fields;
pub mod hosts_file;
pub mod limits;
mod register;
pub mod session;
mod snapshot;
pub mod startup;
mod structure;
pub mod time;
mod timestamp;

pub use agent_snapshot::{AgentSnapshot, LegacyApp, ProcessEntry};
pub use error::{Ack, ErrorBody, ErrorCode, SnapshotError};
pub use fields::{LEGACY_APPS, SnapshotFields, StateSpan, WatchedApp, WatchedState};
pub use register::{AgentRegister, RegisterAck};
pub use session::{HELPER_MISSING, NO_SESSION, SOURCE_HELPER, SOURCE_SYSTEM, SessionInfo};
pub use snapshot::Snapshot;
pub use structure::{MAX_DEPTH, check_structure};
pub use time::parse_time_arg;
pub use timestamp::CapturedAt;
