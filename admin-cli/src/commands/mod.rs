//! One module per command.

pub mod alerts;
pub mod db;
pub mod delete;
pub mod export;
pub mod history;
pub mod hosts;
pub mod hosts_file;
pub mod licences;
pub mod seats;
pub mod status;
pub mod tokens;
pub mod usage;
