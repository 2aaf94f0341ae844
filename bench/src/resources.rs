//! What a process costs: CPU time and resident memory read from `/proc/<pid>` (Linux), and the
//! open-file limit this process needs for thousands of sockets.
//!
//! Reads only; the one thing it changes is this process's own soft `RLIMIT_NOFILE`.

use std::path::PathBuf;

/// Why a reading failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `/proc` file could not be read (the process is gone, or this is not Linux).
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `/proc` file did not have the expected layout.
    #[error("unexpected content in {path}: {what}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was missing.
        what: &'static str,
    },
    /// The hard open-file limit is below what the run needs.
    #[error(
        "this run needs {needed} open files but the hard limit is {hard}; raise it \
         (`ulimit -Hn {needed}` as root, or `LimitNOFILE=` for a service) and retry"
    )]
    FileLimit {
        /// Files needed.
        needed: u64,
        /// The hard limit.
        hard: u64,
    },
    /// The limit could not be changed.
    #[error("cannot raise the open-file limit to {wanted}")]
    SetLimit {
        /// The soft limit asked for.
        wanted: u64,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A process's resource use at one moment.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Usage {
    /// User plus system CPU time since the process started, seconds.
    pub cpu_seconds: f64,
    /// Resident memory now (`VmRSS`), bytes.
    pub rss_bytes: u64,
    /// Highest resident memory so far (`VmHWM`), bytes.
    pub peak_rss_bytes: u64,
}

/// Reads the resource use of process `pid`.
///
/// # Errors
/// When the process does not exist (any more) or `/proc` is not Linux's.
pub fn sample(pid: u32) -> Result<Usage, Error> {
    let stat_path = PathBuf::from(format!("/proc/{pid}/stat"));
    let stat = read(&stat_path)?;
    let ticks = cpu_ticks(&stat).ok_or(Error::Parse {
        path: stat_path,
        what: "utime and stime",
    })?;
    let status_path = PathBuf::from(format!("/proc/{pid}/status"));
    let status = read(&status_path)?;
    let kib = |key| {
        status_kib(&status, key).ok_or_else(|| Error::Parse {
            path: status_path.clone(),
            what: "VmRSS and VmHWM",
        })
    };
    Ok(Usage {
        cpu_seconds: ticks as f64 / clock_ticks_per_second() as f64,
        rss_bytes: kib("VmRSS:")? * 1024,
        peak_rss_bytes: kib("VmHWM:")? * 1024,
    })
}

fn read(path: &PathBuf) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })
}

/// utime + stime, fields 14 and 15 of `/proc/<pid>/stat`. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so fields are counted from the last
/// `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The value in KiB of a `Key:   1234 kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(unix)]
fn clock_ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second()
}

#[cfg(not(unix))]
fn clock_ticks_per_second() -> u64 {
    100
}

/// Makes sure this process may open `needed` files, raising the soft limit towards the hard
/// one when it is lower. Child processes (a spawned server) inherit the raised limit. Returns
/// the soft limit now in force.
///
/// # Errors
/// [`Error::FileLimit`] when even the hard limit is too low.
#[cfg(unix)]
pub fn ensure_file_limit(needed: u64) -> Result<u64, Error> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= needed {
        return Ok(soft);
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if hard < needed {
        return Err(Error::FileLimit { needed, hard });
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(hard),
            maximum: limit.maximum,
        },
    )
    .map_err(|e| Error::SetLimit {
        wanted: hard,
        source: e.into(),
    })?;
    Ok(hard)
}

/// Makes sure this process may open `needed` files (a no-op off Unix).
///
/// # Errors
/// Never, off Unix.
#[cfg(not(unix))]
pub fn ensure_file_limit(needed: u64) -> Result<u64, Error> {
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_the_command_name() {
        let stat = "1234 (tokio (rt) x) S 1 1234 1234 0 -1 4194560 2000 0 0 0 \
                    150 25 0 0 20 0 9 0 100 1000000 500 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(175));
        assert_eq!(cpu_ticks("1 (x) S"), None);
    }

    #[test]
    fn status_values_are_read_in_kib() {
        let status = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(status, "VmHWM:"), Some(20480));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_can_be_sampled() -> Result<(), Error> {
        let usage = sample(std::process::id())?;
        assert!(usage.rss_bytes > 0);
        assert!(usage.peak_rss_bytes >= usage.rss_bytes);
        Ok(())
    }
}
