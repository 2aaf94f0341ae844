//! Starting the server under test: runs a given `idlewatch-server` binary on a free loopback
//! port with a throw-away data dir and `--open`, learns its address from the line it prints at
//! start, keeps its log drained (a full pipe would stall it) and stops it with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;

/// The line the server prints once it accepts connections, followed by its URL.
const LISTENING: &str = "idlewatch-server listening on ";
/// How long the server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to stop after SIGTERM (its own grace is 10 s per phase).
const STOP_TIMEOUT: Duration = Duration::from_secs(25);
/// Warning and error lines kept for the report.
const KEPT_LINES: usize = 20;

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No data dir could be made.
    #[error("cannot create a temporary data dir")]
    DataDir(#[source] std::io::Error),
    /// The binary could not be run.
    #[error("cannot run {path}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// It exited or stayed silent instead of announcing its address.
    #[error("{path} did not start listening: {reason}")]
    NoAddress {
        /// The binary.
        path: PathBuf,
        /// What happened instead, with its last log line.
        reason: String,
    },
}

/// A running server started by [`SpawnedServer::start`]; killed if dropped without
/// [`SpawnedServer::stop`].
#[derive(Debug)]
pub struct SpawnedServer {
    child: Child,
    url: String,
    pid: u32,
    log: JoinHandle<LogSummary>,
    _data_dir: tempfile::TempDir,
}

/// What the server logged while it ran.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogSummary {
    /// Lines logged in all.
    pub lines: u64,
    /// Lines at WARN or ERROR level after start-up.
    pub warnings: u64,
    /// The first of those lines.
    pub first_warnings: Vec<String>,
}

/// How the server ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerExit {
    /// Its exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// True when it stopped by itself after SIGTERM, within the time allowed.
    pub graceful: bool,
    /// Its log.
    pub log: LogSummary,
}

impl SpawnedServer {
    /// Starts `binary --listen 127.0.0.1:0 --data-dir <temp> --open` and waits until it
    /// listens.
    ///
    /// # Errors
    /// When it cannot be run, or exits or stays silent instead of listening.
    pub async fn start(binary: &Path) -> Result<Self, Error> {
        let data_dir = tempfile::Builder::new()
            .prefix("idlewatch-bench-")
            .tempdir()
            .map_err(Error::DataDir)?;
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--open", "--data-dir"])
            .arg(data_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::Spawn {
                path: binary.to_owned(),
                source,
            })?;
        let no_address = |reason: String| Error::NoAddress {
            path: binary.to_owned(),
            reason,
        };
        let (Some(pid), Some(stderr)) = (child.id(), child.stderr.take()) else {
            return Err(no_address("it exited at once".into()));
        };
        let mut lines = BufReader::new(stderr).lines();
        let mut summary = LogSummary::default();
        let mut last = String::new();
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                // Start-up warnings (`--open` has one) are expected; only later ones count.
                summary.lines += 1;
                if let Some(at) = line.find(LISTENING) {
                    let url = line[at + LISTENING.len()..].trim();
                    return Some(url.to_owned());
                }
                last = line;
            }
            None
        })
        .await;
        let url = match url {
            Ok(Some(url)) => url,
            Ok(None) => return Err(no_address(format!("it exited; last line: {last}"))),
            Err(_) => {
                return Err(no_address(format!(
                    "nothing within {START_TIMEOUT:?}; last line: {last}"
                )));
            }
        };
        let log = tokio::spawn(drain(lines, summary));
        Ok(Self {
            child,
            url,
            pid,
            log,
            _data_dir: data_dir,
        })
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends SIGTERM and waits for the server to exit, killing it if it takes too long.
    pub async fn stop(mut self) -> ServerExit {
        terminate(&mut self.child, self.pid);
        let (status, graceful) = match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) => (Some(status), true),
            Ok(Err(_)) => (None, false),
            Err(_) => {
                let _ = self.child.kill().await;
                (self.child.wait().await.ok(), false)
            }
        };
        // The pipe closes with the process, which ends the drain.
        let log = match tokio::time::timeout(Duration::from_secs(5), self.log).await {
            Ok(Ok(summary)) => summary,
            _ => LogSummary::default(),
        };
        ServerExit {
            code: status.and_then(|s| s.code()),
            graceful,
            log,
        }
    }
}

#[cfg(unix)]
fn terminate(child: &mut Child, pid: u32) {
    use rustix::process::{Pid, Signal, kill_process};
    let sent = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|pid| kill_process(pid, Signal::TERM).is_ok());
    if !sent {
        let _ = child.start_kill();
    }
}

#[cfg(not(unix))]
fn terminate(child: &mut Child, _pid: u32) {
    let _ = child.start_kill();
}

impl LogSummary {
    fn count(&mut self, line: &str) {
        self.lines += 1;
        if line.contains(" WARN ") || line.contains(" ERROR ") {
            self.warnings += 1;
            if self.first_warnings.len() < KEPT_LINES {
                self.first_warnings.push(line.to_owned());
            }
        }
    }
}

async fn drain(
    mut lines: tokio::io::Lines<BufReader<ChildStderr>>,
    mut summary: LogSummary,
) -> LogSummary {
    while let Ok(Some(line)) = lines.next_line().await {
        summary.count(&line);
    }
    summary
}
