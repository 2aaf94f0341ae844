//! Idlewatch load generator: simulated agents and dashboards speaking Socket.IO over WebSocket.
//!
//! - [`client`]: a minimal Socket.IO v5 client, also used by the server's tests as a real peer;
//! - [`snapshot_gen`]: realistic, deterministic agent snapshots with churn between them;
//! - [`ingest`] and [`connections`]: the two measurements the `idlewatch-bench` binary runs,
//!   built from the simulated [`peers`] and the [`measure`] clock and histograms;
//! - [`resources`] and [`spawn`]: watching (or starting) the server process under test;
//! - [`store_bench`]: the durable store measured on its own (`idlewatch-store-bench`).

pub mod client;
pub mod connections;
mod frame;
pub mod ingest;
pub mod measure;
pub mod peers;
pub mod resources;
pub mod snapshot_gen;
pub mod spawn;
pub mod store_bench;
