//! The hosts file of `tokens issue --hosts-file`: the names of a hosts file
//! ([`idlewatch_protocol::hosts_file`]: one host per line, an optional group after it is
//! ignored here), read and checked whole before any token is issued.

use std::path::Path;

use crate::error::{CliError, failed};

/// The host names of `path`, in file order.
///
/// # Errors
/// The file unreadable, not UTF-8, empty of hosts, or a bad line.
pub fn read(path: &Path) -> Result<Vec<String>, CliError> {
    idlewatch_protocol::hosts_file::read(path)
        .map(|hosts| hosts.into_iter().map(|h| h.host).collect())
        .map_err(failed)
}
