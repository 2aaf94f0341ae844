//! Idlewatch agent: collects idle time, processes, the foreground application and watched-app
//! states on one machine and sends them to the server as snapshots
//! ([`idlewatch_protocol::Snapshot`]).
//!
//! This crate holds the agent's library; the `idlewatch-agent` binary is built on it.
