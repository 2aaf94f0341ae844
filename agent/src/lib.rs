//! Idlewatch agent: collects, every few seconds, the user's idle time, the running processes,
//! the foreground application, CPU and memory, and the state of watched applications, and sends
//! each snapshot to the server — keeping it in an on-disk spool until the server acks it, so
//! nothing taken while the server is unreachable is lost.
//!
//! - [`config`]: flags, `agent.toml` and environment, layered;
//! - [`collect`]: the collectors, each behind a small trait so tests can substitute it;
//! - [`watch`]: watched-application rules and their states;
//! - [`snapshot`]: the snapshot object sent on the wire;
//! - [`spool`] and [`identity`]: what survives restarts;
//! - [`sender`]: the connection, acks, resends and replay.

pub mod collect;
pub mod config;
pub mod identity;
mod run;
pub mod sender;
pub mod snapshot;
pub mod spool;
pub mod watch;

pub use run::{collect_once, run};
