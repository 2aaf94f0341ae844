//! A real Redis for the cluster tests: Debian's `redis-server` (installed by
//! `scripts/install-test-deps`), started on a free loopback port with no persistence, stopped
//! when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait_until;

const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A running redis-server.
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts redis-server with its working directory in `dir`.
    ///
    /// # Panics
    /// When redis-server is missing or does not listen within 20 s.
    #[must_use]
    pub fn start(dir: &Path) -> Self {
        let port: u16 = crate::free_address()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        Self::start_on(dir, port)
    }

    /// Starts redis-server on `port` (again, after [`Redis::stop`]).
    ///
    /// # Panics
    /// As [`Redis::start`].
    #[must_use]
    pub fn start_on(dir: &Path, port: u16) -> Self {
        assert!(
            Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is missing: run scripts/install-test-deps (it installs Debian's \
             redis-server)"
        );
        std::fs::create_dir_all(dir).expect("redis dir");
        let child = Command::new(REDIS_SERVER)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        wait_until("redis-server to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Self { child, port }
    }

    /// Its port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address, `redis://127.0.0.1:PORT/0`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
