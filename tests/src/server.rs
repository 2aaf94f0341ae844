//! A real `idlewatch-server` process on port 0 with its own temporary data dir.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idlewatch_protocol::api::HistoryPage;
use idlewatch_protocol::startup::{RoleTokens, listening_url};

use crate::http::{HttpAnswer, get};

/// The three role tokens of a server started with authentication.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// For agents.
    pub agent: String,
    /// For dashboards.
    pub viewer: String,
    /// For administrators.
    pub admin: String,
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http`, or `https` when started with `--tls-cert`.
    pub scheme: String,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    log: Arc<Mutex<Vec<String>>>,
    /// Tokens read from the generated token file (`None` in open mode).
    pub tokens: Option<Tokens>,
}

/// Why a server did not come up.
#[derive(Debug)]
pub struct StartFailure {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl Server {
    /// A server with generated tokens.
    ///
    /// # Panics
    /// When it does not start.
    #[must_use]
    pub fn start() -> Self {
        Self::start_with(&[], &[])
    }

    /// A server in open mode (no auth), as the Python original.
    ///
    /// # Panics
    /// When it does not start.
    #[must_use]
    pub fn start_open() -> Self {
        Self::start_with(&["--open"], &[])
    }

    /// A server with extra flags and environment.
    ///
    /// # Panics
    /// When it does not start.
    #[must_use]
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::try_start(args, env, None)
            .unwrap_or_else(|f| panic!("server did not start ({}):\n{}", f.status, f.stderr))
    }

    /// Writes `toml` to `dir/server.toml` and starts a server on it, its data in `dir/data`.
    ///
    /// # Panics
    /// When it does not start (with its stderr).
    #[must_use]
    pub fn with_config(dir: &Path, toml: &str) -> Self {
        let config = dir.join("server.toml");
        std::fs::write(&config, toml).expect("write server.toml");
        Self::try_start(
            &["--config", config.to_str().expect("a UTF-8 path")],
            &[],
            Some(&dir.join("data")),
        )
        .unwrap_or_else(|f| panic!("server did not start ({}):\n{}", f.status, f.stderr))
    }

    /// An open server listening on `listen`, configured by `config` (the text of a
    /// `server.toml`, written in `dir` beside the data directory `dir/data`).
    ///
    /// # Errors
    /// When the process exits before listening.
    ///
    /// # Panics
    /// When `dir` or the file cannot be written, or as [`Server::try_start`].
    pub fn try_start_configured(
        dir: &Path,
        config: &str,
        listen: &str,
    ) -> Result<Self, StartFailure> {
        std::fs::create_dir_all(dir).expect("the server's dir");
        let file = dir.join("server.toml");
        std::fs::write(&file, config).expect("the server's config");
        let file = file.to_str().expect("a UTF-8 path").to_owned();
        Self::try_start(
            &["--open", "--listen", listen, "--config", &file],
            &[],
            Some(&dir.join("data")),
        )
    }

    /// Starts a server; `data_dir` defaults to a fresh temporary directory.
    ///
    /// # Errors
    /// When the process exits before listening.
    ///
    /// # Panics
    /// When the process cannot be spawned or says nothing for 20 s.
    pub fn try_start(
        args: &[&str],
        env: &[(&str, &str)],
        data_dir: Option<&Path>,
    ) -> Result<Self, StartFailure> {
        let temp = match data_dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().expect("temp dir")),
        };
        let data_dir = data_dir
            .map(Path::to_path_buf)
            .or_else(|| temp.as_ref().map(|t| t.path().join("data")))
            .expect("a data dir");
        let mut command = Command::new(crate::binary("idlewatch-server"));
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        command
            .arg("--data-dir")
            .arg(&data_dir)
            .args(args)
            .env_remove("IDLEWATCH_CONFIG")
            .env("IDLEWATCH_LOG", "info")
            // Tests stream snapshots and open connections far faster than real agents, all
            // from 127.0.0.1: the rate and per-address limits are lifted unless a test sets
            // them (`env`; tests/tests/hostile_*.rs and limits.rs do).
            .env("IDLEWATCH_SNAPSHOT_RATE", "0")
            .env("IDLEWATCH_CONNECT_RATE", "0")
            .env("IDLEWATCH_IDLE_CONNECTIONS_PER_IP", "0")
            // Most tests send as "an agent" with the one shared agent token; a new install has
            // none (per-host tokens), so it is switched on unless a test says otherwise.
            .env("IDLEWATCH_SHARED_AGENT_TOKEN", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn idlewatch-server");
        let stderr = child.stderr.take().expect("stderr pipe");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = listening_url(&line) {
                    let _ = tx.send(url.to_owned());
                }
                sink.lock().expect("log lock").push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(url) = rx.recv_timeout(Duration::from_millis(50)) {
                let (scheme, addr) = url.split_once("://").expect("listening URL");
                let scheme = scheme.to_owned();
                let addr = addr.parse().expect("listening address");
                let tokens = read_tokens(&data_dir);
                return Ok(Self {
                    child,
                    addr,
                    scheme,
                    data_dir,
                    _temp: temp,
                    log,
                    tokens,
                });
            }
            if let Some(status) = child.try_wait().expect("wait") {
                std::thread::sleep(Duration::from_millis(100));
                let stderr = log.lock().expect("log lock").join("\n");
                return Err(StartFailure { status, stderr });
            }
            assert!(Instant::now() < deadline, "server silent for 20 s");
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    #[must_use]
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The data dir.
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `idlewatch-admin ARGS` against this server with its admin token: (exit code,
    /// stdout, stderr).
    ///
    /// # Panics
    /// In open mode, or when the binary cannot run.
    #[must_use]
    pub fn admin(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(crate::binary("idlewatch-admin"))
            .args(args)
            .env("IDLEWATCH_SERVER", self.url())
            .env("IDLEWATCH_ADMIN_TOKEN", &self.tokens().admin)
            .env("HOME", self.data_dir())
            .output()
            .expect("run idlewatch-admin");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).expect("utf-8 stdout"),
            String::from_utf8(out.stderr).expect("utf-8 stderr"),
        )
    }

    /// Issues a per-host agent token with `idlewatch-admin tokens issue --host`: (id, token).
    ///
    /// # Panics
    /// When the command fails.
    #[must_use]
    pub fn issue_host_token(&self, host: &str) -> (u64, String) {
        let (code, out, err) = self.admin(&["tokens", "issue", "--host", host, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("tokens issue json");
        (
            v["id"].as_u64().expect("id"),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    /// The generated tokens.
    ///
    /// # Panics
    /// In open mode.
    #[must_use]
    pub fn tokens(&self) -> &Tokens {
        self.tokens.as_ref().expect("server has tokens")
    }

    /// `GET path` with a bearer token.
    #[must_use]
    pub fn get(&self, path: &str, token: Option<&str>) -> HttpAnswer {
        match token {
            Some(t) => get(
                self.addr,
                path,
                &[("Authorization", &format!("Bearer {t}"))],
            ),
            None => get(self.addr, path, &[]),
        }
    }

    /// The value of one `/metrics` series, e.g. `idlewatch_connects_limited_total` or
    /// `idlewatch_sockets{kind="agent"}` (with the viewer token, none in open mode).
    ///
    /// # Panics
    /// When the series is missing.
    #[must_use]
    pub fn metric(&self, series: &str) -> u64 {
        let token = self.tokens.as_ref().map(|t| t.viewer.as_str());
        let text = self.get("/metrics", token).body;
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    }

    /// A field of the process's `/proc/PID/status` in KiB: `VmRSS` (resident now) or `VmHWM`
    /// (peak resident).
    ///
    /// # Panics
    /// When the process or the field is gone.
    #[must_use]
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} missing:\n{status}"))
    }

    /// The `seq` of every stored snapshot of `host`, oldest first.
    ///
    /// # Panics
    /// As [`Server::history`], or when a snapshot has no `seq`.
    #[must_use]
    pub fn seqs(&self, host: &str) -> Vec<u64> {
        self.history(host)
            .iter()
            .map(|s| s["seq"].as_u64().expect("seq"))
            .collect()
    }

    /// Every stored snapshot of `host`, oldest first, paging through the history API (in open
    /// mode, or with the viewer token).
    ///
    /// # Panics
    /// On an answer other than 200.
    #[must_use]
    pub fn history(&self, host: &str) -> Vec<serde_json::Value> {
        let token = self.tokens.as_ref().map(|t| t.viewer.clone());
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/hosts/{host}/history?limit=500&cursor={c}"),
                None => format!("/api/v1/hosts/{host}/history?limit=500"),
            };
            let page = self.get(&path, token.as_deref());
            assert_eq!(page.status, 200, "{}", page.body);
            let page: HistoryPage = page.json_as();
            all.extend(page.snapshots);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return all,
            }
        }
    }

    /// Everything logged so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` (e.g. "TERM", "INT", "KILL") and waits up to `timeout` for the exit.
    ///
    /// # Panics
    /// When it does not exit in time.
    pub fn signal_and_wait(&mut self, signal: &str, timeout: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server still running {timeout:?} after SIG{signal}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tokens the server generated, when it did (not `--open`) with the shared agent token.
fn read_tokens(data_dir: &Path) -> Option<Tokens> {
    let tokens = RoleTokens::load(data_dir).ok()?;
    Some(Tokens {
        agent: tokens.agent_token?,
        viewer: tokens.viewer_token,
        admin: tokens.admin_token,
    })
}
