//! The real `idlewatch-agent` binary: a running agent, or one `--once` snapshot.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running agent; killed when dropped.
pub struct Agent {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    /// Its spool dir.
    pub spool_dir: PathBuf,
}

impl Agent {
    /// Starts `idlewatch-agent` with `args` plus `--spool-dir spool_dir`.
    ///
    /// # Panics
    /// When it cannot be spawned.
    #[must_use]
    pub fn start(args: &[&str], spool_dir: &Path) -> Self {
        Self::start_with_env(args, spool_dir, &[])
    }

    /// As [`Agent::start`], with extra environment variables.
    ///
    /// # Panics
    /// When it cannot be spawned.
    #[must_use]
    pub fn start_with_env(args: &[&str], spool_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(crate::binary("idlewatch-agent"));
        command.envs(env.iter().copied());
        let mut child = command
            .args(args)
            .arg("--spool-dir")
            .arg(spool_dir)
            .env("IDLEWATCH_LOG", "info,idlewatch_agent=debug")
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn idlewatch-agent");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log").push(line);
            }
        });
        Self {
            child,
            log,
            spool_dir: spool_dir.to_owned(),
        }
    }

    /// Everything it logged so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// Waits until its log contains `text`.
    ///
    /// # Panics
    /// When it does not within `timeout`, showing the log.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) {
        crate::wait_until_explained(
            &format!("the agent to log {text:?}"),
            timeout,
            || self.log().contains(text),
            || self.log(),
        );
    }

    /// Snapshots waiting in its spool.
    #[must_use]
    pub fn spooled(&self) -> usize {
        spooled(&self.spool_dir)
    }

    /// SIGTERM, and waits for the exit.
    ///
    /// # Panics
    /// When it does not exit within 10 s or exits unsuccessfully.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "agent exited with {status}:\n{}",
                    self.log()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "agent did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Snapshot files in a spool dir.
#[must_use]
pub fn spooled(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(".json") && name != "agent.json"
            })
            .count()
    })
}

/// Runs `idlewatch-agent --once` with `args` and `env`; returns its stdout parsed.
///
/// # Panics
/// When it fails or prints something other than one JSON object.
#[must_use]
pub fn once(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut command = Command::new(crate::binary("idlewatch-agent"));
    command.arg("--once").args(args).env_remove("DISPLAY");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run idlewatch-agent --once");
    assert!(
        output.status.success(),
        "--once failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("--once printed non-JSON ({e}): {stdout}"))
}
