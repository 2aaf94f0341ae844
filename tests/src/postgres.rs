//! A real PostgreSQL for the cluster store's tests: Debian's server (installed by
//! `scripts/install-test-deps`), a new cluster made with `initdb` in a temporary directory and
//! started on a free loopback port, stopped when dropped. PostgreSQL refuses to run as root:
//! when the tests do, the cluster belongs to and runs as the `postgres` user.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{Pki, wait_until};

/// The newest installed server's programs (`/usr/lib/postgresql/<version>/bin`).
///
/// # Panics
/// When no PostgreSQL server is installed.
#[must_use]
pub fn bin_dir() -> PathBuf {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin).expect(
        "no PostgreSQL server under /usr/lib/postgresql: run scripts/install-test-deps (it \
         installs Debian's postgresql)",
    )
}

/// The uid and gid to run PostgreSQL as: `postgres`'s when running as root, else none.
fn run_as() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    Some((
        id(&["-u", "postgres"]).expect("a postgres user (Debian's postgresql package makes it)"),
        id(&["-g", "postgres"]).expect("a postgres group"),
    ))
}

fn command(program: PathBuf, user: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(program);
    if let Some((uid, gid)) = user {
        // libpq looks for client certificates under $HOME, which would still be root's.
        command.uid(uid).gid(gid).env("HOME", std::env::temp_dir());
    }
    command
}

/// A running PostgreSQL cluster.
pub struct Postgres {
    child: Child,
    port: u16,
    bin: PathBuf,
    user: Option<(u32, u32)>,
}

impl Postgres {
    /// Makes a cluster in `dir` (which must not exist yet or be empty) and starts it, with
    /// fsync off (the tests never crash the machine) unless `durable`.
    ///
    /// # Panics
    /// When PostgreSQL is missing, `initdb` fails, or the server is not ready within 60 s.
    #[must_use]
    pub fn start(dir: &Path, durable: bool) -> Self {
        Self::start_inner(dir, durable, None)
    }

    /// As [`Postgres::start`], accepting only TLS connections (with the certificate and key of
    /// `pki`, issued for 127.0.0.1): a client that does not ask for TLS is refused.
    ///
    /// # Panics
    /// As [`Postgres::start`].
    #[must_use]
    pub fn start_tls_only(dir: &Path, pki: &Pki) -> Self {
        Self::start_inner(dir, false, Some(pki))
    }

    fn start_inner(dir: &Path, durable: bool, tls: Option<&Pki>) -> Self {
        let bin = bin_dir();
        let user = run_as();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("postgres data dir");
        if let Some((uid, gid)) = user {
            // The postgres user must reach its directory through the test's own (a temporary
            // directory is private to its owner).
            set_mode(dir, 0o755);
            if let Some(parent) = dir.parent() {
                set_mode(parent, 0o755);
            }
            std::os::unix::fs::chown(&data, Some(uid), Some(gid)).expect("chown the data dir");
        }
        let status = command(bin.join("initdb"), user)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run initdb");
        assert!(status.success(), "initdb failed in {}", data.display());
        if let Some(pki) = tls {
            only_tls(&data, pki, user);
        }
        let port: u16 = crate::free_address()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        let mut server = command(bin.join("postgres"), user);
        server
            .arg("-D")
            .arg(&data)
            .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
            .arg("-k")
            .arg(&data)
            .args(["-c", "max_connections=200"]);
        if !durable {
            server.args(["-c", "fsync=off", "-c", "full_page_writes=off"]);
        }
        if tls.is_some() {
            server.args(["-c", "ssl=on", "-c", "ssl_cert_file=server.crt"]);
            server.args(["-c", "ssl_key_file=server.key"]);
        }
        let child = server
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("postgres.log")).expect("postgres log"),
            ))
            .spawn()
            .expect("start postgres");
        let ready = bin.join("pg_isready");
        wait_until(
            "PostgreSQL to accept connections",
            Duration::from_secs(60),
            || {
                Command::new(&ready)
                    .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                    .status()
                    .is_ok_and(|s| s.success())
            },
        );
        Self {
            child,
            port,
            bin,
            user,
        }
    }

    /// Its port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database `name`; returns its URL.
    ///
    /// # Panics
    /// When `createdb` fails.
    #[must_use]
    pub fn create_database(&self, name: &str) -> String {
        let status = command(self.bin.join("createdb"), self.user)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ])
            .status()
            .expect("run createdb");
        assert!(status.success(), "createdb {name} failed");
        self.url(name)
    }

    /// The URL of database `name`.
    #[must_use]
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops it at once (the way a crashed machine would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Puts `pki`'s certificate and key in the data dir and lets only TLS connections in.
fn only_tls(data: &Path, pki: &Pki, user: Option<(u32, u32)>) {
    for (from, to, mode) in [
        (&pki.cert, "server.crt", 0o644),
        (&pki.key, "server.key", 0o600),
    ] {
        let path = data.join(to);
        std::fs::copy(from, &path).expect("copy the TLS files");
        set_mode(&path, mode);
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown the TLS files");
        }
    }
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
         hostnossl all all 127.0.0.1/32 reject\n",
    )
    .expect("write pg_hba.conf");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A fast shutdown: the server ends its backends before it exits.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }
}
