//! A real SMTP server on 127.0.0.1: Python's aiosmtpd (installed in the test venv by
//! `scripts/install-test-deps`) delivering every message into a maildir the test reads.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::waiting::wait_until;

/// The running server; stopped when dropped.
pub struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Smtp {
    /// Starts aiosmtpd on a free port, delivering into `dir/maildir`.
    ///
    /// # Panics
    /// When the venv lacks aiosmtpd or the server does not listen within 20 s.
    #[must_use]
    pub fn start(dir: &Path) -> Self {
        let python = crate::workspace_root().join("target/test-env/venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/install-test-deps",
            python.display()
        );
        let port = crate::free_address()
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("a free port");
        let maildir = dir.join("maildir");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (run scripts/install-test-deps)");
        wait_until("aiosmtpd listening", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Self {
            child,
            port,
            maildir,
        }
    }

    /// Its port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message delivered so far, as its raw text, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<(std::time::SystemTime, String)> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.maildir.join(sub)).ok())
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| {
                let modified = e.metadata().ok()?.modified().ok()?;
                Some((modified, std::fs::read_to_string(e.path()).ok()?))
            })
            .collect();
        files.sort_by_key(|f| f.0);
        files.into_iter().map(|(_, text)| text).collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
