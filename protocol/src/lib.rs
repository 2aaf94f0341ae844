//! Idlewatch wire types shared by the agent, the server and the admin CLI.
//!
//! This crate owns the shapes that cross the wire — Socket.IO event names, the snapshot an agent
//! sends, acks and error bodies — and the validation rules with their limits. It does no I/O:
//! no sockets, no files, no clocks.
//!
//! A [`Snapshot`] keeps the exact JSON text the agent sent (so dashboards and `/data` get back the
//! same keys, order and numbers, unknown fields included) next to a typed, validated view of the
//! fields Idlewatch itself understands ([`SnapshotFields`]).

pub mod duration;
mod error;
pub mod events;
mod fields;
pub mod limits;
mod register;
pub mod session;
mod snapshot;
mod structure;
mod timearg;
mod timestamp;

pub use error::{Ack, ErrorBody, ErrorCode};
pub use fields::{LEGACY_APPS, SnapshotFields, WatchedApp, WatchedState};
pub use register::AgentRegister;
pub use session::{HELPER_MISSING, NO_SESSION, SOURCE_HELPER, SOURCE_SYSTEM, SessionInfo};
pub use snapshot::{Snapshot, SnapshotError};
pub use structure::{MAX_DEPTH, check_structure};
pub use timearg::parse_time_arg;
pub use timestamp::CapturedAt;
