//! `idlewatch-admin` under test: running it with a clean environment, a lab server with known
//! data to run it against, and golden files of its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use idlewatch_protocol::time::now_ms;
use serde_json::{Value, json};

use crate::{Connected, Server, binary, send_all, workspace_root};

/// 2026-11-20T00:00:00Z, the first day of the lab's data.
pub const DAY: i64 = 1_795_132_800_000;
/// A minute in ms.
pub const MIN: i64 = 60_000;

/// One run of `idlewatch-admin`.
pub struct Run {
    /// Its exit code.
    pub code: i32,
    /// What it printed.
    pub stdout: String,
    /// What it logged.
    pub stderr: String,
}

/// Runs `idlewatch-admin args` with `home` as its home and nothing from this process's
/// environment but `env`.
///
/// # Panics
/// When it cannot be run or prints what is not UTF-8.
pub fn admin_in(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(binary("idlewatch-admin"));
    command
        .args(args)
        .env_remove("IDLEWATCH_SERVER")
        .env_remove("IDLEWATCH_ADMIN_TOKEN")
        .env_remove("IDLEWATCH_ADMIN_CONFIG")
        .env_remove("NO_COLOR")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", home);
    for (k, v) in env {
        command.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run idlewatch-admin");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// A server with three lab PCs' data over two days, a connected agent and a home for the CLI.
pub struct Lab {
    /// The server.
    pub server: Server,
    _agents: Connected,
    /// The CLI's home directory.
    pub home: tempfile::TempDir,
}

impl Lab {
    /// Runs `idlewatch-admin` against this lab's server as its administrator.
    #[must_use]
    pub fn admin(&self, args: &[&str]) -> Run {
        let token = self.server.tokens().admin.clone();
        let url = self.server.url();
        admin_in(
            self.home.path(),
            args,
            &[
                ("IDLEWATCH_SERVER", &url),
                ("IDLEWATCH_ADMIN_TOKEN", &token),
            ],
        )
    }

    /// As [`Lab::admin`], asserting success; its output.
    ///
    /// # Panics
    /// When the command fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.admin(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run.stdout
    }
}

/// A snapshot of `host` at `at` (epoch ms), Ansys open, the user active or away.
#[must_use]
pub fn snap(host: &str, at: i64, active: bool, group: &str) -> Value {
    json!({
        "host": host,
        "group": group,
        "captured_at": at,
        "idle_seconds": if active { 3 } else { 1200 },
        "user_active": active,
        "cpu_percent": 20.5,
        "memory_percent": 50.25,
        "foreground_process": "ansys.exe",
        "watched": {"Ansys": {"running": true, "state": if active { "interactive" } else { "idle" }}},
        "processes": [{"pid": 1, "name": "ansys.exe"}, {"pid": 2, "name": "explorer.exe"}],
    })
}

/// Starts a lab's server on `data` (reports at a 10-minute interval) and sends its data.
///
/// # Panics
/// When the server does not start.
#[must_use]
pub fn lab(data: &Path) -> Lab {
    let config = data.with_extension("toml");
    std::fs::write(&config, "[report]\ninterval = \"10m\"\n").unwrap();
    let server = Server::try_start(&["--config", config.to_str().unwrap()], &[], Some(data))
        .unwrap_or_else(|f| panic!("{}", f.stderr));
    let now = now_ms();
    // On pc-1 the first day, ana logs on at 09:59, then bo (logon time unknown).
    let session = |mut s: Value, user: &str, since: Option<i64>| {
        s["session"] = json!({"user": user, "since": since, "source": "helper"});
        s
    };
    let snapshots = [
        session(
            snap("pc-1", DAY + 600 * MIN, true, "Lab A"),
            "ana",
            Some(DAY + 599 * MIN),
        ),
        session(
            snap("pc-1", DAY + 610 * MIN, true, "Lab A"),
            "ana",
            Some(DAY + 599 * MIN),
        ),
        session(snap("pc-1", DAY + 620 * MIN, false, "Lab A"), "bo", None),
        snap("pc-2", DAY + 1440 * MIN + 540 * MIN, true, "Lab A"),
        snap("pc-3", DAY + 1440 * MIN + 600 * MIN, false, "Lab B"),
        // Now, pc-1 runs the service agent: a user is logged on but their session helper is
        // not reporting.
        {
            let mut latest = snap("pc-1", now, true, "Lab A");
            latest["idle_source"] = json!("helper_missing");
            latest["session"] = json!({"user": "LAB\\ana", "source": "system"});
            latest
        },
    ];
    let agents = send_all(&server, &snapshots, &["pc-1"]);
    Lab {
        server,
        _agents: agents,
        home: tempfile::tempdir().unwrap(),
    }
}

/// A golden file of the admin CLI's output.
#[must_use]
pub fn golden(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/admin").join(name)
}

/// Compares with a golden file; `IDLEWATCH_BLESS=1` rewrites it.
///
/// # Panics
/// When they differ.
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("IDLEWATCH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}
