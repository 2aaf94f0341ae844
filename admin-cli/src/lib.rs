//! `idlewatch-admin`: the supervisor's command line, talking to the server's HTTP API.
//!
//! This crate holds the command line's library; the `idlewatch-admin` binary is built on it.
