//! Idlewatch load generator: simulated agents and dashboards speaking Socket.IO over WebSocket.
//!
//! - [`client`]: the minimal Socket.IO v5 client of `idlewatch-client`, re-exported;
//! - [`snapshot_gen`]: realistic, deterministic agent snapshots with churn between them;
//! - [`ingest`] and [`connections`]: the two measurements the `idlewatch-bench` binary runs,
//!   built from the simulated [`peers`] and the [`measure`] clock and histograms;
//! - [`resources`] and [`spawn`]: watching (or starting) the server process under test;
//! - [`store_bench`]: the durable store measured on its own (`idlewatch-store-bench`), and
//!   [`year_bench`] its minute and day tiers over a generated year (`idlewatch-year-bench`),
//!   [`year_age`] a generated year of snapshots appended and aged day by day
//!   (`idlewatch-year-age-bench`);
//! - [`abuse`]: what hostile clients can make a server spend (`idlewatch-abuse-bench`).

/// The Socket.IO client the simulated peers use (the `idlewatch-client` crate).
pub use idlewatch_client as client;
pub mod abuse;
pub mod age_bench;
pub mod cli;
pub mod connections;
pub mod ingest;
pub mod measure;
pub mod peers;
pub mod record_bench;
pub mod resources;
pub mod snapshot_gen;
pub mod spawn;
pub mod store_bench;
pub mod year_age;
pub mod year_bench;
