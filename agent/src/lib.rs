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
//! - [`sender`]: the connection, acks, resends and replay;
//! - [`session`]: the session helpers that report each user session's idle time and
//!   foreground window to the agent service;
//! - [`service`], [`install`], [`secure`], [`logging`], [`signals`]: running as a Windows
//!   service, the installer's `configure`, private files, where logs go, stop signals.

pub mod backoff;
pub mod collect;
pub mod config;
pub mod identity;
pub mod install;
pub mod logging;
mod run;
pub mod secure;
pub mod sender;
pub mod servers;
pub mod service;
pub mod session;
pub mod signals;
pub mod snapshot;
pub mod spool;
pub mod watch;

pub use run::{collect_once, run};
