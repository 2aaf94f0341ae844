//! The HTTP API's answers, typed once for the server that writes them and the admin CLI, tests
//! and load generator that read them. Every field an answer carries is here, in the order it is
//! written; optional figures are `null` when unknown (and read as `None` when absent, so a
//! client can talk to an older server).

mod hosts;

pub use hosts::{HostSummary, HostsAnswer};
